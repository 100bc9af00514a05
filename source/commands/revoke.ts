import type { CommandSpec } from '../command.js';
import { validateMountPath } from '../paths.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { applyRevoke, planRevoke } from '../steps/revoke.js';
import { cliReporter, formatPlan, printJson } from '../output.js';

export const command: CommandSpec = {
  name: 'revoke',
  summary: 'Online: revokes a build certificate, or a build-server intermediate signed by the mount, by serial; then checks the serial is in the CRL the mount publishes. Idempotent.',
  usage: 'revoke --mount PATH --serial SERIAL',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'the PKI mount that issued (or signed) the certificate' },
    { name: 'serial', type: 'string', value: 'SERIAL', description: 'serial number, hex with or without colons' },
  ],
  async run(ctx) {
    const mount = validateMountPath(ctx.flags.require('mount'));
    const serial = ctx.flags.require('serial');
    const vault = new VaultClient(resolveConnection({ vaultAddr: ctx.flags.string('vault-addr'), vaultCa: ctx.flags.string('vault-ca') }));
    if (ctx.flags.bool('dry-run')) {
      const plan = await planRevoke(vault, mount, serial);
      process.stderr.write(`${formatPlan(`revoke ${serial} in ${mount}`, plan)}\nDry run: nothing was changed.\n`);
      return 0;
    }
    const result = await applyRevoke(vault, mount, serial, cliReporter({ quiet: ctx.flags.bool('json') }));
    if (ctx.flags.bool('json')) printJson(result);
    else process.stdout.write(`Revoked: ${result.serial} (${result.subject})${result.alreadyRevoked ? ', already before' : ''}${result.inCrl ? `; listed in the CRL of ${result.crlIssuer}` : ''}\n`);
    return 0;
  },
};

import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { parseKeyType, INTERMEDIATE_KEY_TYPES } from '../pki/keys.js';
import { applyIntermediateRequest, planIntermediateRequest } from '../steps/intermediate-request.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';

export const DEFAULT_MOUNT_MAX_TTL = '43800h';

export const requestFlags: CommandSpec['flags'] = [
  { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate (e.g. pki_int)' },
  { name: 'cn', type: 'string', value: 'NAME', description: 'the intermediate CA\'s common name' },
  { name: 'key-type', type: 'string', value: 'TYPE', description: 'ec-p256 (default), ec-p384, rsa-2048, rsa-4096' },
  { name: 'max-ttl', type: 'string', value: 'DURATION', description: 'mount max lease TTL, set before any key is made (default 43800h = 5y)' },
];

export const command: CommandSpec = {
  name: 'intermediate request',
  summary: 'Online: enables and tunes the PKI mount, generates the intermediate key and CSR inside Vault, writes the CSR. A pending CSR is reused, never a second key.',
  usage: 'intermediate request --env E --mount PATH --cn NAME [--key-type ec-p256|ec-p384|rsa-2048|rsa-4096] --csr-out FILE',
  flags: [...requestFlags, { name: 'csr-out', type: 'string', value: 'FILE', description: 'where to write the CSR' }],
  async run(ctx) {
    const mount = requireMount(ctx);
    const input = {
      mount,
      commonName: ctx.flags.require('cn'),
      keyType: parseKeyType(ctx.flags.string('key-type') ?? 'ec-p256', INTERMEDIATE_KEY_TYPES),
      maxTtlSeconds: parseDuration(ctx.flags.string('max-ttl') ?? DEFAULT_MOUNT_MAX_TTL, '--max-ttl'),
      csrOut: ctx.flags.require('csr-out'),
    };
    const session = await openSession(ctx, 'intermediate request');
    try {
      const vault = vaultFor(ctx, session);
      const plan = await planIntermediateRequest(session, vault, input);
      if (!(await showPlan(ctx, `intermediate request for ${mount}`, plan))) return 0;
      const result = await applyIntermediateRequest(session, vault, input, cliReporter());
      if (ctx.flags.bool('json')) printJson(result);
      else {
        process.stdout.write(`CSR written: ${result.csrFile}${result.reused ? ' (pending key reused)' : ''}\n`);
        process.stdout.write(`Subject: ${result.subject}\nKey: ${result.key}\nSHA-256 of the CSR file: ${result.csrSha256}\n`);
        process.stdout.write('Carry the CSR to the offline machine and run `certwright intermediate sign` there.\n');
      }
      return 0;
    } finally {
      session.close();
    }
  },
};

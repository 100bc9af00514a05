import fs from 'node:fs';
import type { CommandSpec } from '../command.js';
import { OperatorError } from '../errors.js';
import { cliReporter, printJson } from '../output.js';
import { applySwitchUrls, planSwitchUrls, parseHttpsBase } from '../steps/switch-urls.js';
import { resolveCaFile } from '../vault/trust.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';

export const command: CommandSpec = {
  name: 'switch-urls',
  summary: 'Checks that the HTTPS endpoint really serves the mount\'s CA and CRL (fetched over TLS, trusting only the environment\'s root), then switches the issuing-certificate (AIA) and CRL URLs to it and records that in state.',
  usage: 'switch-urls --env E --mount PATH --base https://HOST:PORT',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount whose URLs switch' },
    { name: 'base', type: 'string', value: 'URL', description: 'the HTTPS origin clients reach Vault at' },
  ],
  async run(ctx) {
    const mount = requireMount(ctx);
    const base = parseHttpsBase(ctx.flags.require('base'));
    const session = await openSession(ctx, 'switch-urls');
    try {
      const caFile = resolveCaFile(session.state, { vaultCa: ctx.flags.string('vault-ca') });
      if (!caFile) throw new OperatorError('No CA is known to check the HTTPS endpoint with.', 'Pass --vault-ca with the environment\'s root CA (root-ca.pem).');
      let ca: string;
      try {
        ca = fs.readFileSync(caFile, 'utf8');
      } catch {
        throw new OperatorError(`The CA file ${caFile} cannot be read.`, 'Pass --vault-ca with the environment\'s root-ca.pem.');
      }
      const vault = vaultFor(ctx, session);
      const input = { mount, base, ca, caFile };
      const plan = await planSwitchUrls(vault, input);
      if (!(await showPlan(ctx, `switch ${mount}'s AIA/CRL URLs to ${base}`, plan))) return 0;
      const result = await applySwitchUrls(session, vault, input, cliReporter());
      if (ctx.flags.bool('json')) printJson(result);
      else process.stdout.write(`${mount}/ now publishes ${result.urls.issuingCertificates[0]} and ${result.urls.crlDistributionPoints[0]}.\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

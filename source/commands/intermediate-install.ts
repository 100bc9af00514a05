import type { CommandSpec } from '../command.js';
import { applyIntermediateInstall, planIntermediateInstall } from '../steps/intermediate-install.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';
import { UsageError } from '../errors.js';

export function parseAiaBase(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--aia-base "${value}" is not a URL.`, 'Pass the base URL clients reach Vault at, e.g. --aia-base https://vault.example:8200.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--aia-base "${value}" must be http or https.`, 'Pass e.g. --aia-base https://vault.example:8200.');
  return url.origin;
}

export const command: CommandSpec = {
  name: 'intermediate install',
  summary: 'Online: imports the signed intermediate and the root (so chains include the root), sets it as the default issuer, sets AIA/CRL URLs, copies the public root, verifies the chain.',
  usage: 'intermediate install --env E --mount PATH --cert FILE --root FILE [--aia-base URL] [--vault-tls-dir DIR]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate' },
    { name: 'cert', type: 'string', value: 'FILE', description: 'the signed intermediate certificate' },
    { name: 'root', type: 'string', value: 'FILE', description: 'the public root certificate (root-ca.pem)' },
    { name: 'aia-base', type: 'string', value: 'URL', description: 'base URL for issuing-certificate and CRL URLs (default: the Vault address)' },
    { name: 'vault-tls-dir', type: 'string', value: 'DIR', description: 'copy the public root here (Vault\'s TLS directory)' },
  ],
  async run(ctx) {
    const input = {
      mount: requireMount(ctx),
      certFile: ctx.flags.require('cert'),
      rootFile: ctx.flags.require('root'),
      aiaBase: parseAiaBase(ctx.flags.string('aia-base')),
      vaultTlsDir: ctx.flags.string('vault-tls-dir'),
    };
    const session = await openSession(ctx, 'intermediate install');
    try {
      const vault = vaultFor(ctx, session);
      const plan = await planIntermediateInstall(session, vault, input);
      if (!(await showPlan(ctx, `install the intermediate into ${input.mount}`, plan))) return 0;
      const result = await applyIntermediateInstall(session, vault, input, cliReporter());
      if (ctx.flags.bool('json')) printJson(result);
      else process.stdout.write(`Intermediate installed in ${input.mount}/ as default issuer ${result.issuerId} (${result.fingerprint}).\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

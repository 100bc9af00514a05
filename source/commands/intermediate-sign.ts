import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { applyIntermediateSign, planIntermediateSign, readRoot, type IntermediateSignInput } from '../steps/intermediate-sign.js';
import { cliReporter, printJson } from '../output.js';
import { obtainPassphrase, showPlan } from './common.js';
import { EnvSession } from '../steps/context.js';
import { validateEnvName } from '../paths.js';
import { UsageError } from '../errors.js';

export const signFlags: CommandSpec['flags'] = [
  { name: 'root-dir', type: 'string', value: 'DIR', description: 'the offline root directory (root-ca.key, root-ca.pem)' },
  { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding the root key passphrase (mode 0600); typed when absent in a terminal' },
  { name: 'path-len', type: 'string', value: 'N', description: 'pathlen of the intermediate (default 0)' },
  { name: 'permitted-dns', type: 'string', value: 'DOMAINS', description: 'comma-separated DNS name constraints (critical)' },
];

export function parseDomains(values: string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  for (const d of values) {
    if (!/^\.?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(d)) {
      throw new UsageError(`--permitted-dns "${d}" is not a DNS domain.`, 'Pass domains such as example.com,.internal.example.com.');
    }
  }
  return values;
}

export const command: CommandSpec = {
  name: 'intermediate sign',
  summary: 'Offline, no Vault: verifies the CSR signature, shows subject and key, signs it as a CA (pathlen 0 by default) and never lets it outlive the root.',
  usage: 'intermediate sign --root-dir DIR --passphrase-file FILE --csr FILE --out FILE [--ttl DURATION] [--path-len N] [--permitted-dns DOMAINS]',
  flags: [
    ...signFlags,
    { name: 'csr', type: 'string', value: 'FILE', description: 'the CSR from `intermediate request`' },
    { name: 'out', type: 'string', value: 'FILE', description: 'where to write the signed intermediate certificate' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity (default 5y, cut to the root\'s end)' },
  ],
  async run(ctx) {
    const ttl = ctx.flags.string('ttl');
    const input: IntermediateSignInput = {
      rootDir: ctx.flags.require('root-dir'),
      csrFile: ctx.flags.require('csr'),
      outFile: ctx.flags.require('out'),
      ttlSeconds: ttl ? parseDuration(ttl) : undefined,
      pathLen: ctx.flags.int('path-len', { min: 0, max: 10 }) ?? 0,
      permittedDns: parseDomains(ctx.flags.csv('permitted-dns')),
    };
    const plan = await planIntermediateSign(input);
    if (!(await showPlan(ctx, 'sign the intermediate with the offline root', plan))) return 0;
    // The transcript belongs to the root's environment (ceremony.json), or to --env.
    const root = await readRoot(input.rootDir);
    const envName = ctx.flags.string('env') ?? root.env;
    const session = envName ? await EnvSession.open(validateEnvName(envName), ctx.home, 'intermediate sign') : undefined;
    try {
      const passphrase = plan.existing ? Buffer.alloc(0) : await obtainPassphrase(ctx, 'open');
      const result = await applyIntermediateSign(input, passphrase, cliReporter(), session);
      passphrase.fill(0);
      if (!session) process.stderr.write('Warning: no environment is known for this root, so no transcript entry was written (pass --env).\n');
      if (ctx.flags.bool('json')) printJson(result);
      else {
        process.stdout.write(`Intermediate certificate: ${result.certFile}${result.alreadySigned ? ' (already signed)' : ''}\n`);
        process.stdout.write(`SHA-256 fingerprint: ${result.fingerprint}\nSerial: ${result.serial}\nValid until: ${result.notAfter}\n`);
        process.stdout.write('Carry this certificate and root-ca.pem back, then run `certwright intermediate install`.\n');
      }
      return 0;
    } finally {
      session?.close();
    }
  },
};

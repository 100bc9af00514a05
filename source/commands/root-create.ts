import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { parseKeyType, ROOT_KEY_TYPES } from '../pki/keys.js';
import { applyRootCreate, planRootCreate, type RootCreateInput } from '../steps/root-create.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, obtainPassphrase, showPlan, typedConfirmation } from './common.js';
import { UsageError } from '../errors.js';

export const ROOT_DEFAULT_TTL = '10y';

export const command: CommandSpec = {
  name: 'root create',
  summary: 'Offline root ceremony: writes DIR/root-ca.key (encrypted PKCS#8, 0600) and DIR/root-ca.pem, prints the SHA-256 fingerprint, appends to the ceremony transcript.',
  usage: 'root create --env E --out DIR --cn NAME [--key-type ec-p384|ec-p256|rsa-4096|rsa-3072] [--ttl DURATION] [--path-len N] --passphrase-file FILE',
  flags: [
    { name: 'out', type: 'string', value: 'DIR', description: 'directory for root-ca.key and root-ca.pem (must exist)' },
    { name: 'cn', type: 'string', value: 'NAME', description: 'the root CA\'s common name' },
    { name: 'key-type', type: 'string', value: 'TYPE', description: 'ec-p384 (default), ec-p256, rsa-4096, rsa-3072' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity (default 10y)' },
    { name: 'path-len', type: 'string', value: 'N', description: 'pathlen constraint (default: none)' },
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding the key passphrase (mode 0600); typed when absent in a terminal' },
  ],
  async run(ctx) {
    const input: RootCreateInput = {
      outDir: ctx.flags.require('out', 'the ceremony directory'),
      commonName: ctx.flags.require('cn', 'the root CA name'),
      keyType: parseKeyType(ctx.flags.string('key-type') ?? 'ec-p384', ROOT_KEY_TYPES),
      ttlSeconds: parseDuration(ctx.flags.string('ttl') ?? ROOT_DEFAULT_TTL),
      pathLen: ctx.flags.int('path-len', { min: 0, max: 10 }),
    };
    if (/[\u0000-\u001f]/.test(input.commonName) || input.commonName.length > 64) {
      throw new UsageError('--cn must be 1 to 64 printable characters.', 'Pass a shorter --cn without control characters.');
    }
    const session = await openSession(ctx, 'root create');
    try {
      const plan = await planRootCreate(input);
      if (!(await showPlan(ctx, 'root ceremony', plan))) return 0;
      const passphrase = await obtainPassphrase(ctx, 'new');
      await typedConfirmation(ctx, input.commonName, 'create the root');
      const result = await applyRootCreate(session, input, passphrase, cliReporter());
      passphrase.fill(0);
      if (ctx.flags.bool('json')) printJson(result);
      else {
        process.stdout.write(`Root CA created: ${result.certFile}\n`);
        process.stdout.write(`SHA-256 fingerprint: ${result.fingerprint}\n`);
        process.stdout.write(`Valid until: ${result.notAfter}\n`);
        process.stdout.write('Keep root-ca.key on this machine. Carry only root-ca.pem and the transcript.\n');
      }
      return 0;
    } finally {
      session.close();
    }
  },
};

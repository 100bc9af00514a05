import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { parseKeyType, ROOT_KEY_TYPES } from '../../pki/keys.js';
import { envPaths } from '../../paths.js';
import { parseCommonName } from '../inputs.js';
import { defineStep } from '../step.js';
import type { Plan } from '../context.js';
import type { RootCreateInput, RootCreateResult } from '../root-create.js';

const impl = () => import('../root-create.js');

/** root-create — the offline root ceremony (see steps/root-create.ts for what it reads and writes). */
export const rootCreate = defineStep<RootCreateInput, Plan, RootCreateResult>({
  id: 'root-create',
  command: 'root create',
  title: 'Offline root CA',
  summary: 'Offline root ceremony: writes DIR/root-ca.key (encrypted PKCS#8, 0600) and DIR/root-ca.pem, prints the SHA-256 fingerprint, appends to the ceremony transcript.',
  usage: 'root create --env E --out DIR --cn NAME [--key-type ec-p384|ec-p256|rsa-4096|rsa-3072] [--ttl DURATION] [--path-len N] --passphrase-file FILE',
  mutates: true,
  where: 'offline',
  session: 'required',
  inputs: [
    { name: 'out', type: 'string', value: 'DIR', description: 'directory for root-ca.key and root-ca.pem (created 0700 when missing)', required: 'the ceremony directory', suggest: ({ env, home }) => path.join(envPaths(env, home).dir, 'offline-root') },
    { name: 'cn', type: 'string', value: 'NAME', description: 'the root CA\'s common name', required: 'the root CA name', suggest: ({ env }) => `${env} Root CA` },
    { name: 'key-type', type: 'string', value: 'TYPE', description: `root key: ${ROOT_KEY_TYPES.join(', ')}`, default: 'ec-p384' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity', default: '10y' },
    { name: 'path-len', type: 'string', value: 'N', description: 'pathlen constraint; empty for none', default: '', defaultText: 'none (unlimited)' },
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding the key passphrase (mode 0600); typed when absent in a terminal' },
  ],
  parse(run) {
    const f = run.flags;
    const commonName = parseCommonName(f.require('cn', 'the root CA name'));
    const pathLenText = f.string('path-len');
    return {
      outDir: path.resolve(f.require('out', 'the ceremony directory')),
      commonName,
      keyType: parseKeyType(f.string('key-type')!, ROOT_KEY_TYPES),
      ttlSeconds: parseDuration(f.string('ttl')!),
      pathLen: pathLenText === undefined || pathLenText.trim() === '' ? undefined : f.int('path-len', { min: 0, max: 10 }),
    };
  },
  planTitle: () => 'root ceremony',
  async plan(_run, input) {
    return (await impl()).planRootCreate(input);
  },
  async apply(run, input) {
    const passphrase = await run.interact.passphrase('new');
    try {
      await run.interact.confirmName(input.commonName, 'create the root');
      return await (await impl()).applyRootCreate(run.session, input, passphrase, run.report);
    } finally {
      passphrase.fill(0);
    }
  },
  async verify(run) {
    return (await impl()).verifyRootCreate(run.session);
  },
  present: (result) =>
    [
      `Root CA created: ${result.certFile}`,
      `SHA-256 fingerprint: ${result.fingerprint}`,
      `Valid until: ${result.notAfter}`,
      'Keep root-ca.key on this machine. Carry only root-ca.pem and the transcript.',
    ].join('\n'),
});

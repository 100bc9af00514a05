import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { parseKeyType, ROOT_KEY_TYPES } from '../../pki/keys.js';
import { envPaths } from '../../paths.js';
import { parseCommonName } from '../inputs.js';
import { defineStep, type StepRun } from '../step.js';
import { UsageError } from '../../errors.js';
import { custodianNames, validateCustody } from '../../pki/shares.js';
import type { Plan } from '../context.js';
import type { RootCreateInput, RootCreateResult, CustodyInput } from '../root-create.js';

const impl = () => import('../root-create.js');

/** root-create — the offline root ceremony (see steps/root-create.ts for what it reads and writes). */
export const rootCreate = defineStep<RootCreateInput, Plan, RootCreateResult>({
  id: 'root-create',
  command: 'root create',
  title: 'Offline root CA',
  summary: 'Offline root ceremony: writes DIR/root-ca.key (encrypted PKCS#8, 0600) and DIR/root-ca.pem, prints the SHA-256 fingerprint, appends to the ceremony transcript.',
  usage: 'root create --env E --out DIR --cn NAME [--key-type ec-p384|ec-p256|rsa-4096|rsa-3072] [--ttl DURATION] [--path-len N] (--passphrase-file FILE | --custodians N --threshold M --shares-out DIR [--custodian-names a,b,c] [--show-shares])',
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
    { name: 'custodians', type: 'string', value: 'N', description: 'M-of-N custody: a random passphrase nobody sees, split into N shares (one per custodian) instead of --passphrase-file' },
    { name: 'threshold', type: 'string', value: 'M', description: 'with --custodians: how many shares open the root (2..N)' },
    { name: 'custodian-names', type: 'string', value: 'NAMES', description: 'with --custodians: comma-separated custodian names, one share file each (NAME.share)', defaultText: 'custodian-1, custodian-2, ...' },
    { name: 'shares-out', type: 'string', value: 'DIR', description: 'with --custodians: where the share files go (created 0700; not the root directory)' },
    { name: 'show-shares', type: 'boolean', description: 'with --custodians: show each share once, as typeable groups for paper, to its custodian (a terminal only)' },
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
      custody: parseCustody(run),
    };
  },
  planTitle: () => 'root ceremony',
  async plan(_run, input) {
    return (await impl()).planRootCreate(input);
  },
  async apply(run, input) {
    if (input.custody) {
      // Nobody types or sees the passphrase: it is made, split and wiped inside the ceremony.
      await run.interact.confirmName(input.commonName, 'create the root');
      return (await impl()).applyRootCreate(run.session, input, undefined, run.report, (share) => run.interact.showShare(share));
    }
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
      ...(result.shares
        ? [
            `Custody: any ${result.threshold} of ${result.shares.length} custodians open the root. Shares (0600):`,
            ...result.shares.map((s) => `  share ${s.index} (${s.custodian}): ${s.file}`),
            'Hand each custodian their own share file and delete the rest from this machine; no share belongs beside root-ca.key.',
          ]
        : []),
      'Keep root-ca.key on this machine. Carry only root-ca.pem and the transcript.',
    ].join('\n'),
});

/** --custodians / --threshold / --custodian-names / --shares-out / --show-shares, checked together. */
function parseCustody(run: StepRun): CustodyInput | undefined {
  const f = run.flags;
  const custodyFlags = ['threshold', 'custodian-names', 'shares-out'].filter((n) => f.string(n) !== undefined && f.string(n) !== '');
  if (f.string('custodians') === undefined || f.string('custodians') === '') {
    if (custodyFlags.length > 0 || f.bool('show-shares')) throw new UsageError(`--${custodyFlags[0] ?? 'show-shares'} is for a root held by custodians.`, 'Pass --custodians N --threshold M --shares-out DIR with it, or leave it out for a single passphrase.');
    return undefined;
  }
  const custodians = f.int('custodians', { min: 2, max: 255 })!;
  if (f.string('passphrase-file')) throw new UsageError('--passphrase-file and --custodians exclude each other: under custody the passphrase is random and nobody sees it.', 'Leave out --passphrase-file, or leave out --custodians for a single passphrase.');
  const threshold = f.int('threshold', { min: 2, max: custodians });
  if (threshold === undefined) throw new UsageError('--custodians needs --threshold: how many custodians together open the root.', `Pass --threshold M with 2 <= M <= ${custodians}.`);
  validateCustody(custodians, threshold);
  const sharesOut = path.resolve(f.require('shares-out', 'where the custodians\' share files go'));
  const show = f.bool('show-shares');
  if (show && !run.tty) throw new UsageError('--show-shares needs a terminal: each share is shown to its custodian alone, then cleared.', 'Run root create in a terminal, or leave out --show-shares and hand out the share files.');
  return { custodians, threshold, names: custodianNames(f.csv('custodian-names'), custodians), sharesOut, show };
}

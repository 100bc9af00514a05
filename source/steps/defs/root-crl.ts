import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { validateEnvName } from '../../paths.js';
import { UsageError } from '../../errors.js';
import { defineStep } from '../step.js';
import { shareInput, unlockRoot } from '../root-unlock.js';
import type { RootCrlInput, RootCrlPlan, RootCrlResult } from '../root-crl.js';

const impl = () => import('../root-crl.js');

/** root-crl — the offline root signs its CRL (see steps/root-crl.ts for what it reads and writes). */
export const rootCrl = defineStep<RootCrlInput, RootCrlPlan, RootCrlResult>({
  id: 'root-crl',
  command: 'root crl',
  title: 'Root CRL signed offline',
  summary: 'Offline, no Vault: the root signs its CRL, listing every serial it revoked (add more with --revoke); the CRL number goes up by one each time and is recorded beside the root and in the transcript.',
  usage: 'root crl --root-dir DIR (--passphrase-file FILE | --share FILE ...) [--revoke SERIAL ... --reason REASON] --out FILE [--next-update DURATION]',
  mutates: true,
  where: 'offline',
  session: 'optional',
  inputs: [
    { name: 'root-dir', type: 'string', value: 'DIR', description: 'the offline root directory (root-ca.key, root-ca.pem)', required: true },
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding the root key passphrase (mode 0600); typed when absent in a terminal' },
    shareInput,
    { name: 'revoke', type: 'string', multiple: true, value: 'SERIAL', description: 'serial (hex, colons allowed) of a certificate the root signed, to revoke; repeatable' },
    { name: 'reason', type: 'string', value: 'REASON', description: `why (required with --revoke): ${['keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'].join(', ')}` },
    { name: 'out', type: 'string', value: 'FILE', description: 'where to write the CRL (PEM); publish it where --crl-url of the intermediates points', required: true },
    { name: 'next-update', type: 'string', value: 'DURATION', description: 'how long the CRL is valid: sign a new one before then', default: '30d' },
  ],
  async envFrom(run) {
    const rootDir = run.flags.string('root-dir');
    if (!rootDir) return undefined;
    const root = await (await import('../intermediate-sign.js')).readRoot(rootDir).catch(() => undefined);
    return root?.env ? validateEnvName(root.env) : undefined;
  },
  parse(run) {
    const f = run.flags;
    const revoke = f.list('revoke').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
    for (const s of revoke) {
      if (!/^[0-9a-f]{1,2}(:?[0-9a-f]{2})*$/i.test(s) || s.replace(/:/g, '').length > 40) throw new UsageError(`--revoke "${s}" is not a certificate serial.`, 'Pass the serial as openssl prints it (openssl x509 -noout -serial -in CERT), e.g. --revoke 4A3F...');
    }
    const nextUpdateSeconds = parseDuration(f.string('next-update')!);
    if (nextUpdateSeconds < 3600) throw new UsageError('--next-update must be at least 1h.', 'Pass e.g. --next-update 30d.');
    const reasons = ['keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
    const reasonText = f.string('reason');
    if (reasonText !== undefined && !(reasons as readonly string[]).includes(reasonText)) throw new UsageError(`--reason "${reasonText}" is not one of ${reasons.join(', ')}.`, 'Pass e.g. --reason cACompromise for an intermediate whose key may be known to others.');
    if (revoke.length > 0 && reasonText === undefined) throw new UsageError('--revoke needs --reason: the CRL says why each certificate was revoked.', `Pass --reason ${reasons.join('|')} (cACompromise: the intermediate's key may be known to others; superseded: replaced by a new intermediate; cessationOfOperation: retired).`);
    if (revoke.length === 0 && reasonText !== undefined) throw new UsageError('--reason is given without --revoke.', 'Pass the serials to revoke with --revoke, or leave --reason out.');
    return { rootDir: path.resolve(f.require('root-dir')), outFile: path.resolve(f.require('out')), revoke, reason: reasonText as (typeof reasons)[number] | undefined, nextUpdateSeconds };
  },
  planTitle: () => 'sign the root CRL with the offline root',
  async plan(_run, input) {
    return (await impl()).planRootCrl(input);
  },
  async apply(run, input) {
    const unlock = await unlockRoot(run.interact, input.rootDir);
    try {
      const result = await (await impl()).applyRootCrl(input, unlock, run.report, run.hasSession ? run.session : undefined);
      if (!run.hasSession) run.report.warn('no environment is known for this root, so no transcript entry was written (pass --env).');
      return result;
    } finally {
      unlock.passphrase.fill(0);
    }
  },
  present: (result) =>
    [
      `Root CRL: ${result.crlFile} (number ${result.number}, ${result.revoked.length} revoked serial(s))`,
      `SHA-256: ${result.sha256}`,
      `Next update: ${result.nextUpdate}`,
      'Publish it where the intermediates\' --crl-url points (e.g. copy it to that web server path), and sign a new one before the next update.',
    ].join('\n'),
});

import fs from 'node:fs';
import path from 'node:path';
import { signRootCrl, readCrl, normaliseSerial, type RevokedEntry, type RevocationReason } from '../pki/crl.js';
import { fingerprint } from '../pki/pem.js';
import { rootPaths } from '../paths.js';
import { writeFileAtomic, readTextFile, planOutputDir, ensureOutputDir, sha256Hex, exists } from '../system/files.js';
import { OperatorError } from '../errors.js';
import { humanDuration } from '../duration.js';
import { appendTranscript } from '../../state/transcript.js';
import { readRoot } from './intermediate-sign.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import { openRootKey, unlockFacts, type RootUnlock } from './root-unlock.js';

/**
 * root-crl (offline, no Vault) — the offline root signs its CRL: every serial it ever revoked, a
 * CRL number one above the last, nextUpdate after --next-update.
 * plan reads: the root certificate and key file, DIR/root-crl.json (the revocation record).
 * apply writes: --out (the CRL, PEM, 0644) and DIR/root-crl.json (CRL number, revoked serials with
 *   their dates: public facts only), then a transcript entry when the environment is known.
 */
export const STEP_ID = 'root-crl';
export const DEFAULT_NEXT_UPDATE = 30 * 86400;

export interface RootCrlInput {
  rootDir: string;
  outFile: string;
  revoke: string[];
  /** Required with --revoke: the reason code of the newly revoked serials. */
  reason?: RevocationReason | undefined;
  nextUpdateSeconds: number;
}

/** The revocation record beside the root: what every later CRL must still list, and the last number. */
export interface RootCrlRecord {
  crlNumber: number;
  revoked: RevokedEntry[];
  lastThisUpdate?: string;
  lastNextUpdate?: string;
  lastFile?: string;
}

export function recordFile(rootDir: string): string {
  return path.join(rootPaths(rootDir).dir, 'root-crl.json');
}

export function readRecord(rootDir: string): RootCrlRecord {
  const file = recordFile(rootDir);
  if (!fs.existsSync(file)) return { crlNumber: 0, revoked: [] };
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RootCrlRecord;
    if (!Number.isInteger(r.crlNumber) || r.crlNumber < 0 || !Array.isArray(r.revoked) || r.revoked.some((e) => typeof e.serial !== 'string' || typeof e.reason !== 'string')) throw new Error('bad fields');
    return r;
  } catch (error) {
    throw new OperatorError(`${file} is damaged: it does not hold the root's CRL number and revoked serials.`, 'Restore it from the ceremony backup; a new CRL must list every serial revoked before and carry a higher number.', { cause: error });
  }
}

export interface RootCrlPlan extends Plan {
  record: RootCrlRecord;
  added: string[];
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

export async function planRootCrl(input: RootCrlInput, now = new Date()): Promise<RootCrlPlan> {
  const root = await readRoot(input.rootDir);
  if (!(await exists(root.keyFile))) throw new OperatorError(`No root key at ${root.keyFile}.`, 'Sign the CRL at the machine that holds the offline root key.');
  const record = readRecord(input.rootDir);
  const known = new Set(record.revoked.map((r) => r.serial));
  const added = [...new Set(input.revoke.map(normaliseSerial))].filter((s) => !known.has(s));
  const nextUpdate = new Date(now.getTime() + input.nextUpdateSeconds * 1000);
  if (nextUpdate > new Date(root.cert.validTo)) throw new OperatorError(`--next-update ${humanDuration(input.nextUpdateSeconds)} goes past the root's end (${new Date(root.cert.validTo).toISOString()}).`, 'Pass a shorter --next-update.');
  const plan: RootCrlPlan = { ...emptyPlan(), record, added, number: record.crlNumber + 1, thisUpdate: now, nextUpdate };
  plan.facts.push(
    ['Root', `${root.cert.subject.replace(/\n/g, ', ')} (${fingerprint(root.cert)})`],
    ['CRL number', `${plan.number} (last ${record.crlNumber || 'none'})`],
    ['Revoked', `${record.revoked.length + added.length} serial(s)${added.length ? `, new: ${added.join(', ')}` : ''}`],
    ['Next update', `${nextUpdate.toISOString()} (publish a new CRL before then: validators refuse a lapsed one)`],
  );
  const createDir = await planOutputDir(path.dirname(path.resolve(input.outFile)), '--out directory');
  if (createDir) plan.actions.push(createDir);
  plan.actions.push(`Sign CRL number ${plan.number} with the root key and write ${input.outFile}`, `Record CRL number ${plan.number}${added.length ? ` and ${added.length} new revoked serial(s)` : ''} in ${recordFile(input.rootDir)}`);
  return plan;
}

export interface RootCrlResult {
  crlFile: string;
  number: number;
  revoked: string[];
  nextUpdate: string;
  sha256: string;
}

export async function applyRootCrl(input: RootCrlInput, unlock: RootUnlock, report: Reporter, session?: EnvSession): Promise<RootCrlResult> {
  const plan = await planRootCrl(input);
  const root = await readRoot(input.rootDir);
  report.progress('Opening the root key');
  const rootKey = await openRootKey(await readTextFile(root.keyFile, '--root-dir'), unlock, root.keyFile);
  if (!root.cert.checkPrivateKey(rootKey)) throw new OperatorError(`The key in ${root.keyFile} does not belong to ${rootPaths(input.rootDir).cert}.`, 'Restore both files from the ceremony backup.');
  const revoked = [...plan.record.revoked, ...plan.added.map((serial) => ({ serial, revokedAt: plan.thisUpdate.toISOString(), reason: input.reason ?? 'cessationOfOperation' }))];
  const { pem } = await signRootCrl(root.cert, rootKey, { number: plan.number, thisUpdate: plan.thisUpdate, nextUpdate: plan.nextUpdate, revoked });
  // Check it like a relying party before it leaves this process.
  const facts = await readCrl(pem, root.cert);
  if (!facts.signedByRoot || facts.number !== plan.number || revoked.some((r) => !facts.serials.includes(r.serial))) throw new Error('bug: the signed CRL does not verify, or lacks its number or a revoked serial');
  await ensureOutputDir(path.dirname(path.resolve(input.outFile)));
  await writeFileAtomic(path.resolve(input.outFile), pem, { mode: 0o644 });
  const record: RootCrlRecord = { crlNumber: plan.number, revoked, lastThisUpdate: plan.thisUpdate.toISOString(), lastNextUpdate: plan.nextUpdate.toISOString(), lastFile: path.resolve(input.outFile) };
  await writeFileAtomic(recordFile(input.rootDir), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  report.done(`Root CRL number ${plan.number} written to ${input.outFile} (${revoked.length} revoked serial(s), next update ${plan.nextUpdate.toISOString()})`);
  const sha256 = sha256Hex(pem);
  if (session) {
    appendTranscript(session.paths.transcript, STEP_ID, {
      env: session.env,
      crlNumber: plan.number,
      revokedSerials: revoked.map((r) => r.serial),
      newlyRevoked: plan.added,
      ...(plan.added.length ? { reason: input.reason } : {}),
      thisUpdate: plan.thisUpdate.toISOString(),
      nextUpdate: plan.nextUpdate.toISOString(),
      crlSha256: sha256,
      rootSha256Fingerprint: fingerprint(root.cert),
      ...unlockFacts(unlock),
    });
  }
  return { crlFile: path.resolve(input.outFile), number: plan.number, revoked: revoked.map((r) => r.serial), nextUpdate: plan.nextUpdate.toISOString(), sha256 };
}

import fsp from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import crypto, { X509Certificate } from 'node:crypto';
import { createRootCertificate } from '../pki/certs.js';
import { generateKeyPair, encryptPkcs8, decryptPrivateKey, describeKey, ROOT_KEY_PBKDF2_ITERATIONS, type KeyType } from '../pki/keys.js';
import { certPem, fingerprint } from '../pki/pem.js';
import { caFacts } from '../pki/certs.js';
import { check, type Check } from '../pki/checks.js';
import { rootPaths } from '../paths.js';
import { writeFileAtomic, planOutputDir, ensureOutputDir, exists, sha256Hex, fileSha256 } from '../system/files.js';
import { OperatorError } from '../errors.js';
import { humanDuration } from '../duration.js';
import { completeStep } from '../../state/transitions.js';
import { appendTranscript } from '../../state/transcript.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import type { Interaction } from './step.js';
import { newCustody, shareFileText, shareGroups, formatGroups, parseShare, checkShareAgainst, passphraseFromShares, SHARE_FORMAT, type NewCustody, type ShareFacts, type ParsedShare, type RootCustody } from '../pki/shares.js';

/**
 * root-create — the offline root ceremony.
 * plan reads: the output directory (writable, no root there yet).
 * apply writes: DIR/root-ca.key (encrypted PKCS#8, 0600, created before any byte), DIR/root-ca.pem
 *   (0644), DIR/ceremony.json (public facts); the state's root-create record; a transcript entry.
 *   Under M-of-N custody (--custodians/--threshold) also SHARES/<custodian>.share (0600 each), and
 *   ceremony.json's `custody` says which shares open the key (never the shares themselves).
 */
export const STEP_ID = 'root-create';

export interface RootCreateInput {
  outDir: string;
  commonName: string;
  keyType: KeyType;
  ttlSeconds: number;
  pathLen?: number | undefined;
  /** M-of-N custody instead of one passphrase: a random passphrase, split into N shares. */
  custody?: CustodyInput | undefined;
}

export interface CustodyInput {
  custodians: number;
  threshold: number;
  /** One per custodian; the share files are DIR/<name>.share. */
  names: string[];
  sharesOut: string;
  /** Show each share once, as typeable groups, to its custodian (a terminal only). */
  show: boolean;
}

export function shareFiles(custody: CustodyInput): string[] {
  return custody.names.map((name) => path.join(custody.sharesOut, `${name}.share`));
}

export async function planRootCreate(input: RootCreateInput): Promise<Plan> {
  const files = rootPaths(input.outDir);
  const createDir = await planOutputDir(files.dir, '--out');
  for (const file of [files.key, files.cert]) {
    if (await exists(file)) {
      throw new OperatorError(`${file} already exists; certwright never overwrites a root key or certificate.`, 'Use that root as it is, or choose an empty directory with --out for a new root.');
    }
  }
  const plan = emptyPlan();
  plan.facts.push(['Subject', `CN=${input.commonName}`], ['Key', input.keyType], ['Validity', humanDuration(input.ttlSeconds)], ['Path length', input.pathLen === undefined ? 'unlimited' : String(input.pathLen)], ['Directory', files.dir]);
  const custody = input.custody;
  let createSharesDir: string | undefined;
  if (custody) {
    if (path.resolve(custody.sharesOut) === files.dir) {
      throw new OperatorError('--shares-out is the root directory: the shares would lie beside the key they open.', 'Write the shares to another directory (a custodian\'s medium, say) with --shares-out DIR.');
    }
    createSharesDir = await planOutputDir(custody.sharesOut, '--shares-out');
    for (const file of shareFiles(custody)) {
      if (await exists(file)) throw new OperatorError(`${file} already exists; certwright never overwrites a custodian's share.`, 'Choose an empty directory with --shares-out.');
    }
    plan.facts.push(['Custody', `${custody.threshold} of ${custody.custodians} custodians (${custody.names.join(', ')})`]);
  }
  if (createDir) plan.actions.push(createDir);
  if (custody) plan.actions.push(`Generate a random passphrase that nobody sees and split it (Shamir, any ${custody.threshold} of ${custody.custodians} shares open the key)`);
  plan.actions.push(`Generate a ${input.keyType} key and write it encrypted (AES-256, PBKDF2-HMAC-SHA256 x ${ROOT_KEY_PBKDF2_ITERATIONS.toLocaleString('en')}) to ${files.key} (mode 0600)`);
  plan.actions.push(`Self-sign the root certificate CN=${input.commonName} and write it to ${files.cert} (mode 0644)`);
  if (custody) {
    if (createSharesDir) plan.actions.push(createSharesDir);
    plan.actions.push(`Write one share per custodian (mode 0600): ${shareFiles(custody).join(', ')}`);
    if (custody.show) plan.actions.push('Show each share once, as typeable groups, to its custodian');
  }
  return plan;
}

export interface RootCreateResult {
  keyFile: string;
  certFile: string;
  fingerprint: string;
  notAfter: string;
  serial: string;
  /** Under custody: the share files written, one per custodian. */
  shares?: Array<{ index: number; custodian: string; file: string }> | undefined;
  threshold?: number | undefined;
}

/**
 * The root ceremony. With `input.custody`, `passphrase` is absent: a random one is made here,
 * split, used, and wiped; `show` displays each share once to its custodian.
 */
export async function applyRootCreate(session: EnvSession, input: RootCreateInput, given: Buffer | undefined, report: Reporter, show?: Interaction['showShare']): Promise<RootCreateResult> {
  await planRootCreate(input);
  const files = rootPaths(input.outDir);
  const custodyInput = input.custody;
  let custody: NewCustody | undefined;
  if (custodyInput) {
    report.progress(`Generating a random passphrase and splitting it ${custodyInput.threshold}-of-${custodyInput.custodians}`);
    custody = await newCustody(custodyInput.custodians, custodyInput.threshold);
  } else if (!given) {
    throw new Error('root-create without custody needs a passphrase');
  }
  const passphrase = custody ? custody.passphrase : given!;
  try {
    return await createRoot(session, input, files, passphrase, custody, report, show);
  } finally {
    if (custody) {
      custody.passphrase.fill(0);
      for (const share of custody.shares) share.fill(0);
    }
  }
}

async function createRoot(session: EnvSession, input: RootCreateInput, files: ReturnType<typeof rootPaths>, passphrase: Buffer, custody: NewCustody | undefined, report: Reporter, show?: Interaction['showShare']): Promise<RootCreateResult> {
  await ensureOutputDir(files.dir);
  report.progress(`Generating the ${input.keyType} root key`);
  const { privateKey, publicKey } = await generateKeyPair(input.keyType);
  const now = new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + input.ttlSeconds * 1000);
  report.progress('Self-signing the root certificate');
  const cert = await createRootCertificate({ commonName: input.commonName, notBefore, notAfter, pathLen: input.pathLen }, privateKey, publicKey);
  if (!cert.checkPrivateKey(privateKey)) throw new Error('generated root certificate does not match its key');
  report.progress('Encrypting the root key');
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const encrypted = await encryptPkcs8(pkcs8, passphrase);
  pkcs8.fill(0);
  // Undo registered before the change: if the certificate or a share cannot be written, the key goes too.
  let keyWritten = false;
  const sharesWritten: string[] = [];
  const rootFingerprint = fingerprint(cert);
  const shareList: Array<{ index: number; custodian: string; file: string }> = [];
  try {
    await writeFileAtomic(files.key, encrypted, { mode: 0o600, noClobber: true });
    keyWritten = true;
    report.done(`Root key written to ${files.key} (0600, encrypted)`);
    await writeFileAtomic(files.cert, certPem(cert), { mode: 0o644, noClobber: true });
    report.done(`Root certificate written to ${files.cert}`);
    // Prove the file opens with the passphrase and holds this certificate's key.
    const reopened = decryptPrivateKey(encrypted, passphrase, files.key);
    if (!cert.checkPrivateKey(reopened)) throw new Error('written root key does not match the certificate');
    if (custody && input.custody) {
      await ensureOutputDir(input.custody.sharesOut);
      const created = new Date().toISOString();
      const targets = shareFiles(input.custody);
      for (const [i, bytes] of custody.shares.entries()) {
        const facts = shareFactsFor(i + 1, input.custody, custody.setId, rootFingerprint);
        const text = shareFileText(facts, bytes, { custodian: input.custody.names[i]!, rootCommonName: input.commonName, rootFingerprint, created });
        await writeFileAtomic(targets[i]!, text, { mode: 0o600, noClobber: true });
        sharesWritten.push(targets[i]!);
        shareList.push({ index: i + 1, custodian: input.custody.names[i]!, file: targets[i]! });
      }
      await proveShares(targets, input.custody, custody.setId, rootFingerprint, passphrase);
      report.done(`${targets.length} shares written to ${input.custody.sharesOut} (0600, one per custodian; any ${input.custody.threshold} open the root)`);
    }
  } catch (error) {
    if (keyWritten) await fsp.unlink(files.key).catch(() => undefined);
    await fsp.unlink(files.cert).catch(() => undefined);
    for (const file of sharesWritten) await fsp.unlink(file).catch(() => undefined);
    throw error;
  }
  const result: RootCreateResult = { keyFile: files.key, certFile: files.cert, fingerprint: rootFingerprint, notAfter: notAfter.toISOString(), serial: cert.serialNumber };
  const custodyRecord: RootCustody | undefined = custody && input.custody ? { scheme: 'shamir-gf256', format: SHARE_FORMAT, threshold: input.custody.threshold, custodians: input.custody.custodians, names: input.custody.names, setId: custody.setId } : undefined;
  if (custodyRecord) {
    result.shares = shareList;
    result.threshold = custodyRecord.threshold;
  }
  const meta = {
    env: session.env,
    commonName: input.commonName,
    keyType: input.keyType,
    fingerprint: result.fingerprint,
    serial: cert.serialNumber,
    notBefore: notBefore.toISOString(),
    notAfter: result.notAfter,
    pathLen: input.pathLen ?? null,
    kdf: { name: 'PBKDF2-HMAC-SHA256', iterations: ROOT_KEY_PBKDF2_ITERATIONS, cipher: 'AES-256-CBC' },
    ...(custodyRecord ? { custody: custodyRecord } : {}),
  };
  await writeFileAtomic(files.meta, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
  const keySha = sha256Hex(encrypted);
  const certSha = sha256Hex(certPem(cert));
  session.commit(
    completeStep(session.state, STEP_ID, undefined, new Date(), [
      { kind: 'root-key', path: files.key, sha256: keySha },
      { kind: 'root-certificate', path: files.cert, sha256: certSha, fingerprint: result.fingerprint },
    ], {
      commonName: input.commonName,
      keyType: input.keyType,
      serial: cert.serialNumber,
      notAfter: result.notAfter,
      rootDir: files.dir,
      custody: custodyRecord ? 'shamir' : 'passphrase',
      ...(custodyRecord ? { threshold: custodyRecord.threshold, custodians: custodyRecord.custodians, shareIndices: shareList.map((s) => String(s.index)), custodianNames: custodyRecord.names } : {}),
    }),
  );
  appendTranscript(session.paths.transcript, 'root-create', {
    env: session.env,
    commonName: input.commonName,
    keyType: input.keyType,
    key: describeKey(publicKey),
    serial: cert.serialNumber,
    notAfter: result.notAfter,
    rootCertificateSha256Fingerprint: result.fingerprint,
    rootKeyFileSha256: keySha,
    pbkdf2Iterations: ROOT_KEY_PBKDF2_ITERATIONS,
    ...(custodyRecord
      ? { custody: `${custodyRecord.threshold}-of-${custodyRecord.custodians}`, shareIndices: shareList.map((s) => s.index), custodians: custodyRecord.names, shareSet: custodyRecord.setId }
      : { custody: 'passphrase' }),
  });
  if (custody && input.custody?.show && show) {
    for (const [i, bytes] of custody.shares.entries()) {
      const facts = shareFactsFor(i + 1, input.custody, custody.setId, rootFingerprint);
      await show({ custodian: input.custody.names[i]!, index: i + 1, custodians: input.custody.custodians, threshold: input.custody.threshold, groups: formatGroups(shareGroups(facts, bytes)) });
    }
  }
  return result;
}

function shareFactsFor(index: number, custody: CustodyInput, setId: string, rootFingerprint: string): ShareFacts {
  return { index, threshold: custody.threshold, custodians: custody.custodians, setId, rootFingerprintPrefix: rootFingerprint.replace(/:/g, '').slice(0, 16).toLowerCase() };
}

/**
 * Reads every written share back and combines each window of M consecutive shares (so every share
 * takes part): each must give the passphrase that encrypted the key.
 */
async function proveShares(files: string[], custody: CustodyInput, setId: string, rootFingerprint: string, passphrase: Buffer): Promise<void> {
  const record: RootCustody = { scheme: 'shamir-gf256', format: SHARE_FORMAT, threshold: custody.threshold, custodians: custody.custodians, names: custody.names, setId };
  const parsed: ParsedShare[] = [];
  try {
    for (const file of files) {
      const share = parseShare(await fsp.readFile(file, 'utf8'), file);
      checkShareAgainst(share, file, record, rootFingerprint, parsed.map((p, i) => ({ share: p, source: files[i]! })));
      parsed.push(share);
    }
    for (let start = 0; start < parsed.length; start += 1) {
      const window = Array.from({ length: custody.threshold }, (_, k) => parsed[(start + k) % parsed.length]!);
      const back = await passphraseFromShares(window);
      const same = back.length === passphrase.length && crypto.timingSafeEqual(back, passphrase);
      back.fill(0);
      if (!same) throw new Error(`shares ${window.map((s) => s.index).join(',')} do not combine to the root key's passphrase`);
    }
  } finally {
    for (const share of parsed) share.bytes.fill(0);
  }
}

/** Re-checks a completed root ceremony without the passphrase: files, hashes, modes, CA facts. */
export async function verifyRootCreate(session: EnvSession): Promise<Check[]> {
  const record = session.state.steps[STEP_ID];
  if (!record || record.status !== 'done') return [check('root ceremony recorded', false, 'no completed root-create step in state')];
  const checks: Check[] = [];
  for (const artefact of record.artefacts) {
    const sha = await fileSha256(artefact.path);
    checks.push(check(`${artefact.kind} unchanged`, sha === artefact.sha256, sha === undefined ? `${artefact.path} is missing` : sha === artefact.sha256 ? artefact.path : `${artefact.path} changed since the ceremony (recorded sha256 ${artefact.sha256}, now ${sha})`));
    if (artefact.kind === 'root-key' && sha !== undefined) {
      const mode = fs.statSync(artefact.path).mode & 0o777;
      checks.push(check('root key mode 0600', mode === 0o600, `mode ${mode.toString(8).padStart(4, '0')}`));
    }
    if (artefact.kind === 'root-certificate' && sha !== undefined) {
      const cert = new X509Certificate(fs.readFileSync(artefact.path));
      const facts = caFacts(cert);
      checks.push(check('root is a CA', facts.isCa && facts.keyUsage.includes('keyCertSign'), `CA:${facts.isCa} keyUsage:${facts.keyUsage.join(',')}`));
      checks.push(check('root not expired', new Date(cert.validTo) > new Date(), `valid until ${new Date(cert.validTo).toISOString()}`));
    }
  }
  if (record.facts.custody === 'shamir') checks.push(...verifyCustody(String(record.facts.rootDir), Number(record.facts.threshold), Number(record.facts.custodians)));
  return checks;
}

/** The custody recorded in state is the one ceremony.json names, and no share lies beside the key. */
function verifyCustody(rootDir: string, threshold: number, custodians: number): Check[] {
  let recorded: { custody?: { threshold?: number; custodians?: number } } | undefined;
  try {
    recorded = JSON.parse(fs.readFileSync(rootPaths(rootDir).meta, 'utf8')) as typeof recorded;
  } catch (error) {
    return [check('root custody recorded beside the root', false, `not checked: ${rootPaths(rootDir).meta} cannot be read (${(error as Error).message})`)];
  }
  const c = recorded?.custody;
  const same = c?.threshold === threshold && c?.custodians === custodians;
  const beside = fs.readdirSync(rootDir).filter((f) => f.endsWith('.share'));
  return [
    check('root custody recorded beside the root', same, same ? `${threshold} of ${custodians} custodians` : `ceremony.json says ${c ? `${c.threshold} of ${c.custodians}` : 'no custody'}, state says ${threshold} of ${custodians}`),
    check('no share beside the root key', beside.length === 0, beside.length === 0 ? rootDir : `${beside.join(', ')} in ${rootDir}: hand it to its custodian and delete it here`),
  ];
}

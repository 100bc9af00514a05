import fsp from 'node:fs/promises';
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
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

/**
 * root-create — the offline root ceremony.
 * plan reads: the output directory (writable, no root there yet).
 * apply writes: DIR/root-ca.key (encrypted PKCS#8, 0600, created before any byte), DIR/root-ca.pem
 *   (0644), DIR/ceremony.json (public facts); the state's root-create record; a transcript entry.
 */
export const STEP_ID = 'root-create';

export interface RootCreateInput {
  outDir: string;
  commonName: string;
  keyType: KeyType;
  ttlSeconds: number;
  pathLen?: number | undefined;
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
  if (createDir) plan.actions.push(createDir);
  plan.actions.push(`Generate a ${input.keyType} key and write it encrypted (AES-256, PBKDF2-HMAC-SHA256 x ${ROOT_KEY_PBKDF2_ITERATIONS.toLocaleString('en')}) to ${files.key} (mode 0600)`);
  plan.actions.push(`Self-sign the root certificate CN=${input.commonName} and write it to ${files.cert} (mode 0644)`);
  return plan;
}

export interface RootCreateResult {
  keyFile: string;
  certFile: string;
  fingerprint: string;
  notAfter: string;
  serial: string;
}

export async function applyRootCreate(session: EnvSession, input: RootCreateInput, passphrase: Buffer, report: Reporter): Promise<RootCreateResult> {
  await planRootCreate(input);
  const files = rootPaths(input.outDir);
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
  // Undo registered before the change: if the certificate cannot be written, the key goes too.
  let keyWritten = false;
  try {
    await writeFileAtomic(files.key, encrypted, { mode: 0o600, noClobber: true });
    keyWritten = true;
    report.done(`Root key written to ${files.key} (0600, encrypted)`);
    await writeFileAtomic(files.cert, certPem(cert), { mode: 0o644, noClobber: true });
    report.done(`Root certificate written to ${files.cert}`);
    // Prove the file opens with the passphrase and holds this certificate's key.
    const reopened = decryptPrivateKey(encrypted, passphrase, files.key);
    if (!cert.checkPrivateKey(reopened)) throw new Error('written root key does not match the certificate');
  } catch (error) {
    if (keyWritten) await fsp.unlink(files.key).catch(() => undefined);
    await fsp.unlink(files.cert).catch(() => undefined);
    throw error;
  }
  const result: RootCreateResult = { keyFile: files.key, certFile: files.cert, fingerprint: fingerprint(cert), notAfter: notAfter.toISOString(), serial: cert.serialNumber };
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
  };
  await writeFileAtomic(files.meta, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
  const keySha = sha256Hex(encrypted);
  const certSha = sha256Hex(certPem(cert));
  session.commit(
    completeStep(session.state, STEP_ID, undefined, new Date(), [
      { kind: 'root-key', path: files.key, sha256: keySha },
      { kind: 'root-certificate', path: files.cert, sha256: certSha, fingerprint: result.fingerprint },
    ], { commonName: input.commonName, keyType: input.keyType, serial: cert.serialNumber, notAfter: result.notAfter, rootDir: files.dir }),
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
  });
  return result;
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
  return checks;
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { readCsr, signIntermediate, caFacts, type CsrInfo } from '../pki/certs.js';
import { keyTypeName, signableKeyType, SIGNABLE_CA_KEY_TYPES } from '../pki/keys.js';
import { parseCertificate, certPem, fingerprint, samePublicKey } from '../pki/pem.js';
import { verifyChain, allOk, failed, cn } from '../pki/verify.js';
import { rootPaths } from '../paths.js';
import { writeFileAtomic, readTextFile, planOutputDir, ensureOutputDir, sha256Hex, exists } from '../system/files.js';
import { OperatorError, UsageError } from '../errors.js';
import { humanDuration } from '../duration.js';
import { completeStep } from '../../state/transitions.js';
import { appendTranscript } from '../../state/transcript.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import { openRootKey, unlockFacts, type RootUnlock } from './root-unlock.js';

/**
 * intermediate-sign (offline, no Vault) — the root signs the intermediate's CSR.
 * plan reads: the root certificate, the CSR (signature checked), the output path.
 * apply writes: the signed intermediate certificate (0644) and, when the environment's state is on
 *   this machine, a transcript entry and the step's record. The root key is decrypted in memory only.
 */
export const STEP_ID = 'intermediate-sign';
export const DEFAULT_INTERMEDIATE_TTL = 5 * 365 * 86400;

export interface IntermediateSignInput {
  rootDir: string;
  csrFile: string;
  outFile: string;
  /** Explicit --ttl; when absent the default is clamped to the root's lifetime. */
  ttlSeconds?: number | undefined;
  pathLen: number;
  permittedDns?: string[] | undefined;
  permittedIps?: string[] | undefined;
  excludedDns?: string[] | undefined;
  crlUrl?: string | undefined;
  caIssuersUrl?: string | undefined;
  /** Key types signed beyond SIGNABLE_CA_KEY_TYPES (--allow-key-type), by explicit choice. */
  allowKeyTypes?: string[] | undefined;
  /** Mount, when known (one-machine flow), for the state record. */
  mount?: string | undefined;
}

export interface SignPlan extends Plan {
  csr: CsrInfo;
  root: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  existing?: X509Certificate;
}

export async function readRoot(rootDir: string): Promise<{ cert: X509Certificate; pem: string; keyFile: string; env?: string }> {
  const files = rootPaths(rootDir);
  if (!(await exists(files.cert))) {
    throw new OperatorError(`No root certificate at ${files.cert}.`, 'Point --root-dir at the directory `certwright root create` wrote (it holds root-ca.pem and root-ca.key).');
  }
  const pem = await readTextFile(files.cert, '--root-dir');
  const cert = parseCertificate(pem, files.cert);
  let env: string | undefined;
  try {
    env = (JSON.parse(fs.readFileSync(files.meta, 'utf8')) as { env?: string }).env;
  } catch {
    env = undefined;
  }
  return env ? { cert, pem, keyFile: files.key, env } : { cert, pem, keyFile: files.key };
}

/**
 * The root signs CA keys of the documented intermediate types only (EC P-256/P-384, RSA 2048 to
 * 4096 bits): a weak (RSA-1024) or unexpected (Ed25519, RSA-8192) key under the offline root is
 * refused, naming the key found and the allowed list, unless --allow-key-type names it.
 */
export function checkCaKeyType(key: KeyObject, allowed: readonly string[]): void {
  const found = keyTypeName(key);
  if (signableKeyType(found, allowed)) return;
  const list = [...SIGNABLE_CA_KEY_TYPES, ...allowed].join(', ');
  throw new OperatorError(
    `The CSR's key is ${found}; the root signs CA keys of these types only: ${list} (RSA from 2048 to 4096 bits).`,
    `Make the request again with an allowed key (certwright intermediate request --key-type ec-p256), or pass --allow-key-type ${found} to sign this key on purpose.`,
  );
}

export async function planIntermediateSign(input: IntermediateSignInput, now = new Date()): Promise<SignPlan> {
  const root = await readRoot(input.rootDir);
  if (!(await exists(root.keyFile))) {
    throw new OperatorError(`No root key at ${root.keyFile}.`, 'Sign at the machine that holds the offline root key (the directory `certwright root create` wrote).');
  }
  const rootFacts = caFacts(root.cert);
  if (!rootFacts.isCa || !root.cert.checkIssued(root.cert)) throw new OperatorError(`${rootPaths(input.rootDir).cert} is not a self-signed CA certificate.`, 'Point --root-dir at the offline root.');
  if (rootFacts.pathLen !== undefined && input.pathLen >= rootFacts.pathLen) {
    const p = rootFacts.pathLen;
    if (p === 0) {
      throw new UsageError('The root has pathlen 0: it may sign no CA at all, so validators would refuse every chain through an intermediate it signed.', 'Sign intermediates with a root created with --path-len 1 or more.');
    }
    // Such an intermediate does validate, and so do its leaves: only a CA it signs beyond the
    // root's limit would not. The refusal keeps the certificate from promising what no validator allows.
    throw new UsageError(
      `The root (pathlen ${p}) allows ${p} CA level(s) below it, this intermediate included, so at most ${p - 1} below the intermediate. --path-len ${input.pathLen} would promise ${input.pathLen}: the intermediate and its leaves would still validate, but a CA signed deeper than ${p - 1} level(s) below it would not. certwright does not write a limit that the chain overrides.`,
      `Use --path-len ${p - 1} or lower: it states the limit validators enforce.`,
    );
  }
  const csrPem = await readTextFile(input.csrFile, '--csr');
  const csr = await readCsr(csrPem, input.csrFile, { checkKey: (key) => checkCaKeyType(key, input.allowKeyTypes ?? []) });
  const rootNotAfter = new Date(root.cert.validTo);
  if (rootNotAfter <= now) throw new OperatorError(`The root expired on ${rootNotAfter.toISOString()}.`, 'Create a new root; an expired root cannot sign.');
  const notBefore = new Date(now.getTime() - 60_000);
  const plan: SignPlan = { ...emptyPlan(), csr, root: root.cert, notBefore, notAfter: rootNotAfter };
  const requested = new Date(now.getTime() + (input.ttlSeconds ?? DEFAULT_INTERMEDIATE_TTL) * 1000);
  if (requested > rootNotAfter) {
    if (input.ttlSeconds !== undefined) {
      const left = Math.floor((rootNotAfter.getTime() - now.getTime()) / 1000);
      throw new UsageError(`--ttl ${humanDuration(input.ttlSeconds)} would let the intermediate outlive the root (root expires ${rootNotAfter.toISOString()}).`, `Use --ttl ${humanDuration(left)} or less.`);
    }
    plan.warnings.push(`The default validity (${humanDuration(DEFAULT_INTERMEDIATE_TTL)}) is cut to the root's end, ${rootNotAfter.toISOString()}.`);
  } else {
    plan.notAfter = requested;
  }
  plan.facts.push(
    ['Subject', csr.subject],
    ['Key', csr.keyDescription],
    ['CSR signature', 'valid'],
    ['Signed by', `${cn(root.cert)} (${fingerprint(root.cert)})`],
    ['Valid', `${notBefore.toISOString()} .. ${plan.notAfter.toISOString()}`],
    ['Path length', String(input.pathLen)],
  );
  if (input.permittedDns?.length) plan.facts.push(['Permitted DNS', input.permittedDns.join(', ')]);
  if (input.permittedIps?.length) plan.facts.push(['Permitted IP', input.permittedIps.join(', ')]);
  if (input.excludedDns?.length) plan.facts.push(['Excluded DNS', input.excludedDns.join(', ')]);
  if (input.crlUrl) plan.facts.push(['Root CRL at', input.crlUrl]);
  if (input.caIssuersUrl) plan.facts.push(['Root certificate at', input.caIssuersUrl]);
  if (!input.crlUrl) plan.warnings.push('No --crl-url: this intermediate names no CRL of the root, so the offline root can never revoke it for a validator that checks (openssl -crl_check_all).');
  if (input.permittedDns?.length && !input.permittedIps?.length) plan.warnings.push('--permitted-dns limits DNS names only: without --permitted-ip the intermediate may still issue for any IP address.');
  const createDir = await planOutputDir(path.dirname(path.resolve(input.outFile)), '--out directory');
  if (createDir) plan.actions.push(createDir);
  if (await exists(input.outFile)) {
    const current = parseCertificate(await readTextFile(input.outFile, '--out'), input.outFile);
    const sameKey = current.publicKey.export({ type: 'spki', format: 'der' }).equals(csr.spkiDer);
    if (sameKey && current.checkIssued(root.cert) && current.verify(root.cert.publicKey) && new Date(current.validTo) > now) {
      plan.existing = current;
      return plan; // already signed: nothing to do
    }
    throw new OperatorError(`${input.outFile} already exists and is not this CSR's certificate from this root.`, 'Move it away or choose another --out.');
  }
  plan.actions.push(`Sign the CSR as an intermediate CA (pathlen ${input.pathLen}) with the root key and write ${input.outFile}`);
  return plan;
}

export interface SignResult {
  certFile: string;
  fingerprint: string;
  serial: string;
  notAfter: string;
  alreadySigned: boolean;
}

export async function applyIntermediateSign(input: IntermediateSignInput, unlock: RootUnlock, report: Reporter, session?: EnvSession): Promise<SignResult> {
  const plan = await planIntermediateSign(input);
  if (plan.existing) {
    report.info(`${input.outFile} already holds this CSR's certificate from this root; nothing to sign.`);
    return { certFile: path.resolve(input.outFile), fingerprint: fingerprint(plan.existing), serial: plan.existing.serialNumber, notAfter: new Date(plan.existing.validTo).toISOString(), alreadySigned: true };
  }
  const root = await readRoot(input.rootDir);
  await ensureOutputDir(path.dirname(path.resolve(input.outFile)));
  report.progress('Opening the root key');
  const rootKey = await openRootKey(await readTextFile(root.keyFile, '--root-dir'), unlock, root.keyFile);
  if (!root.cert.checkPrivateKey(rootKey)) {
    throw new OperatorError(`The key in ${root.keyFile} does not belong to ${rootPaths(input.rootDir).cert}.`, 'The root directory has been mixed up; restore both files from the ceremony backup.');
  }
  report.progress('Signing the intermediate');
  const cert = await signIntermediate(plan.csr, root.cert, rootKey, { notBefore: plan.notBefore, notAfter: plan.notAfter, pathLen: input.pathLen, permittedDns: input.permittedDns, permittedIps: input.permittedIps, excludedDns: input.excludedDns, crlUrl: input.crlUrl, caIssuersUrl: input.caIssuersUrl });
  // Verify like a ceremony tool before anything leaves this process.
  const checks = verifyChain([cert], root.cert);
  const facts = caFacts(cert);
  const same = (a: string[], b: string[] | undefined) => JSON.stringify(a) === JSON.stringify(b ?? []);
  const constraintsOk = same(facts.nameConstraints, input.permittedDns) && same(facts.permittedIps, input.permittedIps) && same(facts.excludedDns, input.excludedDns) && !facts.otherConstraints;
  if (!allOk(checks) || !facts.isCa || facts.pathLen !== input.pathLen || !constraintsOk || !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(plan.csr.spkiDer)) {
    throw new Error(`signed intermediate failed verification: ${failed(checks).map((c) => c.name).join(', ')}`);
  }
  const pem = certPem(cert);
  await writeFileAtomic(path.resolve(input.outFile), pem, { mode: 0o644 });
  report.done(`Intermediate signed: ${input.outFile} (serial ${cert.serialNumber})`);
  const result: SignResult = { certFile: path.resolve(input.outFile), fingerprint: fingerprint(cert), serial: cert.serialNumber, notAfter: new Date(cert.validTo).toISOString(), alreadySigned: false };
  if (session) {
    // Scope the record by mount, or by the CSR when no mount is known (the offline machine), so a
    // second signing in the same environment never overwrites the first one's record.
    const csrSha256 = sha256Hex(await fsp.readFile(input.csrFile));
    const scope = input.mount ?? `csr-${csrSha256.slice(0, 12)}`;
    session.commit(
      completeStep(session.state, STEP_ID, scope, new Date(), [{ kind: 'intermediate-certificate', path: result.certFile, sha256: sha256Hex(pem), fingerprint: result.fingerprint }], {
        serial: result.serial,
        notAfter: result.notAfter,
        pathLen: input.pathLen,
        csrSha256,
      }),
    );
    appendTranscript(session.paths.transcript, 'intermediate-sign', {
      env: session.env,
      subject: plan.csr.subject,
      key: plan.csr.keyDescription,
      csrSha256,
      serial: result.serial,
      notAfter: result.notAfter,
      pathLen: input.pathLen,
      permittedDns: input.permittedDns ?? [],
      permittedIps: input.permittedIps ?? [],
      excludedDns: input.excludedDns ?? [],
      ...(input.crlUrl ? { crlUrl: input.crlUrl } : {}),
      intermediateSha256Fingerprint: result.fingerprint,
      rootSha256Fingerprint: fingerprint(root.cert),
      ...unlockFacts(unlock),
    });
  }
  return result;
}

export { samePublicKey };

import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { readCsr, caFacts, type CsrInfo } from '../pki/certs.js';
import { parseCertificates, fingerprint } from '../pki/pem.js';
import { certificateName, nameAttributes, sameName } from '../pki/subject-hash.js';
import { check, type Check } from '../pki/checks.js';
import { writeFileAtomic, planOutputDir, ensureOutputDir, sha256Hex, exists, readTextFile, fileSha256 } from '../system/files.js';
import { OperatorError, ExternalError } from '../errors.js';
import { beginStep, completeStep } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

/**
 * cross-sign-request (online) — a second CSR for the key the mount's intermediate already uses,
 * with the same subject, for a second root to sign (Vault's intermediate/cross-sign: key_ref =
 * that key; no new key is made).
 * plan reads: the mount, the issuer to twin (default: the default issuer), its key and subject,
 *   an existing CSR file (reused when it is for that key and subject).
 * apply writes: the CSR file (0644), the state's record (issuer, key, subject, pathlen, end date).
 */
export const STEP_ID = 'cross-sign-request';

export interface CrossSignRequestInput {
  mount: string;
  csrOut: string;
  /** The issuer to twin; default: the mount's default issuer. */
  issuerRef?: string | undefined;
}

export interface Original {
  issuerId: string;
  keyId: string;
  cert: X509Certificate;
  subject: string;
  pathLen: number | undefined;
  permittedDns: string[];
  permittedIps: string[];
  excludedDns: string[];
}

const FIELD_BY_OID: Record<string, keyof pki.SubjectFields> = {
  '2.5.4.3': 'common_name',
  '2.5.4.10': 'organization',
  '2.5.4.11': 'ou',
  '2.5.4.6': 'country',
  '2.5.4.7': 'locality',
  '2.5.4.8': 'province',
  '2.5.4.9': 'street_address',
  '2.5.4.17': 'postal_code',
  '2.5.4.5': 'serial_number',
};

/** Vault infers nothing for cross-signing: repeat the subject field by field. */
export function subjectFieldsOf(cert: X509Certificate): pki.SubjectFields {
  const attributes = nameAttributes(certificateName(cert));
  const fields: Record<string, string | string[]> = {};
  for (const a of attributes) {
    const field = FIELD_BY_OID[a.oid];
    if (!field) {
      throw new OperatorError(`The intermediate's subject carries an attribute Vault cannot repeat in a CSR (OID ${a.oid}).`, 'Cross-sign it by hand, or issue a new intermediate whose subject uses only CN, O, OU, C, L, ST, street, postal code and serial number.');
    }
    if (field === 'common_name' || field === 'serial_number') {
      if (fields[field] !== undefined) throw new OperatorError(`The intermediate's subject has more than one ${field}.`, 'Vault cannot repeat that subject; cross-sign it by hand.');
      fields[field] = a.value;
    } else {
      fields[field] = [...((fields[field] as string[] | undefined) ?? []), a.value];
    }
  }
  if (typeof fields.common_name !== 'string') throw new OperatorError('The intermediate has no common name.', 'Vault requires one for a CSR; cross-sign it by hand.');
  return fields as unknown as pki.SubjectFields;
}

/** The issuer to twin: its certificate, key and profile. */
export async function readOriginal(vault: VaultClient, mount: string, issuerRef?: string): Promise<Original> {
  const info = await pki.readMount(vault, mount);
  if (!info || info.type !== 'pki') {
    throw new OperatorError(`There is no PKI mount at ${mount}/ in ${vault.addr}.`, 'Install the intermediate first: certwright intermediate --env ENV --mount PATH ...');
  }
  const ref = issuerRef ?? (await pki.readDefaultIssuer(vault, mount));
  if (!ref) throw new OperatorError(`${mount}/ has no default issuer to cross-sign.`, 'Install the intermediate first (certwright intermediate install).');
  const issuer = await pki.readIssuerDetail(vault, mount, ref);
  if (!issuer) throw new OperatorError(`${mount}/ has no issuer "${ref}".`, 'Pass an issuer id or name the mount lists (bao list MOUNT/issuers).');
  if (!issuer.keyId) throw new OperatorError(`The issuer ${issuer.issuerId} in ${mount}/ has no key in the mount, so Vault cannot make a CSR for it.`, 'Cross-sign the issuer that holds the intermediate key (the default issuer).');
  const cert = parseCertificates(issuer.certificate, `${mount} issuer ${issuer.issuerId}`)[0]!;
  const facts = caFacts(cert);
  if (!facts.isCa) throw new OperatorError(`The issuer ${issuer.issuerId} in ${mount}/ is not a CA certificate.`, 'Pass the intermediate issuer.');
  if (facts.otherConstraints) throw new OperatorError(`The issuer ${issuer.issuerId} in ${mount}/ carries name constraints certwright cannot repeat (only permitted DNS and IP and excluded DNS).`, 'Cross-sign it by hand, so the twin carries the same constraints.');
  return { issuerId: issuer.issuerId, keyId: issuer.keyId, cert, subject: cert.subject.replace(/\n/g, ', '), pathLen: facts.pathLen, permittedDns: facts.nameConstraints, permittedIps: facts.permittedIps, excludedDns: facts.excludedDns };
}

/** A CSR is usable for the twin when it carries the original's key and, to OpenSSL, its subject. */
export function csrMatches(csr: CsrInfo, original: Original): { key: boolean; subject: boolean } {
  const key = csr.spkiDer.equals(original.cert.publicKey.export({ type: 'spki', format: 'der' }));
  const subject = sameName(Buffer.from(csr.csr.subjectName.toArrayBuffer()), certificateName(original.cert));
  return { key, subject };
}

export async function planCrossSignRequest(vault: VaultClient, input: CrossSignRequestInput): Promise<Plan & { original: Original; reuse: boolean }> {
  const createDir = await planOutputDir(path.dirname(path.resolve(input.csrOut)), '--csr-out directory');
  await vault.assertReady();
  const original = await readOriginal(vault, input.mount, input.issuerRef);
  const fields = subjectFieldsOf(original.cert);
  const plan = { ...emptyPlan(), original, reuse: false };
  plan.facts.push(
    ['Vault', vault.addr],
    ['Mount', input.mount],
    ['Intermediate', `${original.subject} (issuer ${original.issuerId})`],
    ['Key', `${original.keyId} (reused, no new key)`],
    ['Signed now by', original.cert.issuer.replace(/\n/g, ', ')],
    ['Path length', original.pathLen === undefined ? 'unlimited' : String(original.pathLen)],
    ['Valid until', new Date(original.cert.validTo).toISOString()],
  );
  if (await exists(input.csrOut)) {
    const csr = await readCsr(await readTextFile(input.csrOut, '--csr-out'), input.csrOut);
    const m = csrMatches(csr, original);
    if (m.key && m.subject) {
      plan.reuse = true;
      plan.facts.push(['CSR', `${input.csrOut} (already for this key and subject)`]);
      return plan;
    }
    throw new OperatorError(`${input.csrOut} already exists and is not a cross-sign CSR for this intermediate.`, 'Move it away or choose another --csr-out.');
  }
  if (createDir) plan.actions.push(createDir);
  plan.actions.push(`Make a CSR in ${input.mount}/ for key ${original.keyId} with subject ${original.subject} (${Object.keys(fields).join(', ')}) and write it to ${input.csrOut}`);
  return plan;
}

export interface CrossSignRequestResult {
  csrFile: string;
  csrSha256: string;
  issuerId: string;
  keyId: string;
  subject: string;
  pathLen: number | undefined;
  /** The intermediate's name constraints, for the signer's flags: the twin must repeat them. */
  permittedDns: string[];
  permittedIps: string[];
  excludedDns: string[];
  notAfter: string;
  reused: boolean;
}

export async function applyCrossSignRequest(session: EnvSession, vault: VaultClient, input: CrossSignRequestInput, report: Reporter): Promise<CrossSignRequestResult> {
  const plan = await planCrossSignRequest(vault, input);
  const { original } = plan;
  const csrFile = path.resolve(input.csrOut);
  await ensureOutputDir(path.dirname(csrFile));
  let pem: string;
  if (plan.reuse) {
    pem = await readTextFile(csrFile, '--csr-out');
    report.info(`${input.csrOut} is already this intermediate's cross-sign CSR; reusing it.`);
  } else {
    session.commit(beginStep(session.state, STEP_ID, input.mount, new Date(), { issuerId: original.issuerId, keyId: original.keyId }));
    report.progress(`Asking ${input.mount}/ for a CSR of key ${original.keyId}`);
    const { csr, keyId } = await pki.crossSignCsr(vault, input.mount, original.keyId, subjectFieldsOf(original.cert));
    if (keyId && keyId !== original.keyId) throw new ExternalError(`Vault made the CSR for key ${keyId}, not ${original.keyId}.`, 'Do not sign it; report this.');
    const info = await readCsr(csr, 'the CSR from Vault');
    const m = csrMatches(info, original);
    if (!m.key) throw new ExternalError(`The CSR from ${input.mount}/intermediate/cross-sign is not for the intermediate's key.`, 'Do not sign it; check key_ref.');
    if (!m.subject) {
      throw new OperatorError(
        `Vault wrote the subject as ${info.subject}, which OpenSSL does not see as ${original.subject} (attribute order or values differ), so the twin would not chain.`,
        'Cross-sign it by hand with a CSR whose subject is byte-for-byte the intermediate\'s.',
      );
    }
    pem = csr;
    await writeFileAtomic(csrFile, pem, { mode: 0o644 });
    report.done(`Cross-sign CSR written to ${input.csrOut} (same key and subject as ${original.subject})`);
  }
  const csrSha256 = sha256Hex(pem);
  const notAfter = new Date(original.cert.validTo).toISOString();
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, new Date(), [{ kind: 'cross-sign-csr', path: csrFile, sha256: csrSha256 }], {
      issuerId: original.issuerId,
      keyId: original.keyId,
      subject: original.subject,
      intermediateFingerprint: fingerprint(original.cert),
      ...(original.pathLen === undefined ? {} : { pathLen: original.pathLen }),
      notAfter,
      csrSha256,
    }),
  );
  return { csrFile, csrSha256, issuerId: original.issuerId, keyId: original.keyId, subject: original.subject, pathLen: original.pathLen, permittedDns: original.permittedDns, permittedIps: original.permittedIps, excludedDns: original.excludedDns, notAfter, reused: plan.reuse };
}

/** Re-checks a completed request: the key still exists, the CSR file is unchanged. */
export async function verifyCrossSignRequest(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const record = session.state.steps[stepKey(STEP_ID, mount)];
  if (!record) return [check('cross-sign request recorded', false, `no cross-sign-request step for ${mount}`)];
  const keyId = String(record.facts.keyId ?? '');
  const key = keyId ? await pki.readKey(vault, mount, keyId) : undefined;
  const checks = [check('intermediate key exists in Vault', key !== undefined, `${mount}/key/${keyId}`)];
  for (const a of record.artefacts) {
    if (!(await exists(a.path))) continue;
    const sha = await fileSha256(a.path);
    checks.push(check('cross-sign CSR unchanged', sha === a.sha256, a.path));
  }
  return checks;
}

import 'reflect-metadata';
import crypto, { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { parseCertificates, vaultSerial } from '../pki/pem.js';
import { issuedBy, subjectLine } from '../pki/chain.js';
import { OperatorError, UsageError, ExternalError } from '../errors.js';
import type { Plan, Reporter } from './context.js';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

/**
 * revoke (online) — a certificate (a build certificate, or a build-server intermediate signed by
 * this mount) or an issuer of this mount, by serial.
 * plan reads: MOUNT/cert/SERIAL (stored certificates), else the mount's issuers; whether it is
 *   already revoked.
 * apply writes: the revocation (MOUNT/revoke, or MOUNT/issuer/REF/revoke for an issuer of the
 *   mount), which rotates the CRL; then reads the CRL of the issuer that signed it and checks the
 *   serial is listed. Revoking again changes nothing.
 */
export const STEP_ID = 'revoke';

export function normaliseSerial(input: string): string {
  const hex = input.trim().toLowerCase().replace(/^0x/, '').replace(/[:\-\s]/g, '');
  if (!/^[0-9a-f]{1,40}$/.test(hex)) {
    throw new UsageError(`--serial "${input}" is not a certificate serial.`, 'Pass the serial as hex, with or without colons (build-cert prints it; openssl x509 -noout -serial shows it too).');
  }
  return vaultSerial(hex.replace(/^0+(?=..)/, ''));
}

interface Target {
  serial: string;
  cert: X509Certificate;
  kind: 'certificate' | 'issuer';
  issuerId?: string | undefined;
  alreadyRevoked: boolean;
  /** The issuer in this mount that signed it, if any (whose CRL lists it). */
  signerId?: string | undefined;
}

async function issuersOf(vault: VaultClient, mount: string): Promise<Array<{ id: string; cert: X509Certificate; revoked: boolean }>> {
  const out: Array<{ id: string; cert: X509Certificate; revoked: boolean }> = [];
  for (const id of await pki.listIssuers(vault, mount)) {
    const detail = await pki.readIssuerDetail(vault, mount, id);
    if (detail) out.push({ id, cert: parseCertificates(detail.certificate, `${mount} issuer ${id}`)[0]!, revoked: detail.revoked });
  }
  return out;
}

async function locate(vault: VaultClient, mount: string, serial: string): Promise<Target> {
  const issuers = await issuersOf(vault, mount);
  const signerOf = (cert: X509Certificate) => issuers.find((i) => i.cert.fingerprint256 !== cert.fingerprint256 && issuedBy(cert, i.cert))?.id;
  const stored = await pki.readCertificateBySerial(vault, mount, serial);
  if (stored) {
    const cert = parseCertificates(stored.certificate, `${mount}/cert/${serial}`)[0]!;
    const asIssuer = issuers.find((i) => i.cert.fingerprint256 === cert.fingerprint256);
    if (asIssuer) return { serial, cert, kind: 'issuer', issuerId: asIssuer.id, alreadyRevoked: asIssuer.revoked || stored.revocationTime > 0, signerId: signerOf(cert) };
    return { serial, cert, kind: 'certificate', alreadyRevoked: stored.revocationTime > 0, signerId: signerOf(cert) };
  }
  const issuer = issuers.find((i) => vaultSerial(i.cert.serialNumber) === serial);
  if (issuer) return { serial, cert: issuer.cert, kind: 'issuer', issuerId: issuer.id, alreadyRevoked: issuer.revoked, signerId: signerOf(issuer.cert) };
  throw new OperatorError(
    `${mount}/ in ${vault.addr} holds no certificate or issuer with serial ${serial}.`,
    'Pass the mount that issued it: a build certificate lives in the build mount; a build-server intermediate is revoked in the mount that signed it. Certificates of no_store roles and intermediates signed by an offline root cannot be revoked here.',
  );
}

export async function planRevoke(vault: VaultClient, mount: string, serialInput: string): Promise<Plan & { target: Target }> {
  const serial = normaliseSerial(serialInput);
  await vault.assertReady();
  // A token that may not read the mount table still revokes; only a mount known to be absent is named.
  const info = await pki.readMount(vault, mount).catch(() => 'unreadable' as const);
  if (info !== 'unreadable' && (!info || info.type !== 'pki')) throw new OperatorError(`There is no PKI mount at ${mount}/ in ${vault.addr}.`, 'Pass --mount with the PKI mount that issued the certificate (certwright state show --env E lists the mounts).');
  const target = await locate(vault, mount, serial);
  const plan = { actions: [] as string[], facts: [] as Array<[string, string]>, warnings: [] as string[], target };
  plan.facts.push(['Vault', vault.addr], ['Mount', mount], ['Serial', serial], ['Subject', subjectLine(target.cert)], ['Issued by', target.cert.issuer.replace(/\n/g, ', ')], ['Kind', target.cert.ca ? `CA certificate (${target.kind === 'issuer' ? 'an issuer of this mount' : 'signed by this mount'})` : 'end-entity certificate']);
  if (target.alreadyRevoked) return plan;
  if (target.kind === 'issuer') {
    plan.actions.push(`Revoke the issuer ${target.issuerId} of ${mount}/ (it can no longer issue)`);
    if (!target.signerId) plan.warnings.push(`It was signed outside ${mount}/ (by ${target.cert.issuer.replace(/\n/g, ', ')}): relying parties see the revocation only in that CA's CRL; revoke it there too.`);
  } else {
    plan.actions.push(`Revoke certificate ${serial} and rotate the CRL`);
  }
  return plan;
}

export interface RevokeResult {
  serial: string;
  subject: string;
  kind: 'certificate' | 'issuer';
  alreadyRevoked: boolean;
  inCrl: boolean;
  crlIssuer?: string | undefined;
  crlThisUpdate?: string | undefined;
}

/** The serials listed in a PEM CRL. */
export function crlSerials(pem: string): { serials: string[]; issuer: string; thisUpdate: Date } {
  const crl = new x509.X509Crl(pem);
  return { serials: crl.entries.map((e) => vaultSerial(e.serialNumber)), issuer: crl.issuer, thisUpdate: crl.thisUpdate };
}

export async function applyRevoke(vault: VaultClient, mount: string, serialInput: string, report: Reporter): Promise<RevokeResult> {
  const plan = await planRevoke(vault, mount, serialInput);
  const { target } = plan;
  if (target.alreadyRevoked) report.info(`${target.serial} was already revoked.`);
  else if (target.kind === 'issuer') {
    await pki.revokeIssuer(vault, mount, target.issuerId!);
    report.done(`Issuer ${target.issuerId} (${subjectLine(target.cert)}) revoked`);
  } else {
    await pki.revokeSerial(vault, mount, target.serial);
    report.done(`Certificate ${target.serial} (${subjectLine(target.cert)}) revoked`);
  }
  for (const w of plan.warnings) report.warn(w);
  const result: RevokeResult = { serial: target.serial, subject: subjectLine(target.cert), kind: target.kind, alreadyRevoked: target.alreadyRevoked, inCrl: false };
  if (!target.signerId) return result;
  let pem = await pki.readIssuerCrlPem(vault, mount, target.signerId);
  // With auto_rebuild on (every mount certwright creates), a revocation waits for the next
  // scheduled rebuild: rebuild it now, so the CRL clients fetch lists the serial at once.
  if (pem.includes('BEGIN X509 CRL') && !crlSerials(pem).serials.includes(target.serial)) {
    await pki.rotateCrl(vault, mount);
    pem = await pki.readIssuerCrlPem(vault, mount, target.signerId);
  }
  if (!pem.includes('BEGIN X509 CRL')) throw new ExternalError(`${mount}/issuer/${target.signerId}/crl/pem returned no CRL.`, `Check the CRL configuration of ${mount}/ (config/crl disable must be false).`);
  const crl = crlSerials(pem);
  result.inCrl = crl.serials.includes(target.serial);
  result.crlIssuer = crl.issuer;
  result.crlThisUpdate = crl.thisUpdate.toISOString();
  if (!result.inCrl) throw new ExternalError(`${target.serial} is revoked but not listed in the CRL of ${mount}/issuer/${target.signerId} (this update ${result.crlThisUpdate}).`, `Rebuild the CRL (bao write ${mount}/crl/rotate) and run the command again.`);
  report.done(`Serial ${target.serial} is listed in the CRL of ${crl.issuer} (${mount}/issuer/${target.signerId}/crl)`);
  return result;
}

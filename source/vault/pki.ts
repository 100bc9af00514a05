import type { VaultClient } from './client.js';
import { ExternalError } from '../errors.js';

/** The PKI engine in our vocabulary: the handful of calls the steps need. */

export interface MountInfo {
  type: string;
  maxLeaseTtlSeconds: number;
}

export async function readMount(vault: VaultClient, mount: string): Promise<MountInfo | undefined> {
  const res = await vault.read<Record<string, unknown>>(`sys/mounts/${mount}/tune`, { accept: [400, 404] });
  if (res.status !== 200) return undefined;
  const data = (res.json?.data ?? res.json) as { max_lease_ttl?: number };
  const mounts = await vault.read<Record<string, { type: string }>>('sys/mounts');
  const all = (mounts.json?.data ?? mounts.json) as Record<string, { type?: string }>;
  const entry = all[`${mount}/`];
  if (!entry) return undefined;
  return { type: entry.type ?? 'unknown', maxLeaseTtlSeconds: Number(data.max_lease_ttl ?? 0) };
}

export async function enablePkiMount(vault: VaultClient, mount: string, maxTtlSeconds: number): Promise<void> {
  await vault.write(`sys/mounts/${mount}`, { type: 'pki', description: 'certwright PKI', config: { max_lease_ttl: `${maxTtlSeconds}s` } });
}

export async function tuneMaxTtl(vault: VaultClient, mount: string, maxTtlSeconds: number): Promise<void> {
  await vault.write(`sys/mounts/${mount}/tune`, { max_lease_ttl: `${maxTtlSeconds}s` });
}

export interface PkiKey {
  keyId: string;
  keyName: string;
  keyType: string;
  subjectKeyId?: string;
}

export async function readKey(vault: VaultClient, mount: string, ref: string): Promise<PkiKey | undefined> {
  const res = await vault.read<{ key_id: string; key_name: string; key_type: string; subject_key_id?: string }>(`${mount}/key/${encodeURIComponent(ref)}`, { accept: [400, 404, 500] });
  if (res.status !== 200 || !res.json?.data) return undefined;
  const d = res.json.data;
  return { keyId: d.key_id, keyName: d.key_name, keyType: d.key_type, ...(d.subject_key_id ? { subjectKeyId: d.subject_key_id } : {}) };
}

export async function listKeys(vault: VaultClient, mount: string): Promise<string[]> {
  const res = await vault.list(`${mount}/keys`);
  return res.status === 200 ? ((res.json?.data as { keys?: string[] })?.keys ?? []) : [];
}

export interface IssuerInfo {
  issuerId: string;
  issuerName: string;
  keyId: string;
  certificate: string;
  caChain: string[];
}

export async function listIssuers(vault: VaultClient, mount: string): Promise<string[]> {
  const res = await vault.list(`${mount}/issuers`);
  return res.status === 200 ? ((res.json?.data as { keys?: string[] })?.keys ?? []) : [];
}

export async function readIssuer(vault: VaultClient, mount: string, ref: string): Promise<IssuerInfo | undefined> {
  const res = await vault.read<{ issuer_id: string; issuer_name: string; key_id: string; certificate: string; ca_chain: string[] }>(`${mount}/issuer/${encodeURIComponent(ref)}`, { accept: [400, 404, 500] });
  if (res.status !== 200 || !res.json?.data) return undefined;
  const d = res.json.data;
  return { issuerId: d.issuer_id, issuerName: d.issuer_name, keyId: d.key_id ?? '', certificate: d.certificate, caChain: d.ca_chain ?? [] };
}

export async function readDefaultIssuer(vault: VaultClient, mount: string): Promise<string | undefined> {
  const res = await vault.read<{ default: string }>(`${mount}/config/issuers`, { accept: [400, 404] });
  const id = res.json?.data?.default;
  return id ? id : undefined;
}

export async function setDefaultIssuer(vault: VaultClient, mount: string, issuerId: string): Promise<void> {
  await vault.write(`${mount}/config/issuers`, { default: issuerId });
}

/** Generates a CSR inside Vault. With an existing key ref no new key is made. */
export async function generateIntermediateCsr(
  vault: VaultClient,
  mount: string,
  params: { commonName: string; keyType: 'ec' | 'rsa'; keyBits: number; keyName: string } | { commonName: string; keyRef: string },
): Promise<{ csr: string; keyId: string }> {
  const body =
    'keyRef' in params
      ? { common_name: params.commonName, key_ref: params.keyRef }
      : { common_name: params.commonName, key_type: params.keyType, key_bits: params.keyBits, key_name: params.keyName };
  const type = 'keyRef' in params ? 'existing' : 'internal';
  const res = await vault.write<{ csr: string; key_id: string }>(`${mount}/intermediate/generate/${type}`, body);
  const data = res.json?.data;
  if (!data?.csr) throw new ExternalError(`Vault returned no CSR from ${mount}/intermediate/generate/${type}.`);
  return { csr: data.csr.endsWith('\n') ? data.csr : `${data.csr}\n`, keyId: data.key_id };
}

export async function setSigned(vault: VaultClient, mount: string, bundle: string): Promise<{ imported: string[]; mapping: Record<string, string> }> {
  const res = await vault.write<{ imported_issuers: string[] | null; mapping: Record<string, string> | null }>(`${mount}/intermediate/set-signed`, { certificate: bundle });
  return { imported: res.json?.data?.imported_issuers ?? [], mapping: res.json?.data?.mapping ?? {} };
}

export interface UrlConfig {
  issuingCertificates: string[];
  crlDistributionPoints: string[];
}

export async function readUrls(vault: VaultClient, mount: string): Promise<UrlConfig> {
  const res = await vault.read<{ issuing_certificates: string[]; crl_distribution_points: string[] }>(`${mount}/config/urls`);
  return { issuingCertificates: res.json?.data?.issuing_certificates ?? [], crlDistributionPoints: res.json?.data?.crl_distribution_points ?? [] };
}

export async function writeUrls(vault: VaultClient, mount: string, urls: UrlConfig): Promise<void> {
  await vault.write(`${mount}/config/urls`, { issuing_certificates: urls.issuingCertificates, crl_distribution_points: urls.crlDistributionPoints });
}

export function aiaUrls(base: string, mount: string): UrlConfig {
  const b = base.replace(/\/+$/, '');
  return { issuingCertificates: [`${b}/v1/${mount}/ca`], crlDistributionPoints: [`${b}/v1/${mount}/crl`] };
}

/** The full CA chain the mount hands out (default issuer first), as PEM. */
export async function readCaChainPem(vault: VaultClient, mount: string): Promise<string> {
  const res = await vault.read(`${mount}/ca_chain`, { anonymous: true, accept: [204] });
  return res.text;
}

// ---------------------------------------------------------------------------------------------
// Roles, issuing, cross-signing and revocation (build certificates, issue #6).

/** A PKI role as Vault returns it (the fields certwright reads). */
export interface PkiRole {
  allowed_domains?: string[];
  allow_bare_domains?: boolean;
  allow_subdomains?: boolean;
  allow_glob_domains?: boolean;
  allow_any_name?: boolean;
  allow_localhost?: boolean;
  allow_ip_sans?: boolean;
  allow_wildcard_certificates?: boolean;
  enforce_hostnames?: boolean;
  server_flag?: boolean;
  client_flag?: boolean;
  key_type?: string;
  key_bits?: number;
  key_usage?: string[];
  ext_key_usage?: string[];
  ttl?: number;
  max_ttl?: number;
  no_store?: boolean;
  require_cn?: boolean;
  issuer_ref?: string;
  allowed_uri_sans?: string[];
  allowed_other_sans?: string[];
  [field: string]: unknown;
}

/** Reads a role; undefined when it does not exist. A 403 is thrown (the caller decides). */
export async function readRole(vault: VaultClient, mount: string, role: string): Promise<PkiRole | undefined> {
  const res = await vault.read<PkiRole>(`${mount}/roles/${encodeURIComponent(role)}`, { accept: [404] });
  if (res.status === 404 || !res.json?.data) return undefined;
  return res.json.data;
}

/** POST overwrites the whole role: every field not sent falls back to Vault's default. Returns Vault's warnings. */
export async function writeRole(vault: VaultClient, mount: string, role: string, body: Record<string, unknown>): Promise<string[]> {
  const res = await vault.write(`${mount}/roles/${encodeURIComponent(role)}`, body);
  return res.json?.warnings ?? [];
}

/** A role as plain fields (what vault-cert compares). */
export type RoleData = Record<string, unknown>;

export interface IssuedCertificate {
  certificate: string;
  issuingCa: string;
  caChain: string[];
  privateKey: string;
  privateKeyType: string;
  serialNumber: string;
  expiration: number;
  warnings: string[];
}

/** One round trip: Vault makes the key and the certificate. The key is never stored by Vault. */
export async function issueCertificate(vault: VaultClient, mount: string, role: string, body: Record<string, unknown>): Promise<IssuedCertificate> {
  const res = await vault.write<{ certificate: string; issuing_ca: string; ca_chain?: string[]; private_key: string; private_key_type: string; serial_number: string; expiration: number }>(
    `${mount}/issue/${encodeURIComponent(role)}`,
    body,
  );
  const d = res.json?.data;
  if (!d?.certificate || !d.private_key) throw new ExternalError(`Vault returned no certificate from ${mount}/issue/${role}.`);
  return {
    certificate: d.certificate,
    issuingCa: d.issuing_ca,
    caChain: d.ca_chain ?? [],
    privateKey: d.private_key,
    privateKeyType: d.private_key_type,
    serialNumber: d.serial_number,
    expiration: Number(d.expiration),
    warnings: res.json?.warnings ?? [],
  };
}

/** The subject fields Vault's CSR generators accept (besides common_name). */
export interface SubjectFields {
  common_name: string;
  organization?: string[];
  ou?: string[];
  country?: string[];
  locality?: string[];
  province?: string[];
  street_address?: string[];
  postal_code?: string[];
  serial_number?: string;
}

/**
 * intermediate/cross-sign: a CSR for an existing key (no new key is made). Nothing is inferred
 * from the existing issuer, so the caller repeats its subject exactly.
 */
export async function crossSignCsr(vault: VaultClient, mount: string, keyRef: string, subject: SubjectFields): Promise<{ csr: string; keyId: string }> {
  const res = await vault.write<{ csr: string; key_id: string }>(`${mount}/intermediate/cross-sign`, { ...subject, key_ref: keyRef, exclude_cn_from_sans: true });
  const data = res.json?.data;
  if (!data?.csr) throw new ExternalError(`Vault returned no CSR from ${mount}/intermediate/cross-sign.`);
  return { csr: data.csr.endsWith('\n') ? data.csr : `${data.csr}\n`, keyId: data.key_id };
}

/** issuers/import/cert: certificates only, never keys; does not move the default issuer by itself. */
export async function importIssuerCertificates(vault: VaultClient, mount: string, pemBundle: string): Promise<{ imported: string[]; mapping: Record<string, string> }> {
  const res = await vault.write<{ imported_issuers: string[] | null; mapping: Record<string, string> | null }>(`${mount}/issuers/import/cert`, { pem_bundle: pemBundle });
  return { imported: res.json?.data?.imported_issuers ?? [], mapping: res.json?.data?.mapping ?? {} };
}

export interface IssuerDetail extends IssuerInfo {
  manualChain: string[];
  revoked: boolean;
}

export async function readIssuerDetail(vault: VaultClient, mount: string, ref: string): Promise<IssuerDetail | undefined> {
  const res = await vault.read<{ issuer_id: string; issuer_name: string; key_id: string; certificate: string; ca_chain: string[]; manual_chain: string[] | null; revoked?: boolean }>(
    `${mount}/issuer/${encodeURIComponent(ref)}`,
    { accept: [400, 404, 500] },
  );
  if (res.status !== 200 || !res.json?.data) return undefined;
  const d = res.json.data;
  return { issuerId: d.issuer_id, issuerName: d.issuer_name, keyId: d.key_id ?? '', certificate: d.certificate, caChain: d.ca_chain ?? [], manualChain: d.manual_chain ?? [], revoked: d.revoked === true };
}

/** The unauthenticated JSON view of an issuer: certificate and chain (honours manual_chain). */
export async function readIssuerPublic(vault: VaultClient, mount: string, ref: string): Promise<{ certificate: string; caChain: string[] } | undefined> {
  const res = await vault.read<{ certificate: string; ca_chain: string[] }>(`${mount}/issuer/${encodeURIComponent(ref)}/json`, { anonymous: true, accept: [400, 404, 500] });
  if (res.status !== 200 || !res.json?.data?.certificate) return undefined;
  return { certificate: res.json.data.certificate, caChain: res.json.data.ca_chain ?? [] };
}

/** PATCH an issuer (merge-patch): e.g. manual_chain, issuer_name. */
export async function patchIssuer(vault: VaultClient, mount: string, ref: string, fields: Record<string, unknown>): Promise<void> {
  await vault.patch(`${mount}/issuer/${encodeURIComponent(ref)}`, fields);
}

/** GET cert/:serial (unauthenticated). Undefined when the mount holds no such certificate. */
export async function readCertificateBySerial(vault: VaultClient, mount: string, serial: string): Promise<{ certificate: string; revocationTime: number } | undefined> {
  const res = await vault.read<{ certificate: string; revocation_time: number }>(`${mount}/cert/${encodeURIComponent(serial)}`, { anonymous: true, accept: [400, 404, 500] });
  if (res.status !== 200 || !res.json?.data?.certificate) return undefined;
  return { certificate: res.json.data.certificate, revocationTime: Number(res.json.data.revocation_time ?? 0) };
}

export async function revokeSerial(vault: VaultClient, mount: string, serial: string): Promise<{ revocationTime: number; warnings: string[] }> {
  const res = await vault.write<{ revocation_time: number }>(`${mount}/revoke`, { serial_number: serial });
  return { revocationTime: Number(res.json?.data?.revocation_time ?? 0), warnings: res.json?.warnings ?? [] };
}

export async function revokeIssuer(vault: VaultClient, mount: string, issuerRef: string): Promise<void> {
  await vault.write(`${mount}/issuer/${encodeURIComponent(issuerRef)}/revoke`, {});
}

/** The CRL of one issuer as PEM (unauthenticated); '' when Vault has none. */
export async function readIssuerCrlPem(vault: VaultClient, mount: string, issuerRef: string): Promise<string> {
  const res = await vault.read(`${mount}/issuer/${encodeURIComponent(issuerRef)}/crl/pem`, { anonymous: true, accept: [204, 404] });
  return res.status === 200 ? res.text : '';
}

/** Rebuilds the mount's CRLs now (needed after a revocation when auto_rebuild is on). */
export async function rotateCrl(vault: VaultClient, mount: string): Promise<void> {
  await vault.read(`${mount}/crl/rotate`);
}

/** The mount's CRL (default issuer) as PEM. */
export async function readCrlPem(vault: VaultClient, mount: string): Promise<string> {
  const res = await vault.read(`${mount}/crl/pem`, { anonymous: true, accept: [204, 404] });
  return res.status === 200 ? res.text : '';
}

/** sys/seal-status (unauthenticated). */
export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  version: string;
}

export async function sealStatus(vault: VaultClient): Promise<SealStatus> {
  const res = await vault.read<never>('sys/seal-status', { anonymous: true });
  return res.json as unknown as SealStatus;
}

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

/** A PKI role's settings, as read back (only the fields certwright manages are compared). */
export async function readRole(vault: VaultClient, mount: string, role: string): Promise<Record<string, unknown> | undefined> {
  const res = await vault.read<Record<string, unknown>>(`${mount}/roles/${encodeURIComponent(role)}`, { accept: [404] });
  if (res.status === 404) return undefined;
  return res.json?.data ?? undefined;
}

/** POST overwrites the whole role: every field not sent goes back to its default. */
export async function writeRole(vault: VaultClient, mount: string, role: string, settings: Record<string, unknown>): Promise<void> {
  await vault.write(`${mount}/roles/${encodeURIComponent(role)}`, settings);
}

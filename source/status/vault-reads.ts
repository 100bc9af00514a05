import type { VaultClient } from '../vault/client.js';

/**
 * The read-only Vault calls of status and doctor, each returning data or the reason it could not
 * (no token, permission denied, not found) — a missing permission makes one field unknown, not
 * the whole section. Issuer listing and issuer certificates are unauthenticated endpoints, so the
 * PKI section works even without a token.
 */

export type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

function fail(error: unknown): { ok: false; reason: string } {
  return { ok: false, reason: (error as Error).message };
}

function dataOf<T>(json: unknown): T | undefined {
  const j = json as { data?: T } | undefined;
  return j?.data;
}

export interface IssuerListing {
  id: string;
  name: string;
  keyId: string;
  isDefault: boolean;
}

export async function listIssuers(vault: VaultClient, mount: string): Promise<Read<IssuerListing[]>> {
  try {
    const res = await vault.request('LIST', `${mount}/issuers`, { anonymous: true, accept: [404] });
    if (res.status === 404) return { ok: true, value: [] };
    const d = dataOf<{ keys?: string[]; key_info?: Record<string, { issuer_name?: string; key_id?: string; is_default?: boolean }> }>(res.json);
    return {
      ok: true,
      value: (d?.keys ?? []).map((id) => ({ id, name: d?.key_info?.[id]?.issuer_name ?? '', keyId: d?.key_info?.[id]?.key_id ?? '', isDefault: Boolean(d?.key_info?.[id]?.is_default) })),
    };
  } catch (error) {
    return fail(error);
  }
}

export async function issuerCertificate(vault: VaultClient, mount: string, id: string): Promise<Read<string>> {
  try {
    const res = await vault.read(`${mount}/issuer/${encodeURIComponent(id)}/json`, { anonymous: true });
    const d = dataOf<{ certificate?: string }>(res.json);
    return d?.certificate ? { ok: true, value: d.certificate } : { ok: false, reason: `${mount}/issuer/${id}/json returned no certificate` };
  } catch (error) {
    return fail(error);
  }
}

export async function listKeys(vault: VaultClient, mount: string): Promise<Read<string[]>> {
  try {
    const res = await vault.list(`${mount}/keys`);
    return { ok: true, value: res.status === 404 ? [] : (dataOf<{ keys?: string[] }>(res.json)?.keys ?? []) };
  } catch (error) {
    return fail(error);
  }
}

export async function listRoles(vault: VaultClient, mount: string): Promise<Read<string[]>> {
  try {
    const res = await vault.list(`${mount}/roles`);
    return { ok: true, value: res.status === 404 ? [] : (dataOf<{ keys?: string[] }>(res.json)?.keys ?? []) };
  } catch (error) {
    return fail(error);
  }
}

export async function readRole(vault: VaultClient, mount: string, role: string): Promise<Read<Record<string, unknown>>> {
  try {
    const res = await vault.read(`${mount}/roles/${encodeURIComponent(role)}`);
    return { ok: true, value: dataOf<Record<string, unknown>>(res.json) ?? {} };
  } catch (error) {
    return fail(error);
  }
}

export async function readUrls(vault: VaultClient, mount: string): Promise<Read<{ issuingCertificates: string[]; crlDistributionPoints: string[] }>> {
  try {
    const res = await vault.read(`${mount}/config/urls`);
    const d = dataOf<{ issuing_certificates?: string[]; crl_distribution_points?: string[] }>(res.json);
    return { ok: true, value: { issuingCertificates: d?.issuing_certificates ?? [], crlDistributionPoints: d?.crl_distribution_points ?? [] } };
  } catch (error) {
    return fail(error);
  }
}

export async function mountMaxTtl(vault: VaultClient, mount: string): Promise<Read<number>> {
  try {
    const res = await vault.read(`sys/mounts/${mount}/tune`);
    const d = dataOf<{ max_lease_ttl?: number }>(res.json) ?? (res.json as { max_lease_ttl?: number } | undefined);
    return { ok: true, value: Number(d?.max_lease_ttl ?? 0) };
  } catch (error) {
    return fail(error);
  }
}

export interface TokenLookup {
  ttlSeconds: number;
  expireTime: string | null;
  renewable: boolean;
}

/** lookup-self with the token given; only the TTL facts are kept (the answer also holds the token id). */
export async function lookupSelf(vault: VaultClient): Promise<Read<TokenLookup>> {
  try {
    const res = await vault.read('auth/token/lookup-self');
    const d = dataOf<{ ttl?: number; expire_time?: string | null; renewable?: boolean }>(res.json);
    return { ok: true, value: { ttlSeconds: Number(d?.ttl ?? 0), expireTime: d?.expire_time ?? null, renewable: Boolean(d?.renewable) } };
  } catch (error) {
    return fail(error);
  }
}

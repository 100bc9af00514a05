import type { VaultClient } from './client.js';
import { ExternalError, OperatorError } from '../errors.js';

/** ACL policies and AppRole in our vocabulary: the one module for what agents, build-role and build-cert need. */

export async function readPolicy(vault: VaultClient, name: string): Promise<string | undefined> {
  const res = await vault.read<{ policy?: string }>(`sys/policies/acl/${encodeURIComponent(name)}`, { accept: [404] });
  if (res.status === 404) return undefined;
  return res.json?.data?.policy ?? (res.json as { policy?: string } | undefined)?.policy;
}

export async function writePolicy(vault: VaultClient, name: string, policy: string): Promise<void> {
  await vault.write(`sys/policies/acl/${encodeURIComponent(name)}`, { policy });
}

/** Auth mounts by path ("approle/" -> type). */
export async function listAuthMounts(vault: VaultClient): Promise<Record<string, string>> {
  const res = await vault.read<Record<string, { type: string }>>('sys/auth');
  const all = (res.json?.data ?? res.json ?? {}) as Record<string, { type?: string }>;
  const out: Record<string, string> = {};
  for (const [path, entry] of Object.entries(all)) if (entry && typeof entry === 'object' && typeof entry.type === 'string') out[path] = entry.type;
  return out;
}

export async function authMountType(vault: VaultClient, mount: string): Promise<string | undefined> {
  return (await listAuthMounts(vault))[`${mount}/`];
}

export async function enableAppRole(vault: VaultClient, mount: string): Promise<void> {
  await vault.write(`sys/auth/${mount}`, { type: 'approle', description: 'certwright (agents, build servers)' });
}

export interface AppRoleSettings {
  token_policies: string[];
  token_period: number;
  token_ttl: number;
  token_max_ttl: number;
  token_explicit_max_ttl: number;
  token_no_default_policy: boolean;
  token_bound_cidrs: string[];
  secret_id_bound_cidrs: string[];
  bind_secret_id: boolean;
  secret_id_num_uses: number;
  secret_id_ttl: number;
  token_type: string;
}

export async function readAppRole(vault: VaultClient, mount: string, role: string): Promise<Partial<AppRoleSettings> | undefined> {
  const res = await vault.read<Partial<AppRoleSettings>>(`auth/${mount}/role/${encodeURIComponent(role)}`, { accept: [404] });
  if (res.status === 404) return undefined;
  return res.json?.data ?? undefined;
}

export async function writeAppRole(vault: VaultClient, mount: string, role: string, settings: Partial<AppRoleSettings> | Record<string, unknown>): Promise<void> {
  await vault.write(`auth/${mount}/role/${encodeURIComponent(role)}`, settings);
}

export async function readRoleId(vault: VaultClient, mount: string, role: string): Promise<string> {
  const res = await vault.read<{ role_id: string }>(`auth/${mount}/role/${encodeURIComponent(role)}/role-id`);
  const id = res.json?.data?.role_id;
  if (!id) throw new ExternalError(`Vault returned no role_id for AppRole ${role}.`);
  return id;
}

export async function listSecretIdAccessors(vault: VaultClient, mount: string, role: string): Promise<string[]> {
  const res = await vault.list(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id`);
  return res.status === 200 ? ((res.json?.data as { keys?: string[] } | undefined)?.keys ?? []) : [];
}

export async function destroySecretIdAccessor(vault: VaultClient, mount: string, role: string, accessor: string): Promise<void> {
  await vault.write(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id-accessor/destroy`, { secret_id_accessor: accessor });
}

/** The metadata a secret_id was created with, by its accessor (undefined when it is gone). */
export async function secretIdMetadata(vault: VaultClient, mount: string, role: string, accessor: string): Promise<Record<string, string> | undefined> {
  const res = await vault.write<{ metadata?: Record<string, string> }>(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id-accessor/lookup`, { secret_id_accessor: accessor }, { accept: [400, 404] });
  if (res.status !== 200) return undefined;
  return res.json?.data?.metadata ?? {};
}

/**
 * The accessors of the role's secret_ids that were created for `key` = `value` (their metadata
 * says so), except `keep`. Vault records the metadata when it creates the secret_id, so a
 * secret_id whose creator was killed before writing it anywhere is still found here.
 */
export async function secretIdsCreatedFor(vault: VaultClient, mount: string, role: string, key: string, value: string, keep?: string): Promise<string[]> {
  const out: string[] = [];
  for (const accessor of await listSecretIdAccessors(vault, mount, role)) {
    if (accessor === keep) continue;
    const metadata = await secretIdMetadata(vault, mount, role, accessor);
    if (metadata?.[key] === value) out.push(accessor);
  }
  return out;
}

/** True when the secret_id is still valid for the role (it is sent in the body, never in a URL). */
export async function secretIdValid(vault: VaultClient, mount: string, role: string, secretId: string): Promise<{ valid: boolean; accessor?: string }> {
  const res = await vault.write<{ secret_id_accessor?: string }>(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id/lookup`, { secret_id: secretId }, { accept: [400, 404] });
  const accessor = res.json?.data?.secret_id_accessor;
  return accessor ? { valid: true, accessor } : { valid: false };
}

export interface WrappedSecretId {
  /** The wrapping token: single use, expires after ttl. */
  token: string;
  accessor: string;
  ttl: number;
  creationPath: string;
}

/** A new secret_id, response-wrapped: Vault never shows it to us, only a single-use wrapping token. */
export async function createWrappedSecretId(vault: VaultClient, mount: string, role: string, wrapTtlSeconds: number, metadata: Record<string, string>): Promise<WrappedSecretId> {
  const res = await vault.write(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id`, { metadata: JSON.stringify(metadata) }, { headers: { 'X-Vault-Wrap-TTL': `${wrapTtlSeconds}s` } });
  const wrap = res.json?.wrap_info as { token?: string; wrapped_accessor?: string; ttl?: number; creation_path?: string } | undefined;
  if (!wrap?.token || !wrap.wrapped_accessor) throw new ExternalError(`Vault did not wrap the new secret_id for AppRole ${role}.`, 'Check that the Vault version supports response wrapping (X-Vault-Wrap-TTL).');
  return { token: wrap.token, accessor: wrap.wrapped_accessor, ttl: wrap.ttl ?? wrapTtlSeconds, creationPath: wrap.creation_path ?? '' };
}

/** A new secret_id in the clear, for --persistent-secret-id. */
export async function createSecretId(vault: VaultClient, mount: string, role: string, metadata: Record<string, string>): Promise<{ secretId: string; accessor: string }> {
  const res = await vault.write<{ secret_id: string; secret_id_accessor: string }>(`auth/${mount}/role/${encodeURIComponent(role)}/secret-id`, { metadata: JSON.stringify(metadata) });
  const d = res.json?.data;
  if (!d?.secret_id) throw new ExternalError(`Vault returned no secret_id for AppRole ${role}.`);
  return { secretId: d.secret_id, accessor: d.secret_id_accessor };
}

/** sys/wrapping/lookup is unauthenticated and does not consume the token. */
export async function lookupWrappingToken(vault: VaultClient, token: string): Promise<{ valid: boolean; creationPath?: string }> {
  const res = await vault.write<{ creation_path?: string }>('sys/wrapping/lookup', { token }, { anonymous: true, accept: [400, 403, 404] });
  const p = res.json?.data?.creation_path;
  return p ? { valid: true, creationPath: p } : { valid: false };
}

/** AppRole login; returns the client token. A wrong role_id/secret_id is the operator's to fix. */
export async function appRoleLogin(vault: VaultClient, authPath: string, roleId: string, secretId: string): Promise<string> {
  const res = await vault.request<never>('POST', `auth/${authPath}/login`, { body: { role_id: roleId, secret_id: secretId }, anonymous: true, accept: [400, 403] });
  if (res.status === 400 || res.status === 403) {
    const why = res.json?.errors?.join('; ') ?? 'rejected';
    throw new OperatorError(
      `AppRole login at auth/${authPath} was refused: ${why}.`,
      'Check --role-id-file and --secret-id-file (a secret_id may have expired or run out of uses); the operator issues a new one with `certwright build-role ... --secret-id-out FILE`.',
    );
  }
  const token = (res.json?.auth as { client_token?: string } | undefined)?.client_token;
  if (!token) throw new ExternalError(`AppRole login at auth/${authPath} returned no token.`);
  return token;
}

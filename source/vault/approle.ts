import type { VaultClient } from './client.js';
import { ExternalError, OperatorError } from '../errors.js';

/** ACL policies and AppRole in our vocabulary: the calls build-role and build-cert need. */

export async function readPolicy(vault: VaultClient, name: string): Promise<string | undefined> {
  const res = await vault.read<{ policy: string }>(`sys/policies/acl/${encodeURIComponent(name)}`, { accept: [404] });
  if (res.status === 404) return undefined;
  return res.json?.data?.policy ?? undefined;
}

export async function writePolicy(vault: VaultClient, name: string, hcl: string): Promise<void> {
  await vault.write(`sys/policies/acl/${encodeURIComponent(name)}`, { policy: hcl });
}

/** Auth mounts by path ("approle/" -> type). */
export async function listAuthMounts(vault: VaultClient): Promise<Record<string, string>> {
  const res = await vault.read<Record<string, { type: string }>>('sys/auth');
  const all = (res.json?.data ?? res.json ?? {}) as Record<string, { type?: string }>;
  const out: Record<string, string> = {};
  for (const [path, entry] of Object.entries(all)) if (entry && typeof entry === 'object' && typeof entry.type === 'string') out[path] = entry.type;
  return out;
}

export async function enableAppRole(vault: VaultClient, path: string): Promise<void> {
  await vault.write(`sys/auth/${path}`, { type: 'approle', description: 'certwright build servers' });
}

export interface AppRoleSettings {
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
  token_type: string;
  token_no_default_policy: boolean;
  token_bound_cidrs: string[];
  secret_id_bound_cidrs: string[];
  secret_id_ttl: number;
  secret_id_num_uses: number;
  bind_secret_id: boolean;
}

export async function readAppRole(vault: VaultClient, authPath: string, name: string): Promise<AppRoleSettings | undefined> {
  const res = await vault.read<AppRoleSettings>(`auth/${authPath}/role/${encodeURIComponent(name)}`, { accept: [404] });
  if (res.status === 404 || !res.json?.data) return undefined;
  return res.json.data;
}

export async function writeAppRole(vault: VaultClient, authPath: string, name: string, settings: Record<string, unknown>): Promise<void> {
  await vault.write(`auth/${authPath}/role/${encodeURIComponent(name)}`, settings);
}

export async function readRoleId(vault: VaultClient, authPath: string, name: string): Promise<string> {
  const res = await vault.read<{ role_id: string }>(`auth/${authPath}/role/${encodeURIComponent(name)}/role-id`);
  const id = res.json?.data?.role_id;
  if (!id) throw new ExternalError(`Vault returned no role_id for auth/${authPath}/role/${name}.`);
  return id;
}

export async function createSecretId(vault: VaultClient, authPath: string, name: string, metadata: Record<string, string>): Promise<{ secretId: string; accessor: string }> {
  const res = await vault.write<{ secret_id: string; secret_id_accessor: string }>(`auth/${authPath}/role/${encodeURIComponent(name)}/secret-id`, { metadata: JSON.stringify(metadata) });
  const d = res.json?.data;
  if (!d?.secret_id) throw new ExternalError(`Vault returned no secret_id for auth/${authPath}/role/${name}.`);
  return { secretId: d.secret_id, accessor: d.secret_id_accessor };
}

/** Whether a secret_id is still valid for the role (does not consume it). */
export async function secretIdIsValid(vault: VaultClient, authPath: string, name: string, secretId: string): Promise<boolean> {
  const res = await vault.write<Record<string, unknown>>(`auth/${authPath}/role/${encodeURIComponent(name)}/secret-id/lookup`, { secret_id: secretId }, { accept: [400, 404] });
  return res.status === 200 && res.json?.data !== undefined && res.json?.data !== null;
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

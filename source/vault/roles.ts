/**
 * PKI roles certwright writes (vault-cert, agent app, build-role): the key fields every one of them
 * carries, and the one comparison of a role Vault holds with the role a step wants.
 *
 * A role that sends no `key_usage` gets OpenBao's default [DigitalSignature, KeyAgreement,
 * KeyEncipherment]: keyEncipherment on an EC key and keyAgreement on an RSA key are both forbidden
 * (RFC 5480 section 3, RFC 8813; RFC 4055 / RFC 3279 section 2.3.1), and pkilint reports them as
 * errors. So the key usage follows the key type, always sent.
 */

export type VaultKeyType = 'ec' | 'rsa' | 'ed25519';

/** What the leaves of a role are for: a TLS server (vault-cert, agent apps) or a TLS client only (build-role). */
export type LeafUse = 'server' | 'client';

/**
 * The key usage a TLS leaf of this key type may carry: EC and Ed25519 sign only (in ECDHE the leaf
 * key only signs); an RSA server signs and key-enciphers (TLS 1.2 RSA key transport, still offered
 * by some clients); an RSA client only ever signs (CertificateVerify), so it gets no more.
 */
export function keyUsageFor(keyType: VaultKeyType, use: LeafUse = 'server'): string[] {
  return keyType === 'rsa' && use === 'server' ? ['DigitalSignature', 'KeyEncipherment'] : ['DigitalSignature'];
}

/** The key usages each key type must not carry (RFC 5480 / RFC 8813 for EC, RFC 3279 for RSA, RFC 8410 for Ed25519). */
const PROHIBITED: Record<VaultKeyType, string[]> = {
  ec: ['keyencipherment', 'dataencipherment'],
  rsa: ['keyagreement', 'encipheronly', 'decipheronly'],
  ed25519: ['keyencipherment', 'dataencipherment', 'keyagreement', 'encipheronly', 'decipheronly'],
};

/** OpenBao's key_usage when a role leaves it empty. */
export const VAULT_DEFAULT_KEY_USAGE = ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'];

/**
 * What is wrong with a role's key usage for its key type, one sentence each ([] when nothing is).
 * key_type "any" cannot be judged: any key usage is wrong for one of the key types it lets in.
 */
export function keyUsageProblems(role: { key_type?: unknown; key_usage?: unknown }): string[] {
  const type = String(role.key_type ?? 'rsa') as VaultKeyType | 'any';
  const given = Array.isArray(role.key_usage) ? role.key_usage.map(String) : [];
  const usage = given.length > 0 ? given : VAULT_DEFAULT_KEY_USAGE;
  if (type === 'any') return ['key_type "any": the key usage cannot fit every key type it lets in'];
  const prohibited = PROHIBITED[type] ?? [];
  const bad = usage.filter((u) => prohibited.includes(u.toLowerCase()));
  if (bad.length === 0) return [];
  return [`key_usage ${bad.join(', ')} is not allowed for an ${type.toUpperCase()} key${given.length === 0 ? ' (OpenBao\'s default, because the role sets none)' : ''}`];
}

/** key_type, key_bits and key_usage for a role issuing keys of this type, checked against each other. */
export function roleKeyFields(keyType: VaultKeyType, keyBits: number, use: LeafUse = 'server'): { key_type: VaultKeyType; key_bits: number; key_usage: string[] } {
  const fields = { key_type: keyType, key_bits: keyBits, key_usage: keyUsageFor(keyType, use) };
  const problems = keyUsageProblems(fields);
  if (problems.length > 0) throw new Error(`bug: certwright would write a role with ${problems.join('; ')}`);
  return fields;
}

/** Fields some servers do not know (OpenBao >= 2.5 only): absent from the role read back is not a difference. */
const NOT_EVERYWHERE = new Set(['allowed_ip_sans_cidr']);
/** Vault stores these lists as sent; "digitalsignature" and "DigitalSignature" are the same usage. */
const CASE_FREE = new Set(['key_usage', 'ext_key_usage']);

export interface FieldChange {
  field: string;
  have: string;
  want: string;
}

export interface RoleDiff {
  /** The role does not exist. */
  missing: boolean;
  /** Fields of the wanted role that Vault holds differently (every field when missing). */
  changes: FieldChange[];
  /** Field names only, for short messages. */
  fields: string[];
}

function show(value: unknown, field: string, want: unknown): string {
  if (Array.isArray(want) || Array.isArray(value)) {
    const list = Array.isArray(value) ? value.map(String) : value === null || value === undefined || value === '' ? [] : [String(value)];
    return JSON.stringify((CASE_FREE.has(field) ? list.map((v) => v.toLowerCase()) : list).sort());
  }
  if (value === null || value === undefined) return 'unset';
  if (typeof want === 'number') return String(Number(value));
  return JSON.stringify(value);
}

/**
 * The one PKI-role comparison: each field of `want` against the role Vault returned. Lists compare
 * as sets (null and [] alike), numbers by value (Vault returns TTLs as numbers), everything else
 * exactly. A POST replaces the whole role, so callers write `want` whole when anything differs.
 */
export function diffRole(current: Record<string, unknown> | undefined, want: Record<string, unknown>): RoleDiff {
  const changes: FieldChange[] = [];
  for (const [field, value] of Object.entries(want)) {
    if (value === undefined) continue;
    if (current && !(field in current) && NOT_EVERYWHERE.has(field)) continue;
    const wantText = show(value, field, value);
    const haveText = current && field in current ? show(current[field], field, value) : 'unset';
    if (!current || haveText !== wantText) changes.push({ field, have: current ? haveText : 'unset', want: wantText });
  }
  return { missing: !current, changes, fields: changes.map((c) => c.field) };
}

/** "field: have -> want" for each change. */
export function describeChanges(diff: RoleDiff): string[] {
  return diff.changes.map((c) => `${c.field}: ${c.have} -> ${c.want}`);
}

/**
 * The per-environment state file. It records what was done and how to re-check it, never a secret:
 * no key, token, passphrase or unseal key ever enters it (see assertNoSecrets).
 */
export const STATE_VERSION = 1;

export interface Artefact {
  /** What this file is: root-certificate, root-key, csr, intermediate-certificate, ... */
  kind: string;
  path: string;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  /** SHA-256 certificate fingerprint, for certificates. */
  fingerprint?: string;
}

export interface StepRecord {
  id: string;
  status: 'pending' | 'done';
  startedAt: string;
  completedAt?: string;
  mount?: string;
  artefacts: Artefact[];
  /** Non-secret facts needed to resume and verify (key ids, issuer ids, serials, URLs). */
  facts: Record<string, string | number | boolean | string[]>;
}

export interface EnvState {
  version: number;
  env: string;
  createdAt: string;
  updatedAt: string;
  /** nodes: the API addresses of a raft cluster's nodes (vault-https), addr among them. */
  vault?: { addr: string; caFile?: string; nodes?: string[] };
  mounts: Record<string, { path: string; maxTtl?: string; aiaBase?: string }>;
  steps: Record<string, StepRecord>;
}

export function emptyState(env: string, now: Date): EnvState {
  const iso = now.toISOString();
  return { version: STATE_VERSION, env, createdAt: iso, updatedAt: iso, mounts: {}, steps: {} };
}

/** Step ids are kebab-case; mount-scoped steps carry the mount after '@'. */
export function stepKey(id: string, mount?: string): string {
  return mount ? `${id}@${mount}` : id;
}

const SECRET_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(hvs|hvb|s|b)\.[A-Za-z0-9]{20,}\b/, // Vault/OpenBao tokens
  /certwright root key share/, // a custodian's share file (source/pki/shares.ts)
];
const SECRET_KEYS = /^(token|client_token|root_token|passphrase|password|secret_id|unseal_keys?|keys_base64|private_key)$/i;

/** Throws if a value that looks like a secret is about to be persisted. Defence in depth. */
export function assertNoSecrets(value: unknown, where = 'state'): void {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      for (const re of SECRET_PATTERNS) if (re.test(v)) throw new Error(`refusing to persist a secret-looking value at ${where}${path}`);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        if (SECRET_KEYS.test(k)) throw new Error(`refusing to persist field "${k}" at ${where}${path}`);
        walk(item, `${path}.${k}`);
      }
    }
  };
  walk(value, '');
}

export function validateState(raw: unknown, file: string): EnvState {
  const fail = (why: string): never => {
    throw new StateFileError(file, why);
  };
  if (!raw || typeof raw !== 'object') fail('it is not a JSON object');
  const s = raw as Partial<EnvState>;
  if (typeof s.version !== 'number') fail('it has no version');
  if (s.version! > STATE_VERSION) throw new StateFileError(file, `it was written by a newer certwright (state version ${s.version}, this one reads ${STATE_VERSION})`, 'Upgrade certwright; do not edit or delete the file.');
  if (typeof s.env !== 'string') fail('it has no env');
  if (!s.steps || typeof s.steps !== 'object') fail('it has no steps');
  if (!s.mounts || typeof s.mounts !== 'object') fail('it has no mounts');
  for (const [key, step] of Object.entries(s.steps!)) {
    if (!step || typeof step !== 'object' || (step.status !== 'done' && step.status !== 'pending') || !Array.isArray(step.artefacts)) fail(`step "${key}" is malformed`);
  }
  return s as EnvState;
}

export class StateFileError extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
    readonly fix = `Restore ${file} from a backup, or move it away to start this environment afresh (certwright never resets it silently).`,
  ) {
    super(`The state file ${file} is corrupt: ${why}.`);
  }
}

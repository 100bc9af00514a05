import type { VaultClient } from './client.js';
import { ExternalError } from '../errors.js';

/**
 * What every PKI mount certwright creates carries, so that `bao pki health-check` finds nothing
 * critical and nothing to warn about (issue 14, point 7):
 * - audit logs show the PKI's non-secret fields in clear (serials, names, certificates, CSRs), so
 *   the audit log can answer "who issued what"; private keys and PEM bundles stay HMACed;
 * - If-Modified-Since / Last-Modified pass through, so clients refetch CAs and CRLs only on change;
 * - the CRL is rebuilt automatically (auto_rebuild), so revocations do not each rebuild it and
 *   stored certificates (no_store=false) cost no CRL work; `revoke` rotates it itself;
 * - auto-tidy every 12 hours removes certificates and revocation entries 72 hours past expiry: the
 *   leaves here live from hours (agents) to a year (builds), so storage holds what is still valid
 *   plus three days; a first tidy runs at once, so the mount starts with a finished one.
 */

/** The request fields OpenBao's health check wants visible (audit_visibility), none of them secret. */
export const AUDIT_NON_HMAC_REQUEST_KEYS = [
  'csr', 'certificate', 'issuer_ref', 'common_name', 'alt_names', 'other_sans', 'ip_sans', 'uri_sans', 'ttl', 'not_after', 'serial_number', 'key_type',
  'private_key_format', 'managed_key_name', 'managed_key_id', 'ou', 'organization', 'country', 'locality', 'province', 'street_address', 'postal_code',
  'permitted_dns_domains', 'policy_identifiers', 'ext_key_usage_oids',
];
export const AUDIT_NON_HMAC_RESPONSE_KEYS = ['certificate', 'issuing_ca', 'serial_number', 'error', 'ca_chain'];

export const MOUNT_TUNING = {
  audit_non_hmac_request_keys: AUDIT_NON_HMAC_REQUEST_KEYS,
  audit_non_hmac_response_keys: AUDIT_NON_HMAC_RESPONSE_KEYS,
  passthrough_request_headers: ['If-Modified-Since'],
  allowed_response_headers: ['Last-Modified'],
} as const;

const TIDY = { tidy_cert_store: true, tidy_revoked_certs: true, tidy_revoked_cert_issuer_associations: true, safety_buffer: '72h' } as const;
export const AUTO_TIDY = { enabled: true, interval_duration: '12h', pause_duration: '0s', ...TIDY } as const;

const sameSet = (have: unknown, want: readonly string[]): boolean => {
  const h = Array.isArray(have) ? have.map((v) => String(v).toLowerCase()).sort() : [];
  return JSON.stringify(h) === JSON.stringify(want.map((v) => v.toLowerCase()).sort());
};

async function data(vault: VaultClient, apiPath: string): Promise<Record<string, unknown> | undefined> {
  const res = await vault.read<Record<string, unknown>>(apiPath, { accept: [400, 404] });
  if (res.status !== 200) return undefined;
  return (res.json?.data ?? res.json) as Record<string, unknown> | undefined;
}

/** Tune fields of the mount that differ from MOUNT_TUNING. */
export async function tuningChanges(vault: VaultClient, mount: string): Promise<string[]> {
  const tune = (await data(vault, `sys/mounts/${mount}/tune`)) ?? {};
  return Object.entries(MOUNT_TUNING).filter(([k, v]) => !sameSet(tune[k], v)).map(([k]) => k);
}

/** Sets the mount's audit and header tuning (a tune write changes only the fields sent). */
export async function applyTuning(vault: VaultClient, mount: string): Promise<string[]> {
  const changes = await tuningChanges(vault, mount);
  if (changes.length > 0) await vault.write(`sys/mounts/${mount}/tune`, { ...MOUNT_TUNING });
  return changes;
}

export interface UpkeepChanges {
  crlAutoRebuild: boolean;
  autoTidy: string[];
  tidyNeverRan: boolean;
}

/** What the mount's CRL and tidy configuration lacks. */
export async function upkeepChanges(vault: VaultClient, mount: string): Promise<UpkeepChanges> {
  const crl = (await data(vault, `${mount}/config/crl`)) ?? {};
  const tidy = (await data(vault, `${mount}/config/auto-tidy`)) ?? {};
  const status = (await data(vault, `${mount}/tidy-status`)) ?? {};
  const autoTidy = Object.entries(AUTO_TIDY)
    .filter(([k, v]) => {
      const have = tidy[k];
      if (typeof v === 'boolean') return have !== v;
      return durationSeconds(have) !== durationSeconds(v);
    })
    .map(([k]) => k);
  return { crlAutoRebuild: crl.auto_rebuild !== true, autoTidy, tidyNeverRan: !status.time_finished };
}

export function describeUpkeep(c: UpkeepChanges): string[] {
  const out: string[] = [];
  if (c.crlAutoRebuild) out.push('Rebuild the CRL automatically (config/crl auto_rebuild=true)');
  if (c.autoTidy.length) out.push(`Turn on auto-tidy every ${AUTO_TIDY.interval_duration}, removing certificates ${AUTO_TIDY.safety_buffer} past expiry (${c.autoTidy.join(', ')})`);
  if (c.tidyNeverRan) out.push('Run a first tidy now');
  return out;
}

/** Writes what upkeepChanges found; the first tidy is awaited (it is quick on a new mount). */
export async function applyUpkeep(vault: VaultClient, mount: string): Promise<string[]> {
  const c = await upkeepChanges(vault, mount);
  if (c.crlAutoRebuild) await vault.write(`${mount}/config/crl`, { auto_rebuild: true });
  if (c.autoTidy.length) await vault.write(`${mount}/config/auto-tidy`, { ...AUTO_TIDY });
  if (c.tidyNeverRan) {
    await vault.write(`${mount}/tidy`, { ...TIDY });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = (await data(vault, `${mount}/tidy-status`)) ?? {};
      if (status.state === 'Finished' && status.time_finished) break;
      if (status.state === 'Error') throw new ExternalError(`The first tidy of ${mount}/ failed: ${String(status.error ?? 'no reason given')}.`, `Look at bao read ${mount}/tidy-status, then run the command again.`);
      if (Date.now() > deadline) throw new ExternalError(`The first tidy of ${mount}/ did not finish within 30 s (state ${String(status.state ?? 'unknown')}).`, `Wait for it (bao read ${mount}/tidy-status), then run the command again.`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return describeUpkeep(c);
}

/** Vault returns durations as seconds (numbers) or Go strings ("12h0m0s"); compared in seconds. */
function durationSeconds(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return Number.NaN;
  if (/^\d+$/.test(v)) return Number(v);
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let m: RegExpExecArray | null;
  let matched = '';
  while ((m = re.exec(v))) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    matched += m[0];
  }
  return matched === v ? total : Number.NaN;
}

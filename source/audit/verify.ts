import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { HomeOptions } from '../paths.js';
import { envPaths } from '../paths.js';
import type { EnvState } from '../../state/schema.js';
import { verifyTranscript } from '../../state/transcript.js';
import { VaultClient } from '../vault/client.js';
import { AUDIT_DEVICE } from '../vault/server-config.js';
import { EKU_CLIENT_AUTH, EKU_SERVER_AUTH, commonNameOf, dnsNames, extendedKeyUsages } from '../pki/chain.js';
import { vaultSerial } from '../pki/pem.js';
import { commitFromSans, defaultAuditLog } from '../steps/build-cert.js';

/**
 * audit verify: certwright's records held against Vault's. The transcript's hash chain; for each
 * build mount, every serial in certwright's build audit log must exist in `<mount>/certs`, and
 * every certificate Vault issued on the build role must be in the log. Vault stores no role with
 * a certificate, so a certificate is tied to the role by Vault's own audit log (the request path
 * `<mount>/issue/<role>` of the response that carried its serial) when certwright runs that Vault,
 * and otherwise by what only a build certificate carries (clientAuth only, CN an allowed app, a
 * `<sha>.git` name). Vault's audit log is the independent witness: it is written by Vault, not by
 * certwright, so a build log line with no issue behind it, or an issue with no line, both show.
 */

/** Tidy removes stored certificates this long after they expire (source/vault/mount-health.ts). */
const TIDY_BUFFER_MS = 72 * 3600 * 1000;

export interface AuditFinding {
  kind: 'transcript' | 'missing-in-vault' | 'outside-certwright' | 'not-witnessed' | 'changed-outside-certwright' | 'unreadable';
  mount?: string | undefined;
  role?: string | undefined;
  serial?: string | undefined;
  time?: string | undefined;
  message: string;
}

export interface MountAudit {
  mount: string;
  role: string;
  buildLog: string;
  logged: number;
  inVault: number;
  onRole: number;
  attribution: 'vault audit log' | 'certificate fields';
  tidied: string[];
  notes: string[];
}

export interface AuditReport {
  env: string;
  transcript: { file: string; entries: number; ok: boolean; note?: string | undefined };
  vaultAuditLog?: { file: string; entries: number; issues: number } | undefined;
  mounts: MountAudit[];
  findings: AuditFinding[];
  notChecked: string[];
}

interface LogLine {
  time?: string;
  serial?: string;
  mount?: string;
  role?: string;
  app?: string;
  commit?: string;
  notAfter?: string;
  builder?: string;
}

function readJsonLines<T>(file: string): { lines: T[]; bad: number } {
  const lines: T[] = [];
  let bad = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line) as T);
    } catch {
      bad += 1;
    }
  }
  return { lines, bad };
}

/** One issue on a role, as Vault's audit log recorded it. */
interface WitnessedIssue {
  time: string;
  mount: string;
  role: string;
  /** The serial in clear, or its HMAC when the mount's audit tuning hides it. */
  serial: string;
  remote?: string | undefined;
}

/** A successful write (create, update, delete) Vault's audit log recorded. */
interface WitnessedWrite {
  time: string;
  path: string;
  operation: string;
  remote?: string | undefined;
}

/**
 * From Vault's audit log: the issue and sign responses (`<mount>/issue/<role>`,
 * `<mount>/issuer/<ref>/issue/<role>`, the sign forms) that carried a certificate, and every
 * successful write, so that what certwright's transcript says it changed can be held against it.
 */
export function witnessedIssues(file: string): { issues: WitnessedIssue[]; writes: WitnessedWrite[]; entries: number; bad: number } {
  const { lines, bad } = readJsonLines<Record<string, any>>(file);
  const issues: WitnessedIssue[] = [];
  const writes: WitnessedWrite[] = [];
  for (const e of lines) {
    if (e.type !== 'response' || e.error) continue;
    const p = String(e.request?.path ?? '');
    const operation = String(e.request?.operation ?? '');
    if (operation === 'create' || operation === 'update' || operation === 'delete') writes.push({ time: String(e.time), path: p, operation, remote: e.request?.remote_address });
    const m = /^(.+?)\/(?:issuer\/[^/]+\/)?(?:issue|sign)\/([^/]+)$/.exec(p);
    const serial = e.response?.data?.serial_number;
    if (!m || typeof serial !== 'string') continue;
    issues.push({ time: String(e.time), mount: m[1]!, role: m[2]!, serial, remote: e.request?.remote_address });
  }
  return { issues, writes, entries: lines.length, bad };
}

const isHmac = (v: string) => v.startsWith('hmac-sha256:');

interface VaultCert {
  serial: string;
  cert?: X509Certificate | undefined;
}

async function listCerts(vault: VaultClient, mount: string): Promise<VaultCert[]> {
  const res = await vault.request<{ keys?: string[] }>('LIST', `${mount}/certs`, { accept: [404] });
  const serials = res.status === 404 ? [] : (res.json?.data?.keys ?? []);
  const out: VaultCert[] = [];
  for (const serial of serials) {
    const one = await vault.read<{ certificate?: string }>(`${mount}/cert/${serial}`, { anonymous: true, accept: [404] });
    const pem = one.json?.data?.certificate;
    let cert: X509Certificate | undefined;
    try {
      cert = pem ? new X509Certificate(pem) : undefined;
    } catch {
      cert = undefined;
    }
    out.push({ serial: vaultSerial(serial), cert });
  }
  return out;
}

/** What only a build certificate of this role carries: clientAuth alone, an allowed app as CN, a commit name. */
function looksLikeBuildCert(cert: X509Certificate, apps: string[]): boolean {
  const eku = extendedKeyUsages(cert);
  const cn = commonNameOf(cert);
  return eku.includes(EKU_CLIENT_AUTH) && !eku.includes(EKU_SERVER_AUTH) && !cert.ca && cn !== undefined && (apps.length === 0 || apps.includes(cn)) && commitFromSans(dnsNames(cert)) !== undefined;
}

export interface AuditOptions {
  env: string;
  home: HomeOptions;
  state: EnvState;
  vault: VaultClient | undefined;
  /** Why there is no client (no address, no token). */
  vaultProblem?: string | undefined;
  /** Build logs given explicitly (--build-log), else each mount's default. */
  buildLogs: string[];
  /** Vault's audit log given explicitly (--vault-audit-log), else the one vault-server declared. */
  vaultAuditLog?: string | undefined;
  now?: Date;
}

export async function auditVerify(o: AuditOptions): Promise<AuditReport> {
  const now = o.now ?? new Date();
  const findings: AuditFinding[] = [];
  const notChecked: string[] = [];
  const paths = envPaths(o.env, o.home);

  // 1. The transcript's chain.
  const chain = verifyTranscript(paths.transcript);
  const transcript: AuditReport['transcript'] = { file: paths.transcript, entries: chain.entries, ok: chain.ok };
  if (!fs.existsSync(paths.transcript)) {
    transcript.note = 'no transcript on this machine';
    notChecked.push(`transcript: there is none at ${paths.transcript} (the ceremony's is checked where it was carried: certwright transcript verify --file FILE)`);
  } else if (!chain.ok) findings.push({ kind: 'transcript', message: `the transcript ${paths.transcript} is broken at entry ${chain.brokenAt}: ${chain.reason}` });

  // 2. Vault's own audit log: the one certwright's Vault writes, or the one named.
  const managed = o.state.steps['vault-server']?.facts;
  const vaultAuditFile = o.vaultAuditLog ?? (typeof managed?.auditLog === 'string' ? managed.auditLog : undefined);
  let witnessed: WitnessedIssue[] | undefined;
  let writes: WitnessedWrite[] = [];
  let vaultAuditLog: AuditReport['vaultAuditLog'];
  if (vaultAuditFile) {
    try {
      const w = witnessedIssues(vaultAuditFile);
      witnessed = w.issues;
      writes = w.writes;
      vaultAuditLog = { file: vaultAuditFile, entries: w.entries, issues: w.issues.length };
      if (w.bad) findings.push({ kind: 'unreadable', message: `${w.bad} line(s) of Vault's audit log ${vaultAuditFile} are not JSON` });
    } catch (error) {
      findings.push({ kind: 'unreadable', message: `Vault's audit log ${vaultAuditFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): the witness is missing` });
    }
  } else notChecked.push('Vault\'s audit log: this environment\'s Vault is not one certwright runs (pass --vault-audit-log FILE to name its file audit device\'s log); certificates are tied to the build role by their fields');

  const transcriptEntries = fs.existsSync(paths.transcript) ? readJsonLines<Record<string, unknown>>(paths.transcript).lines : [];

  // 3. Each build mount and role.
  const mounts: MountAudit[] = [];
  const buildRecords = Object.values(o.state.steps).filter((r) => r.id === 'build-role' && r.status === 'done' && r.mount);
  if (buildRecords.length === 0) notChecked.push('build mounts: this environment has no build-role step (certwright build-role)');
  const explicitLogs = o.buildLogs.map((file) => ({ file, ...(fs.existsSync(file) ? readJsonLines<LogLine>(file) : { lines: [], bad: 0 }) }));
  for (const file of o.buildLogs) if (!fs.existsSync(file)) findings.push({ kind: 'unreadable', message: `the build log ${file} (--build-log) does not exist` });
  const hashCache = new Map<string, string>();
  const auditHash = async (vault: VaultClient, value: string): Promise<string | undefined> => {
    if (hashCache.has(value)) return hashCache.get(value);
    const res = await vault.write<{ hash?: string }>(`sys/audit-hash/${AUDIT_DEVICE}`, { input: value }, { accept: [400, 403, 404] }).catch(() => undefined);
    const h = res?.status === 200 ? (res.json as { data?: { hash?: string }; hash?: string })?.data?.hash ?? (res.json as { hash?: string })?.hash : undefined;
    if (h) hashCache.set(value, h);
    return h;
  };
  for (const rec of buildRecords) {
    const mount = rec.mount!;
    const roles = Array.isArray(rec.facts.roles) ? (rec.facts.roles as string[]) : [];
    for (const role of roles) {
      const apps = Array.isArray(rec.facts[`apps:${role}`]) ? (rec.facts[`apps:${role}`] as string[]) : [];
      const defaultLog = defaultAuditLog(mount, o.home);
      const sources = explicitLogs.length ? explicitLogs : [{ file: defaultLog, ...(fs.existsSync(defaultLog) ? readJsonLines<LogLine>(defaultLog) : { lines: [], bad: 0 }) }];
      const logged = sources.flatMap((s) => s.lines).filter((l) => l.mount === mount && l.role === role && typeof l.serial === 'string');
      for (const s of sources) if (s.bad) findings.push({ kind: 'unreadable', mount, message: `${s.bad} line(s) of the build log ${s.file} are not JSON` });
      const m: MountAudit = { mount, role, buildLog: sources.map((s) => s.file).join(', '), logged: logged.length, inVault: 0, onRole: 0, attribution: witnessed ? 'vault audit log' : 'certificate fields', tidied: [], notes: [] };
      if (!explicitLogs.length && !fs.existsSync(defaultLog)) m.notes.push(`no build log at ${defaultLog}: no build certificate was issued through certwright here (builds on another server: pass its log with --build-log FILE)`);
      mounts.push(m);
      if (witnessed) findings.push(...changesOutsideCertwright(writes, transcriptEntries, mount, role, rec.facts));
      if (!o.vault) {
        notChecked.push(`${mount}/certs: ${o.vaultProblem ?? 'Vault cannot be reached'}`);
        continue;
      }
      let certs: VaultCert[];
      try {
        certs = await listCerts(o.vault, mount);
      } catch (error) {
        notChecked.push(`${mount}/certs: ${(error as Error).message}`);
        continue;
      }
      m.inVault = certs.length;
      const inVault = new Map(certs.map((c) => [c.serial, c]));
      // Which of Vault's certificates were issued on this role.
      const witnessedHere = witnessed?.filter((w) => w.mount === mount && w.role === role) ?? [];
      // The witness's time of a serial's issue on this role (undefined: no such issue in its log).
      const witnessedAt = async (serial: string): Promise<string | undefined | null> => {
        const clear = witnessedHere.find((x) => !isHmac(x.serial) && vaultSerial(x.serial) === serial);
        if (clear) return clear.time;
        if (!witnessedHere.some((x) => isHmac(x.serial))) return null;
        const h = await auditHash(o.vault!, serial);
        return (h ? witnessedHere.find((x) => x.serial === h)?.time : undefined) ?? null;
      };
      const onRole = new Map<string, string | undefined>();
      if (witnessed) {
        for (const c of certs) {
          const at = await witnessedAt(c.serial);
          if (at !== null) onRole.set(c.serial, at);
        }
      } else {
        for (const c of certs) if (c.cert && looksLikeBuildCert(c.cert, apps)) onRole.set(c.serial, undefined);
      }
      m.onRole = onRole.size;
      const loggedSerials = new Set(logged.map((l) => vaultSerial(l.serial!)));
      for (const l of logged) {
        const serial = vaultSerial(l.serial!);
        if (!inVault.has(serial)) {
          const expired = l.notAfter ? new Date(l.notAfter).getTime() + TIDY_BUFFER_MS < now.getTime() : false;
          if (expired) m.tidied.push(serial);
          else findings.push({ kind: 'missing-in-vault', mount, role, serial, time: l.time, message: `${serial} (build of ${l.app ?? '?'} @ ${(l.commit ?? '?').slice(0, 12)}, ${l.time ?? '?'}, ${l.builder ?? '?'}) is in certwright's build log but not in ${mount}/certs` });
        }
        if (witnessed && (await witnessedAt(serial)) === null) {
          findings.push({ kind: 'not-witnessed', mount, role, serial, time: l.time, message: `${serial} is in certwright's build log (${l.time ?? '?'}), but Vault's audit log shows no issue of it on ${mount}/issue/${role}` });
        }
      }
      for (const [serial, time] of onRole) {
        if (loggedSerials.has(serial)) continue;
        const cert = inVault.get(serial)?.cert;
        const when = time ?? (cert ? `not before ${new Date(cert.validFrom).toISOString()}` : 'unknown time');
        const names = cert ? `CN=${commonNameOf(cert) ?? '?'}, ${dnsNames(cert).join(', ')}` : 'certificate unreadable';
        findings.push({ kind: 'outside-certwright', mount, role, serial, time: time ?? (cert ? new Date(cert.validFrom).toISOString() : undefined), message: `${serial} was issued on ${mount}/roles/${role} at ${when} (${names}) outside certwright: it is not in the build log` });
      }
    }
  }
  return { env: o.env, transcript, vaultAuditLog, mounts, findings, notChecked };
}

/** A build-role run writes these, then (within minutes) its transcript entry names what changed. */
const CHANGE_WINDOW_MS = 10 * 60 * 1000;

/**
 * Writes Vault witnessed on a build role's PKI role, its policy, its AppRole and that AppRole's
 * secret IDs, each of which certwright's transcript must account for: a `build-role` entry for
 * the same mount and role, written after it within CHANGE_WINDOW_MS. A write with none was made
 * outside certwright (a widened role, a new credential for the build server).
 */
function changesOutsideCertwright(writes: WitnessedWrite[], transcript: Array<Record<string, unknown>>, mount: string, role: string, facts: Record<string, unknown>): AuditFinding[] {
  const policy = typeof facts[`policy:${role}`] === 'string' ? (facts[`policy:${role}`] as string) : undefined;
  const approle = typeof facts[`approle:${role}`] === 'string' ? (facts[`approle:${role}`] as string) : undefined;
  const approleMount = typeof facts[`approle-mount:${role}`] === 'string' ? (facts[`approle-mount:${role}`] as string) : 'approle';
  const watched = (p: string): string | undefined => {
    if (p === `${mount}/roles/${role}`) return `the PKI role ${p}`;
    if (policy && (p === `sys/policies/acl/${policy}` || p === `sys/policy/${policy}`)) return `the policy ${policy}`;
    if (approle && p === `auth/${approleMount}/role/${approle}`) return `the AppRole ${approleMount}/${approle}`;
    if (approle && p === `auth/${approleMount}/role/${approle}/secret-id`) return `a secret ID of the AppRole ${approleMount}/${approle}`;
    return undefined;
  };
  const runs = transcript.filter((e) => e.action === 'build-role' && e.mount === mount && e.role === role).map((e) => new Date(String(e.time)).getTime());
  const findings: AuditFinding[] = [];
  for (const w of writes) {
    const what = watched(w.path);
    if (!what) continue;
    const t = new Date(w.time).getTime();
    if (runs.some((r) => r >= t && r - t <= CHANGE_WINDOW_MS)) continue;
    findings.push({ kind: 'changed-outside-certwright', mount, role, time: w.time, message: `${what} was written (${w.operation}) at ${w.time}${w.remote ? ` from ${w.remote}` : ''} outside certwright: no build-role entry in the transcript accounts for it` });
  }
  return findings;
}

export function formatAuditReport(r: AuditReport): string {
  const lines = [`Audit of environment ${r.env}`];
  const t = r.transcript;
  lines.push(`  transcript: ${t.note ? `not checked: ${t.note}` : t.ok ? `✓ hash chain intact, ${t.entries} entries (${t.file})` : `✗ broken (${t.file})`}`);
  if (r.vaultAuditLog) lines.push(`  Vault's audit log: ${r.vaultAuditLog.file}, ${r.vaultAuditLog.entries} entries, ${r.vaultAuditLog.issues} certificate issue(s) witnessed`);
  for (const m of r.mounts) {
    lines.push(`  build role ${m.mount}/roles/${m.role}: ${m.logged} in certwright's build log (${m.buildLog}); ${m.inVault} certificate(s) in ${m.mount}/certs, ${m.onRole} of them issued on this role (by ${m.attribution})`);
    if (m.tidied.length) lines.push(`    ${m.tidied.length} logged serial(s) expired more than 72 h ago and were tidied from Vault: ${m.tidied.join(', ')}`);
    for (const n of m.notes) lines.push(`    note: ${n}`);
  }
  for (const n of r.notChecked) lines.push(`  not checked: ${n}`);
  if (r.findings.length) lines.push(`${r.findings.length} finding(s):`, ...r.findings.map((f) => `  ✗ ${f.message}`));
  else lines.push('No findings: certwright\'s records and Vault\'s agree.');
  return lines.join('\n');
}

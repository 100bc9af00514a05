/**
 * The status snapshot: what `certwright status --json` prints and the live screen shows. Its JSON
 * Schema is docs/status.schema.json (kept in step with these types; a test validates real output
 * against it). Every section and every entry carries a `state`; a section that cannot be
 * evaluated is "unknown" with a `reason`, never silently empty.
 */

export type Level = 'ok' | 'warn' | 'fail' | 'unknown';

export const SCHEMA_ID = 'certwright-status/1';

/** Exit codes of `status` and `doctor` (documented in the README). */
export const EXIT = { healthy: 0, warning: 8, failing: 9 } as const;

export interface Problem {
  section: SectionName;
  subject: string;
  level: 'warn' | 'fail';
  message: string;
}

export type SectionName = 'vault' | 'pki' | 'agents' | 'containers' | 'certificates' | 'caDistribution' | 'events';

export const SECTION_ORDER: SectionName[] = ['vault', 'pki', 'agents', 'containers', 'certificates', 'caDistribution', 'events'];

export const SECTION_TITLE: Record<SectionName, string> = {
  vault: 'Vault',
  pki: 'PKI',
  agents: 'Agents',
  containers: 'Containers',
  certificates: 'Certificates',
  caDistribution: 'CA distribution',
  events: 'Events',
};

export interface SectionBase {
  state: Level;
  reason?: string;
}

export interface CertSummary {
  subject: string;
  notAfter: string;
  daysLeft: number;
  warnAtDays?: number;
  fingerprint: string;
}

export interface VaultSection extends SectionBase {
  addr: string | null;
  https: boolean | null;
  caFile: string | null;
  reachable: boolean | null;
  initialized: boolean | null;
  sealed: boolean | null;
  standby: boolean | null;
  version: string | null;
  certificate: (CertSummary & { verified: boolean; error?: string }) | null;
  /** A raft cluster (vault-server --nodes): each node as read on its own address. */
  nodes?: VaultNodeStatus[];
}

export interface VaultNodeStatus {
  id: string;
  addr: string;
  state: Level;
  reason?: string;
  /** leader (active), standby, sealed, or down (does not answer). */
  role: 'leader' | 'standby' | 'sealed' | 'down';
  sealed: boolean | null;
  /** sys/leader raft_applied_index (autopilot's last_index when the node itself does not say). */
  appliedIndex: number | null;
  /** Listed in sys/storage/raft/configuration; null when it could not be read (membershipReason). */
  inRaftConfig: boolean | null;
  voter: boolean | null;
  /** autopilot: "voter, alive, healthy". */
  autopilot?: string;
  membershipReason?: string;
  certificate: { source: 'served' | 'file'; file?: string; notAfter: string; daysLeft: number; warnAtDays: number; fingerprint: string; verified: boolean | null; namesOwnAddress: boolean } | null;
}

export interface IssuerEntry {
  id: string;
  name: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
  warnAtDays?: number;
  isRoot: boolean;
  isDefault: boolean;
  keyId: string;
  state: Level;
  reason?: string;
}

export interface MountEntry {
  path: string;
  state: Level;
  reason?: string;
  maxLeaseTtlSeconds: number | null;
  defaultIssuer: string | null;
  issuers: IssuerEntry[];
  urls: { issuingCertificates: string[]; crlDistributionPoints: string[]; http: boolean } | null;
  roles: string[] | null;
  keys: { total: number; orphans: string[] } | null;
  /** The root's CRL, fetched from the default issuer's CRL distribution point; absent when it names none. */
  rootCrl?: RootCrlEntry;
}

export interface RootCrlEntry {
  url: string;
  state: Level;
  reason?: string;
  number: number | null;
  nextUpdate: string | null;
  daysLeft: number | null;
}

export interface PkiSection extends SectionBase {
  mounts: MountEntry[];
}

export interface AgentEntry {
  name: string;
  kind: string;
  mount: string | null;
  user: string | null;
  config: string;
  state: Level;
  reason?: string;
  unit: { name: string | null; state: string; reason?: string };
  /** systemd's ActiveState of the unit (active, failed, inactive, activating...); null when not reachable. */
  activeState: string | null;
  /** ExecMainStatus: the main process's last exit status (218 = CAPABILITIES); null when not reachable. */
  execMainStatus: number | null;
  /** The unit's last journal lines (its output and systemd's words about it); null when unreadable. */
  journal: string[] | null;
  process: { alive: boolean; pids: number[]; uids: number[] };
  lastRender: { file: string; time: string; ageSeconds: number } | null;
  token: { state: Level; ttlSeconds?: number; expireTime?: string | null; renewable?: boolean; reason?: string } | null;
}

export interface AgentsSection extends SectionBase {
  agents: AgentEntry[];
}

export interface ContainerEntry {
  name: string;
  id: string;
  image: string;
  reload: string;
  state: Level;
  reason?: string;
  lastReload: { outcome: 'reloaded' | 'reload-failed'; time: string; detail: string | null } | null;
  served: { endpoint: string; fingerprint: string | null; verified: boolean | null; current: boolean | null; error?: string } | null;
}

export interface ContainersSection extends SectionBase {
  containers: ContainerEntry[];
}

export interface CertificateEntry {
  path: string;
  /** Where certwright knows the file from: root-create, vault-cert, agent-app/web, --cert-dir, ... */
  source: string;
  role: 'leaf' | 'intermediate' | 'root' | 'chain';
  subject: string;
  sans: string[];
  notAfter: string;
  daysLeft: number;
  warnAtDays?: number;
  fingerprint: string;
  count: number;
  keyFile: string | null;
  keyMatches: boolean | null;
  chainVerifies: boolean | null;
  chainError?: string;
  sameAsWritten: boolean | null;
  sameAsWrittenDetail?: string;
  state: Level;
  reason?: string;
  /** What certwright knows reads this file (Vault's listener, an agent's ca_cert, an app's TLS directory...); empty when it knows of no reader. */
  readBy: string[];
  /** Every certificate in the file, in file order (a chain file holds several). */
  holds: CertificateInFile[];
  /** Other files of this section that hold the same (first) certificate: one certificate, several places. */
  alsoIn: string[];
}

export interface CertificateInFile {
  subject: string;
  ca: boolean;
  notAfter: string;
  daysLeft: number;
  fingerprint: string;
}

export interface CertificatesSection extends SectionBase {
  /** One entry per file, worst first (then soonest expiry): the order the screen and `--format text` show. */
  certificates: CertificateEntry[];
  counts: { total: number; ok: number; expiring: number; expired: number; failing: number; unreadable: number };
}

export interface TrustEntry {
  /** user:NAME for a service user's trust file, agent:NAME for an agent's ca_cert. */
  subject: string;
  file: string;
  state: Level;
  matches: boolean | null;
  reason?: string;
}

export interface CaDistributionSection extends SectionBase {
  root: { file: string; fingerprint: string; subject: string } | null;
  entries: TrustEntry[];
}

export interface EventEntry {
  time: string;
  event: string;
  workload?: string;
  container?: string;
  serial?: string;
  fingerprint?: string;
  detail?: string;
  file?: string;
}

export interface EventsSection extends SectionBase {
  files: string[];
  total: number;
  counts: Record<string, number>;
  latest: EventEntry[];
}

export interface StatusSnapshot {
  schema: typeof SCHEMA_ID;
  env: string | null;
  generatedAt: string;
  durationMs: number;
  warnDays: number | null;
  health: 'ok' | 'warn' | 'fail';
  exitCode: number;
  summary: Record<Level, number>;
  problems: Problem[];
  sections: {
    vault: VaultSection;
    pki: PkiSection;
    agents: AgentsSection;
    containers: ContainersSection;
    certificates: CertificatesSection;
    caDistribution: CaDistributionSection;
    events: EventsSection;
  };
}

const RANK: Record<Level, number> = { unknown: 0, ok: 1, warn: 2, fail: 3 };

/** Where an entry stands when a list is shown worst first: fail, warn, unknown, ok. */
export const WORST_FIRST: Record<Level, number> = { fail: 0, warn: 1, unknown: 2, ok: 3 };

/** The worse of the levels given; "unknown" only when nothing else is known. */
export function worst(levels: Level[], whenEmpty: Level = 'ok'): Level {
  if (levels.length === 0) return whenEmpty;
  let out: Level = 'unknown';
  for (const l of levels) if (RANK[l] > RANK[out]) out = l;
  return out;
}

/**
 * The warning point for one certificate: --warn-days when given, else a third of its lifetime
 * (as certbot renews), so a fresh 72-hour leaf is green and a 90-day one warns at 30 days.
 */
export function warnAtDays(warnDays: number | null, notBefore: string | Date, notAfter: string | Date): number {
  if (warnDays !== null) return warnDays;
  const lifetime = (new Date(notAfter).getTime() - new Date(notBefore).getTime()) / 86_400_000;
  return Math.round((lifetime / 3) * 10) / 10;
}

/** Expiry against the warning point: expired = fail, less left than the warning point = warn. */
export function expiryLevel(daysLeft: number, warnAt: number): Level {
  if (daysLeft < 0) return 'fail';
  if (daysLeft < warnAt) return 'warn';
  return 'ok';
}

/** How the warning point reads in a reason. */
export function windowText(warnDays: number | null, warnAt: number): string {
  return warnDays === null ? `under a third of its lifetime left (warns at ${warnAt} days)` : `inside the ${warnDays}-day window`;
}

export function daysUntil(date: Date, now: Date): number {
  return Math.floor(((date.getTime() - now.getTime()) / 86_400_000) * 10) / 10;
}

export function exitCodeFor(health: StatusSnapshot['health']): number {
  return health === 'fail' ? EXIT.failing : health === 'warn' ? EXIT.warning : EXIT.healthy;
}

/**
 * Doctor's report: each known failure mode is a check; what a check finds is a finding with the
 * exact fix. JSON Schema: docs/doctor.schema.json. Exit codes as status: 0 nothing found,
 * 8 only warnings, 9 at least one failure.
 */
export const DOCTOR_SCHEMA_ID = 'certwright-doctor/1';

export type CheckId =
  | 'key-unreadable'
  | 'compose-keep-id'
  | 'compose-chown'
  | 'unit-capabilities'
  | 'unit-failed'
  | 'sink-dev-null'
  | 'sink-mode-quoted'
  | 'template-key-perms'
  | 'agent-ca-mismatch'
  | 'container-tls-unlabelled'
  | 'container-unreachable'
  | 'agent-unknown-authority'
  | 'aia-crl-http'
  | 'mount-ttl-short'
  | 'expiring'
  | 'orphan-keys'
  | 'root-crl'
  | 'pki-upkeep'
  | 'raft-membership'
  | 'raft-node-cert';

export const CHECK_TITLES: Record<CheckId, string> = {
  'key-unreadable': 'key files the container user cannot read',
  'compose-keep-id': 'compose files running with userns keep-id',
  'compose-chown': 'compose files whose container expects to chown its volumes',
  'unit-capabilities': 'user units with capability directives (218/CAPABILITIES)',
  'unit-failed': 'agent units that really failed in their user\'s systemd (ExecMainStatus, journal)',
  'sink-dev-null': 'agent token sinks at /dev/null',
  'sink-mode-quoted': 'agent token sinks with a quoted mode',
  'template-key-perms': 'agent templates that write keys without perms',
  'agent-ca-mismatch': 'agents trusting a CA that does not verify Vault (unknown authority)',
  'container-tls-unlabelled': 'containers serving TLS without the tls=true label',
  'container-unreachable': 'tls=true containers the agent\'s own user cannot reload (another user\'s Podman)',
  'agent-unknown-authority': 'agents whose journal says Vault\'s certificate is from an unknown authority',
  'aia-crl-http': 'AIA/CRL URLs still http after HTTPS is up',
  'mount-ttl-short': 'mount max TTL shorter than a requested TTL',
  expiring: 'leaves and intermediates expiring inside the warning window',
  'orphan-keys': 'orphan keys left in a mount',
  'pki-upkeep': 'PKI mounts bao pki health-check would flag (tidy, CRL rebuild, audit visibility, headers, localhost)',
  'root-crl': 'root CRLs missing, lapsed or about to lapse at the intermediates\' CRL distribution points',
  'raft-membership': 'raft cluster nodes missing from the raft configuration',
  'raft-node-cert': 'raft cluster nodes whose certificate does not name their own address',
};

export interface Finding {
  check: CheckId;
  level: 'warn' | 'fail';
  subject: string;
  message: string;
  fix: string;
  file?: string;
  line?: number;
}

export interface CheckResult {
  id: CheckId;
  title: string;
  state: 'ok' | 'found' | 'unknown';
  /** Why the check could not run (unknown), or what it looked at (ok). */
  reason?: string;
  findings: number;
}

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA_ID;
  env: string | null;
  generatedAt: string;
  warnDays: number | null;
  health: 'ok' | 'warn' | 'fail';
  exitCode: number;
  checks: CheckResult[];
  findings: Finding[];
}

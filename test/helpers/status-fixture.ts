import { SCHEMA_ID, type StatusSnapshot } from '../../source/status/types.js';

/** A status snapshot for the screen tests: no I/O, Vault reachable (or not), two certificates. */
export function statusFixture(overrides: { reachable?: boolean } = {}): StatusSnapshot {
  const reachable = overrides.reachable ?? true;
  const unknown = { state: 'unknown' as const, reason: 'not in this fixture' };
  return {
    schema: SCHEMA_ID,
    env: 'fx',
    generatedAt: '2026-11-22T10:00:00.000Z',
    durationMs: 12,
    warnDays: 14,
    health: reachable ? 'warn' : 'fail',
    exitCode: reachable ? 8 : 9,
    summary: { ok: 1, warn: 1, fail: 0, unknown: 5 },
    problems: [],
    sections: {
      vault: { state: reachable ? 'ok' : 'fail', addr: 'https://vault.fx:8200', https: true, caFile: '/etc/fx/root.pem', reachable, initialized: true, sealed: false, standby: false, version: '2.7.2', certificate: { subject: 'CN=vault.fx', notAfter: '2027-01-01T00:00:00.000Z', daysLeft: 40, fingerprint: 'AB:CD', verified: true } },
      pki: { ...unknown, mounts: [] },
      agents: { ...unknown, agents: [] },
      containers: { ...unknown, containers: [] },
      certificates: {
        state: 'warn',
        certificates: [
          { path: '/srv/tls/a.pem', source: '--cert-dir /srv/tls', role: 'leaf', subject: 'CN=a.fx', sans: ['a.fx'], notAfter: '2026-11-25T00:00:00.000Z', daysLeft: 2.6, fingerprint: '11:22', count: 1, keyFile: '/srv/tls/a.key', keyMatches: true, chainVerifies: true, sameAsWritten: null, state: 'warn', reason: 'expires in 2.6 days', readBy: ['app a\'s server (through /srv/tls/current; the hook swaps it in)'], holds: [{ subject: 'CN=a.fx', ca: false, notAfter: '2026-11-25T00:00:00.000Z', daysLeft: 2.6, fingerprint: '11:22' }], alsoIn: [] },
          { path: '/srv/tls/b.pem', source: '--cert-dir /srv/tls', role: 'leaf', subject: 'CN=b.fx', sans: ['b.fx'], notAfter: '2027-11-25T00:00:00.000Z', daysLeft: 368, fingerprint: '33:44', count: 1, keyFile: null, keyMatches: null, chainVerifies: true, sameAsWritten: null, state: 'ok', readBy: [], holds: [{ subject: 'CN=b.fx', ca: false, notAfter: '2027-11-25T00:00:00.000Z', daysLeft: 368, fingerprint: '33:44' }], alsoIn: [] },
        ],
        counts: { total: 2, ok: 1, expiring: 1, expired: 0, failing: 0, unreadable: 0 },
      },
      caDistribution: { ...unknown, root: null, entries: [] },
      events: { state: 'ok', files: ['/x/events.jsonl'], total: 1, counts: { reloaded: 1 }, latest: [{ time: '2026-11-22T09:59:00.000Z', event: 'reloaded', container: 'web' }] },
    },
  };
}

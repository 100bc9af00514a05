import type { Level, SectionName, StatusSnapshot } from '../source/status/types.js';
import { certificateSummary, days } from '../source/status/text.js';
import { humanDuration } from '../source/duration.js';

/**
 * The status screen's rows, derived from a snapshot without any I/O: one row per thing in a
 * section (a mount, an agent, a container, a certificate file, ...), worst first where order
 * carries no meaning of its own, each with the key/value details shown on enter.
 */
export interface Row {
  key: string;
  level: Level;
  text: string;
  /** A second line under the text: the file a row is about, so rows that read alike are told apart. */
  sub?: string;
  details: Array<[string, string]>;
}

function yn(v: boolean | null | undefined, yes = 'yes', no = 'no'): string {
  return v === null || v === undefined ? 'unknown' : v ? yes : no;
}

function ago(seconds: number): string {
  if (seconds < 90) return `${seconds}s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

function ttl(seconds: number): string {
  if (seconds === 0) return 'no expiry';
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function sectionRows(s: StatusSnapshot, section: SectionName): Row[] {
  switch (section) {
    case 'vault': {
      const v = s.sections.vault;
      const rows: Row[] = [
        { key: 'addr', level: v.reachable === false ? 'fail' : v.reachable ? 'ok' : 'unknown', text: `Address    ${v.addr ?? '(none)'}${v.https === false ? ' (plain HTTP)' : ''}`, details: [['Address', v.addr ?? '(none)'], ['HTTPS', yn(v.https)], ['CA file', v.caFile ?? '(none)'], ['Reachable', yn(v.reachable)], ...(v.reason ? [['Reason', v.reason] as [string, string]] : [])] },
        { key: 'init', level: v.initialized === false ? 'fail' : v.initialized ? 'ok' : 'unknown', text: `Initialised ${yn(v.initialized)}`, details: [['Initialised', yn(v.initialized)]] },
        { key: 'sealed', level: v.sealed ? 'fail' : v.sealed === false ? 'ok' : 'unknown', text: `Sealed     ${yn(v.sealed)}`, details: [['Sealed', yn(v.sealed)], ['Fix', v.sealed ? 'certwright vault-unseal --env ENV (or bao operator unseal)' : '-']] },
        { key: 'standby', level: v.standby === null ? 'unknown' : 'ok', text: `Standby    ${yn(v.standby)}`, details: [['Standby', yn(v.standby)]] },
        { key: 'version', level: v.version ? 'ok' : 'unknown', text: `Version    ${v.version ?? 'unknown'}`, details: [['Version', v.version ?? 'unknown']] },
      ];
      const c = v.certificate;
      rows.push({
        key: 'cert',
        level: !c ? 'unknown' : !c.verified ? 'fail' : c.daysLeft < 0 ? 'fail' : c.daysLeft < (c.warnAtDays ?? s.warnDays ?? 0) ? 'warn' : 'ok',
        text: c ? `Certificate ${days(c.daysLeft)} · ${c.verified ? 'verifies' : 'does NOT verify'}` : `Certificate ${v.https === false ? 'none (plain HTTP)' : 'unknown'}`,
        details: c ? [['Subject', c.subject], ['Not after', time(c.notAfter)], ['Days left', String(c.daysLeft)], ['Fingerprint', c.fingerprint], ['Verifies', yn(c.verified)], ...(c.error ? [['Error', c.error] as [string, string]] : [])] : [['Certificate', 'not read']],
      });
      // A raft cluster: one row per node.
      for (const n of v.nodes ?? []) {
        rows.push({
          key: `node ${n.id}`,
          level: n.state,
          text: `${n.id.padEnd(10)} ${n.role} · ${n.sealed === null ? 'seal unknown' : n.sealed ? 'sealed' : 'unsealed'} · applied ${n.appliedIndex ?? '?'}${n.certificate ? ` · cert ${days(n.certificate.daysLeft)}` : ''}`,
          details: [
            ['Node', n.id],
            ['Address', n.addr],
            ['Role', n.role],
            ['Sealed', yn(n.sealed)],
            ['Applied index', n.appliedIndex === null ? 'unknown' : String(n.appliedIndex)],
            ['In raft configuration', n.inRaftConfig === null ? `not checked: ${n.membershipReason ?? 'unknown'}` : yn(n.inRaftConfig)],
            ['Voter', yn(n.voter)],
            ...(n.autopilot ? [['Autopilot', n.autopilot] as [string, string]] : []),
            ...(n.certificate ? [['Certificate until', time(n.certificate.notAfter)] as [string, string], ['Names its own address', yn(n.certificate.namesOwnAddress)] as [string, string]] : [['Certificate', 'not read'] as [string, string]]),
            ...(n.reason ? [['Reason', n.reason] as [string, string]] : []),
          ],
        });
      }
      return rows;
    }
    case 'pki':
      return s.sections.pki.mounts.map((m) => {
        const def = m.issuers.find((i) => i.isDefault);
        return {
          key: m.path,
          level: m.state,
          text: m.state === 'unknown' && m.issuers.length === 0 ? `${m.path}  not checked: ${m.reason ?? 'unknown why'}` : `${m.path}  ${m.issuers.length} issuer(s)${def ? ` · default ${def.name || def.id.slice(0, 8)} ${days(def.daysLeft)}` : ''}${m.urls ? ` · urls ${m.urls.http ? 'http' : 'https'}` : ''}${m.keys?.orphans.length ? ` · ${m.keys.orphans.length} orphan key(s)` : ''}${m.rootCrl ? ` · root CRL ${m.rootCrl.daysLeft === null ? m.rootCrl.state : days(m.rootCrl.daysLeft)}` : ''}`,
          details: [
            ['Mount', m.path],
            ['State', m.state + (m.reason ? ` — ${m.reason}` : '')],
            ['Max lease TTL', m.maxLeaseTtlSeconds === null ? 'unknown' : `${humanDuration(m.maxLeaseTtlSeconds)} (${m.maxLeaseTtlSeconds}s)`],
            ...m.issuers.map((i) => [`${i.isDefault ? 'Default ' : ''}${i.isRoot ? 'root' : 'issuer'} ${i.name || i.id.slice(0, 8)}`, `${i.subject} · ${days(i.daysLeft)} (${time(i.notAfter)})`] as [string, string]),
            ['AIA', m.urls ? m.urls.issuingCertificates.join(', ') || '(none)' : 'unknown'],
            ['CRL', m.urls ? m.urls.crlDistributionPoints.join(', ') || '(none)' : 'unknown'],
            ['Roles', m.roles ? m.roles.join(', ') || '(none)' : 'unknown'],
            ['Keys', m.keys ? `${m.keys.total} (orphans: ${m.keys.orphans.join(', ') || 'none'})` : 'unknown'],
            ...(m.rootCrl ? [['Root CRL', `${m.rootCrl.url} · ${m.rootCrl.number === null ? '' : `number ${m.rootCrl.number} · `}${m.rootCrl.nextUpdate ? `next update ${time(m.rootCrl.nextUpdate)} (${days(m.rootCrl.daysLeft ?? 0)})` : m.rootCrl.reason ?? m.rootCrl.state}`] as [string, string]] : []),
          ],
        };
      });
    case 'agents':
      return s.sections.agents.agents.map((a) => ({
        key: a.config,
        level: a.state,
        text: `${a.name} (${a.kind}) ${a.process.alive ? `pid ${a.process.pids.join(',')}` : 'not running'} · unit ${a.unit.state}${a.lastRender ? ` · rendered ${ago(a.lastRender.ageSeconds)}` : ''}${a.token?.ttlSeconds !== undefined ? ` · token ${ttl(a.token.ttlSeconds)}` : ''}`,
        details: [
          ['Agent', `${a.name} (${a.kind})${a.mount ? ` on ${a.mount}` : ''}`],
          ['State', a.state + (a.reason ? ` — ${a.reason}` : '')],
          ['Config', a.config],
          ['User', a.user ?? '(the current user)'],
          ['Unit', `${a.unit.name ?? '(none)'}: ${a.unit.state}${a.unit.reason ? ` — ${a.unit.reason}` : ''}`],
          ['Process', a.process.alive ? `pid ${a.process.pids.join(', ')} (uid ${a.process.uids.join(', ')})` : 'none'],
          ['Last render', a.lastRender ? `${a.lastRender.file} at ${time(a.lastRender.time)}` : 'never'],
          ['Token', a.token ? (a.token.ttlSeconds !== undefined ? `TTL ${ttl(a.token.ttlSeconds)}${a.token.renewable ? ', renewable' : ''}` : (a.token.reason ?? a.token.state)) : 'no file sink'],
        ],
      }));
    case 'containers':
      return s.sections.containers.containers.map((c) => ({
        key: c.id,
        level: c.state,
        text: `${c.name}  ${c.image.replace(/^localhost\//, '')} · ${c.lastReload ? `${c.lastReload.outcome} ${time(c.lastReload.time).slice(11, 19)}` : 'no reload logged'}${c.served?.fingerprint ? ` · serves ${c.served.fingerprint.slice(0, 11)}` : ''}`,
        details: [
          ['Container', `${c.name} (${c.id})`],
          ['State', c.state + (c.reason ? ` — ${c.reason}` : '')],
          ['Image', c.image],
          ['Reload command', c.reload],
          ['Last reload', c.lastReload ? `${c.lastReload.outcome} at ${time(c.lastReload.time)}${c.lastReload.detail ? ` — ${c.lastReload.detail}` : ''}` : 'none in the event log'],
          ['Serves', c.served ? `${c.served.endpoint}: ${c.served.fingerprint ?? c.served.error ?? '?'}` : 'no tls.check/tls.port label'],
          ['Chain to root', c.served ? yn(c.served.verified) : '-'],
          ['Current cert', c.served ? yn(c.served.current) : '-'],
        ],
      }));
    case 'certificates':
      // One row per file, the file its heading: the same certificate in two files is two paths, not two look-alike rows.
      return s.sections.certificates.certificates.map((c) => ({
        key: c.path,
        level: c.state,
        text: c.path,
        sub: certificateSummary(c),
        details: [
          ['File', c.path],
          ['Read by', c.readBy.join('; ') || 'no reader known to certwright'],
          ['Known from', c.source],
          ['State', c.state + (c.reason ? ` — ${c.reason}` : '')],
          ['Role', `${c.role} (${c.count} certificate(s) in the file)`],
          ['Subject', c.subject],
          ...c.holds.slice(1).map((h, i) => [`Then (${i + 2})`, `${h.subject} · ${days(h.daysLeft)} (${time(h.notAfter)})`] as [string, string]),
          ['SANs', c.sans.join(', ') || '-'],
          ['Not after', c.notAfter ? `${time(c.notAfter)} (${days(c.daysLeft)})` : '-'],
          ['Fingerprint', c.fingerprint || '-'],
          ['Also in', c.alsoIn.join(', ') || '-'],
          ['Key', c.keyFile ? `${c.keyFile}: ${yn(c.keyMatches, 'matches', 'does NOT match')}` : '-'],
          ['Chain to root', `${yn(c.chainVerifies, 'verifies', 'does NOT verify')}${c.chainError ? ` — ${c.chainError}` : ''}`],
          ['As written', c.sameAsWritten === null && !c.sameAsWrittenDetail ? 'no record of what was written (not written by certwright)' : `${yn(c.sameAsWritten, 'same', 'differs')}${c.sameAsWrittenDetail ? ` — ${c.sameAsWrittenDetail}` : ''}`],
        ],
      }));
    case 'caDistribution': {
      const root = s.sections.caDistribution.root;
      return s.sections.caDistribution.entries.map((e) => ({
        key: e.subject,
        level: e.state,
        text: `${e.subject}  ${e.matches ? 'holds the root' : e.matches === false ? 'DRIFTED' : 'unknown'} · ${e.file}`,
        details: [
          ['Trust of', e.subject],
          ['File', e.file || '-'],
          ['State', e.state + (e.reason ? ` — ${e.reason}` : '')],
          ['Environment root', root ? `${root.subject} from ${root.file}` : 'unknown'],
          ['Root fingerprint', root ? root.fingerprint : 'unknown'],
        ],
      }));
    }
    case 'events': {
      const ev = s.sections.events;
      const counts: Row = { key: 'counts', level: ev.state, text: `${ev.total} event(s): ${Object.entries(ev.counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`, details: [['Files', ev.files.join(', ')], ...Object.entries(ev.counts).map(([k, v]) => [k, String(v)] as [string, string])] };
      return [
        counts,
        ...[...ev.latest].reverse().map((e, i) => ({
          key: `${e.time}-${i}`,
          level: (/failed/.test(e.event) ? 'fail' : 'ok') as Level,
          text: `${time(e.time).slice(5, 19)} ${e.event.padEnd(13)} ${e.container ?? e.workload ?? ''}`,
          details: [['Time', e.time], ['Event', e.event], ['Workload', e.workload ?? '-'], ['Container', e.container ?? '-'], ['Serial', e.serial ?? '-'], ['Fingerprint', e.fingerprint ?? '-'], ['Detail', e.detail ?? '-'], ['Log', e.file ?? '-']] as Array<[string, string]>,
        })),
      ];
    }
  }
}

import { SECTION_ORDER, SECTION_TITLE, type Level, type StatusSnapshot, type VaultNodeStatus } from './types.js';

/** One raft node: "lab-2 https://127.0.0.1:8202 leader, unsealed, applied 41, voter, cert until ... (12 d)". */
export function nodeLine(n: VaultNodeStatus): string {
  const parts = [n.role, n.sealed === null ? 'seal unknown' : n.sealed ? 'sealed' : 'unsealed', n.appliedIndex === null ? 'applied index unknown' : `applied ${n.appliedIndex}`];
  parts.push(n.inRaftConfig === null ? `membership not checked: ${n.membershipReason ?? 'unknown'}` : n.inRaftConfig ? (n.voter ? 'voter' : 'non-voter') : 'NOT in the raft configuration');
  if (n.certificate) parts.push(`cert until ${n.certificate.notAfter} (${n.certificate.daysLeft} d${n.certificate.source === 'file' ? ', from its file' : ''})`);
  else parts.push('certificate not read');
  return `${n.id.padEnd(10)} ${n.addr} ${parts.join(', ')}`;
}

/** A plain-text rendering of a snapshot (--format text): one line per section, then the problems. */
const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', unknown: '?   ' };

export function toText(s: StatusSnapshot): string {
  const lines = [`certwright status · env ${s.env ?? '(none)'} · ${s.generatedAt} · ${s.health.toUpperCase()} (exit ${s.exitCode})`];
  for (const name of SECTION_ORDER) {
    const sec = s.sections[name];
    lines.push(`  ${MARK[sec.state]} ${SECTION_TITLE[name].padEnd(16)} ${sec.reason ?? ''}`.trimEnd());
    if (name === 'vault') for (const n of s.sections.vault.nodes ?? []) lines.push(`       ${MARK[n.state]} ${nodeLine(n)}`.trimEnd());
  }
  if (s.problems.length) {
    lines.push('', 'Problems:');
    for (const p of s.problems) lines.push(`  ${p.level === 'fail' ? 'FAIL' : 'WARN'} [${p.section}] ${p.subject}: ${p.message}`);
  }
  return `${lines.join('\n')}\n`;
}

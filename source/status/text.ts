import { SECTION_ORDER, SECTION_TITLE, type CertificateEntry, type Level, type StatusSnapshot, type VaultNodeStatus } from './types.js';
import { wrapText } from '../text-wrap.js';

/** Days left as a row shows them: "89d left", "expired 3d ago". */
export function days(d: number): string {
  return d < 0 ? `expired ${Math.abs(Math.round(d))}d ago` : `${Math.floor(d)}d left`;
}

/** What a certificate file holds and who reads it, in one line under its path (the screen's row, `--format text`). */
export function certificateSummary(c: CertificateEntry): string {
  const held = c.notAfter ? `${days(c.daysLeft)} ${c.role} ${c.subject.replace(/^CN=/, '')}${c.count > 1 ? ` +${c.count - 1} more` : ''}` : `unreadable: ${c.reason ?? 'unknown why'}`;
  const readers = c.readBy.length ? `read by ${c.readBy.map((r) => r.replace(/ \(.*\)$/, '')).join(', ')}` : 'no reader known';
  return `${held} · ${readers}${c.alsoIn.length ? ` · also in ${c.alsoIn.length} other file${c.alsoIn.length > 1 ? 's' : ''}` : ''}`;
}


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

/**
 * The snapshot as text: one line per section, each certificate file under Certificates (its path,
 * then what it holds and who reads it, in the order of the screen), then the problems. With
 * `columns` (a terminal) every line wraps under itself; nothing is cut.
 */
export function toText(s: StatusSnapshot, columns?: number): string {
  const lines: string[] = [];
  const put = (text: string, lead = '', hang = lead) => {
    if (columns === undefined) lines.push(`${lead}${text}`.trimEnd());
    else lines.push(...wrapText(text, columns, lead, hang));
  };
  put(`certwright status · env ${s.env ?? '(none)'} · ${s.generatedAt} · ${s.health.toUpperCase()} (exit ${s.exitCode})`);
  for (const name of SECTION_ORDER) {
    const sec = s.sections[name];
    put(`${SECTION_TITLE[name].padEnd(16)} ${sec.reason ?? ''}`, `  ${MARK[sec.state]} `, ' '.repeat(24));
    if (name === 'vault') for (const n of s.sections.vault.nodes ?? []) put(nodeLine(n), `       ${MARK[n.state]} `, ' '.repeat(18));
    if (name === 'certificates')
      for (const c of s.sections.certificates.certificates) {
        put(c.path, `       ${MARK[c.state]} `, ' '.repeat(12));
        put(certificateSummary(c), ' '.repeat(12), ' '.repeat(14));
      }
  }
  if (s.problems.length) {
    lines.push('', 'Problems:');
    for (const p of s.problems) put(`${p.level === 'fail' ? 'FAIL' : 'WARN'} [${p.section}] ${p.subject}: ${p.message}`, '  ', '    ');
  }
  return `${lines.join('\n')}\n`;
}

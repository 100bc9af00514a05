import { SECTION_ORDER, SECTION_TITLE, type Level, type StatusSnapshot } from './types.js';

/** A plain-text rendering of a snapshot (--format text): one line per section, then the problems. */
const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', unknown: '?   ' };

export function toText(s: StatusSnapshot): string {
  const lines = [`certwright status · env ${s.env ?? '(none)'} · ${s.generatedAt} · ${s.health.toUpperCase()} (exit ${s.exitCode})`];
  for (const name of SECTION_ORDER) {
    const sec = s.sections[name];
    lines.push(`  ${MARK[sec.state]} ${SECTION_TITLE[name].padEnd(16)} ${sec.reason ?? ''}`.trimEnd());
  }
  if (s.problems.length) {
    lines.push('', 'Problems:');
    for (const p of s.problems) lines.push(`  ${p.level === 'fail' ? 'FAIL' : 'WARN'} [${p.section}] ${p.subject}: ${p.message}`);
  }
  return `${lines.join('\n')}\n`;
}

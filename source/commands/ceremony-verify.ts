import fs from 'node:fs';
import type { CommandSpec } from '../command.js';
import { printJson } from '../output.js';
import { OperatorError } from '../errors.js';
import { buildCeremonyScript } from '../ceremony/script.js';
import { compareRehearsal, verifyAgainstScript, type CeremonyVerification, type RehearsalComparison } from '../ceremony/verify.js';
import { formatHead } from '../../state/transcript.js';
import { FILE_FLAG } from './estate-flags.js';
import { STEP_FLAG, openCeremony } from './ceremony-common.js';

function requireTranscript(file: string, flag: string): string {
  if (!fs.existsSync(file)) throw new OperatorError(`There is no transcript at ${file} (${flag}).`, 'Pass the transcript carried from the ceremony machine ($CERTWRIGHT_HOME/envs/ENV/transcript.jsonl there). A missing transcript is not a verified one.');
  return file;
}

function formatVerification(label: string, v: CeremonyVerification): string[] {
  const lines = [`${label}: ${v.transcript}`];
  lines.push(`  hash chain: ${v.chain.ok ? `intact, ${v.chain.entries} entries` : `BROKEN at entry ${v.chain.brokenAt} (${v.chain.reason})`}${v.head ? `; head ${formatHead(v.head)}` : ''}`);
  if (v.window) lines.push(`  this ceremony: entries ${v.window.from}..${v.window.to}${v.before ? ` (${v.before} earlier entries belong to earlier ceremonies, not judged here)` : ''}${v.after ? ` (${v.after} later entries belong to later ceremonies, not judged here)` : ''}`);
  for (const m of v.matches) {
    lines.push(`  ${m.ok ? '✓' : '✗'} ${m.n}. ${m.action}${m.seq !== undefined ? `: entry ${m.seq}, ${m.time}, ${m.operator}` : ': not in the transcript'}`);
    for (const f of m.fields) lines.push(`      ${f.ok ? '✓' : '✗'} ${f.field}: ${f.recorded}${f.ok ? '' : ` (the script expects ${f.expected})`}`);
  }
  return lines;
}

function formatComparison(c: RehearsalComparison): string[] {
  const lines = [`Rehearsal against the ceremony: ${c.sameSequence ? 'the same sequence of actions' : 'a DIFFERENT sequence of actions'} (${c.real.join(' → ') || 'none'})`];
  for (const p of c.pairs) {
    const parts = (['fingerprint', 'time', 'host'] as const).filter((k) => p.differ[k].length).map((k) => `${k}s: ${p.differ[k].join(', ')}`);
    lines.push(`  ${p.n}. ${p.action}: differs only in ${parts.length ? parts.join('; ') : 'nothing'}`);
  }
  return lines;
}

/**
 * ceremony verify: the transcript held against the ceremony script of the estate file (every
 * scripted action, in order, with the fingerprints the script expects; nothing unscripted), and
 * with --rehearsal a rehearsal's transcript beside it (the same actions; only fingerprints, times
 * and hosts differ). Exit 4 on any finding.
 */
export const command: CommandSpec = {
  name: 'ceremony verify',
  summary: 'Checks a ceremony transcript against the estate\'s ceremony script: every scripted action happened, in order, with the fingerprints the script expected, and nothing unscripted happened. --rehearsal FILE compares a rehearsal\'s transcript (only fingerprints, times and hosts may differ). Exit 4 on any finding.',
  usage: 'ceremony verify --file FILE --transcript FILE [--step root|sign-intermediate|root-crl] [--rehearsal FILE] [--json]',
  flags: [
    FILE_FLAG,
    { name: 'transcript', type: 'string', value: 'FILE', description: 'the transcript carried from the ceremony machine' },
    STEP_FLAG,
    { name: 'rehearsal', type: 'string', value: 'FILE', description: 'a rehearsal\'s transcript (lab, --one-machine, a second state home) to compare with the ceremony\'s' },
  ],
  async run(ctx) {
    const { estate, ceremonies, whole } = openCeremony(ctx);
    const transcript = requireTranscript(ctx.flags.require('transcript', 'the ceremony transcript'), '--transcript');
    const rehearsalFile = ctx.flags.string('rehearsal');
    if (rehearsalFile !== undefined) requireTranscript(rehearsalFile, '--rehearsal');
    const script = await buildCeremonyScript(estate, ceremonies);
    const real = verifyAgainstScript(script, transcript, { whole });
    const rehearsal = rehearsalFile !== undefined ? verifyAgainstScript(script, rehearsalFile, { whole, rehearsal: true }) : undefined;
    const comparison = rehearsal ? compareRehearsal(real, rehearsal) : undefined;
    const findings = [...real.findings, ...(rehearsal?.findings.map((f) => ({ ...f, message: `rehearsal: ${f.message}` })) ?? []), ...(comparison?.findings ?? [])];
    if (ctx.flags.bool('json')) {
      const strip = (v: CeremonyVerification) => ({ transcript: v.transcript, chain: v.chain, head: v.head, window: v.window, matches: v.matches, findings: v.findings });
      printJson({ environment: estate.spec.environment, ceremonies, ok: findings.length === 0, ceremony: strip(real), ...(rehearsal ? { rehearsal: strip(rehearsal), comparison } : {}), findings });
    } else {
      const lines = [`Ceremony ${ceremonies.join(', ')} of ${estate.spec.environment} (${estate.file}, ${script.actions.length} scripted actions, ${script.actions.filter((a) => a.recorded).length} recorded by certwright)`];
      lines.push(...formatVerification('Transcript', real));
      if (rehearsal && comparison) lines.push(...formatVerification('Rehearsal', rehearsal), ...formatComparison(comparison));
      if (findings.length) lines.push(`${findings.length} finding(s):`, ...findings.map((f) => `  ✗ ${f.message}`));
      else lines.push(rehearsal ? 'The ceremony followed its script, and the rehearsal matches it.' : 'The ceremony followed its script: every scripted action, in order, with the expected fingerprints, and nothing else.');
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return findings.length ? 4 : 0;
  },
};

import { transcriptLines, verifyTranscript, entryHash, type TranscriptCheck, type TranscriptEntry } from '../../state/transcript.js';
import { ONLINE_ACTIONS, type CeremonyScript, type ScriptAction } from './script.js';

/**
 * A transcript held against its ceremony script. The ceremony's part of the transcript (its
 * window) starts at the first entry for a root ceremony (nothing happens on a ceremony machine
 * before its root), else at the entry of the script's first recorded action (the one with the
 * carried-in fingerprints the script names, or the latest of that action). Within the window,
 * every recorded action of the script must appear, in order, with the fields the script expects,
 * and every other entry is a finding: unscripted, or an online action on the ceremony machine.
 */

export interface FieldCheck {
  field: string;
  expected: string;
  recorded: string;
  ok: boolean;
}

export interface ActionMatch {
  n: number;
  title: string;
  action: string;
  seq?: number | undefined;
  time?: string | undefined;
  operator?: string | undefined;
  fields: FieldCheck[];
  ok: boolean;
}

export interface Finding {
  kind: 'chain' | 'missing' | 'mismatch' | 'unscripted' | 'online' | 'rehearsal';
  seq?: number | undefined;
  message: string;
}

export interface CeremonyVerification {
  transcript: string;
  chain: TranscriptCheck;
  head?: string | undefined;
  window: { from: number; to: number } | undefined;
  /** Entries before the window (earlier ceremonies), and after it that belong to another ceremony. */
  before: number;
  after: number;
  matches: ActionMatch[];
  findings: Finding[];
  entries: TranscriptEntry[];
  windowEntries: TranscriptEntry[];
}

const text = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(', ') || '(none)' : v === undefined ? '(absent)' : String(v));
const norm = (v: unknown): string => (Array.isArray(v) ? JSON.stringify(v.map((x) => norm(x)).sort()) : String(v).toLowerCase().replace(/:/g, ''));

function readEntries(file: string): { entries: TranscriptEntry[]; bad: Finding[] } {
  const entries: TranscriptEntry[] = [];
  const bad: Finding[] = [];
  transcriptLines(file).forEach((line, i) => {
    try {
      entries.push(JSON.parse(line) as TranscriptEntry);
    } catch {
      bad.push({ kind: 'chain', seq: i + 1, message: `entry ${i + 1} is not JSON` });
    }
  });
  return { entries, bad };
}

function fieldChecks(action: ScriptAction, entry: TranscriptEntry, skip: readonly string[] = []): FieldCheck[] {
  const done = action.ifDone && Object.entries(action.ifDone.match).every(([k, v]) => norm(entry[k]) === norm(v));
  return Object.entries({ ...action.expect, ...(done ? action.ifDone!.expect : {}) })
    .filter(([k]) => !skip.includes(k))
    .map(([field, want]) => ({ field, expected: text(want), recorded: text(entry[field]), ok: norm(entry[field]) === norm(want) }));
}

export interface VerifyOptions {
  /** A rehearsal: fingerprints of carried-in files are its own, not the script's. */
  rehearsal?: boolean;
  /** The script covers the estate's whole offline side: nothing may follow its window. */
  whole: boolean;
}

export function verifyAgainstScript(script: CeremonyScript, file: string, options: VerifyOptions): CeremonyVerification {
  const chain = verifyTranscript(file);
  const { entries: all, bad } = readEntries(file);
  const findings: Finding[] = [...bad];
  if (!chain.ok) findings.push({ kind: 'chain', seq: chain.brokenAt, message: `the hash chain is broken at entry ${chain.brokenAt}: ${chain.reason}` });
  // A rehearsal on one machine also records its online steps; they are not part of the ceremony.
  const entries = options.rehearsal ? all.filter((e) => !ONLINE_ACTIONS.has(e.action)) : all;
  const lines = transcriptLines(file);
  const head = lines.length ? entryHash(lines.at(-1)!) : undefined;
  const recorded = script.actions.filter((a) => a.recorded);
  const matches: ActionMatch[] = [];
  const first = recorded[0];
  let start = -1;
  if (first?.recorded === 'root-create') start = entries.length ? 0 : -1;
  else if (first) {
    const candidates = entries.map((e, i) => ({ e, i })).filter(({ e }) => e.action === first.recorded);
    const byFiles = options.rehearsal ? [] : candidates.filter(({ e }) => first.fromFiles.length > 0 && first.fromFiles.every((k) => norm(e[k]) === norm(first.expect[k])));
    start = (byFiles.at(-1) ?? candidates.at(-1))?.i ?? -1;
  }
  if (start < 0) {
    for (const a of recorded) {
      matches.push({ n: a.n, title: a.title, action: a.recorded!, fields: [], ok: false });
      findings.push({ kind: 'missing', message: `action ${a.n} (${a.recorded}) is not in the transcript` });
    }
    return { transcript: file, chain, head, window: undefined, before: entries.length, after: 0, matches, findings, entries: all, windowEntries: [] };
  }
  const scriptedKinds = new Set(recorded.map((a) => a.recorded));
  let pos = start;
  const windowEntries: TranscriptEntry[] = [];
  const unscripted = (e: TranscriptEntry) =>
    findings.push(
      ONLINE_ACTIONS.has(e.action)
        ? { kind: 'online', seq: e.seq, message: `entry ${e.seq} (${e.action}, ${e.time}, ${e.operator}) is an online action: the ceremony machine never reaches Vault` }
        : { kind: 'unscripted', seq: e.seq, message: `entry ${e.seq} (${e.action}, ${e.time}, ${e.operator}) is not in the script` },
    );
  for (const a of recorded) {
    let j = pos;
    while (j < entries.length && entries[j]!.action !== a.recorded) j += 1;
    if (j >= entries.length) {
      matches.push({ n: a.n, title: a.title, action: a.recorded!, fields: [], ok: false });
      findings.push({ kind: 'missing', message: `action ${a.n} (${a.recorded}) is not in the transcript${pos > start ? ' after the actions before it' : ''}` });
      continue;
    }
    for (const e of entries.slice(pos, j)) {
      windowEntries.push(e);
      unscripted(e);
    }
    const e = entries[j]!;
    windowEntries.push(e);
    const fields = fieldChecks(a, e, options.rehearsal ? a.fromFiles : []);
    const ok = fields.every((f) => f.ok);
    matches.push({ n: a.n, title: a.title, action: a.recorded!, seq: e.seq, time: e.time, operator: e.operator, fields, ok });
    for (const f of fields.filter((x) => !x.ok)) findings.push({ kind: 'mismatch', seq: e.seq, message: `entry ${e.seq} (${a.recorded}): ${f.field} is ${f.recorded}, the script expects ${f.expected}` });
    pos = j + 1;
  }
  // What follows the ceremony: another ceremony's actions are not judged here; anything else is.
  let after = 0;
  for (const e of entries.slice(pos)) {
    if (!options.whole && !scriptedKinds.has(e.action) && !ONLINE_ACTIONS.has(e.action) && e.action !== 'state-forget') {
      after += 1;
      continue;
    }
    windowEntries.push(e);
    unscripted(e);
  }
  const last = windowEntries.at(-1);
  return { transcript: file, chain, head, window: { from: entries[start]!.seq, to: last?.seq ?? entries[start]!.seq }, before: start, after, matches, findings, entries: all, windowEntries };
}

/** Fields a rehearsal may differ in, by kind; any other difference is a finding. */
export function differenceKind(field: string): 'fingerprint' | 'time' | 'host' | 'chain' | undefined {
  if (/sha256|fingerprint|serial/i.test(field)) return 'fingerprint';
  if (/^time$|notafter|notbefore|thisupdate|nextupdate|revokedat/i.test(field)) return 'time';
  if (field === 'operator') return 'host';
  if (field === 'prev' || field === 'seq') return 'chain';
  return undefined;
}

export interface RehearsalComparison {
  sameSequence: boolean;
  real: string[];
  rehearsal: string[];
  /** Per compared pair: which fields differed, by kind. */
  pairs: Array<{ n: number; action: string; differ: Record<'fingerprint' | 'time' | 'host' | 'chain', string[]> }>;
  findings: Finding[];
}

/** The real ceremony's entries beside the rehearsal's: the same actions in the same order, only fingerprints, times and hosts differing. */
export function compareRehearsal(real: CeremonyVerification, rehearsal: CeremonyVerification): RehearsalComparison {
  const a = real.windowEntries;
  const b = rehearsal.windowEntries;
  const findings: Finding[] = [];
  const seqA = a.map((e) => e.action);
  const seqB = b.map((e) => e.action);
  const sameSequence = JSON.stringify(seqA) === JSON.stringify(seqB);
  if (!sameSequence) findings.push({ kind: 'rehearsal', message: `the sequence of actions differs: ceremony ${seqA.join(' → ') || '(none)'}, rehearsal ${seqB.join(' → ') || '(none)'}` });
  const pairs: RehearsalComparison['pairs'] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    const differ: RehearsalComparison['pairs'][number]['differ'] = { fingerprint: [], time: [], host: [], chain: [] };
    for (const field of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
      if (norm(x[field]) === norm(y[field])) continue;
      const kind = differenceKind(field);
      if (kind) differ[kind].push(field);
      else findings.push({ kind: 'rehearsal', seq: x.seq, message: `entry ${i + 1} (${x.action}): ${field} is ${text(x[field])} at the ceremony, ${text(y[field])} in the rehearsal` });
    }
    pairs.push({ n: i + 1, action: x.action, differ });
  }
  return { sameSequence, real: seqA, rehearsal: seqB, pairs, findings };
}

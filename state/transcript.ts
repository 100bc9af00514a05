import fs from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { assertNoSecrets } from './schema.js';

/**
 * The ceremony transcript: JSON lines, each carrying the SHA-256 of the previous line, so a
 * removed or edited entry breaks the chain. Never holds a secret.
 */
export interface TranscriptEntry {
  seq: number;
  time: string;
  operator: string;
  action: string;
  prev: string;
  [field: string]: unknown;
}

export const GENESIS = '0'.repeat(64);

export function operatorName(): string {
  let user = process.env.SUDO_USER ?? process.env.USER ?? '';
  try {
    user = os.userInfo().username || user;
  } catch {
    /* no passwd entry */
  }
  return `${user || `uid${process.getuid?.() ?? '?'}`}@${os.hostname()}`;
}

/** The transcript's lines as written (each one entry), none when there is no file. */
export function transcriptLines(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
}

function lastLine(file: string): string | undefined {
  return transcriptLines(file).at(-1);
}

/** The SHA-256 of one entry's line: what the next entry carries as `prev`. */
export function entryHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/**
 * The transcript's head: the hash of its last entry. Because every entry carries the hash of the
 * one before it, the head pins the whole record: a copy that holds an entry with this hash on an
 * intact chain holds every entry up to it unchanged. Witnesses write it down at each ceremony.
 */
export function transcriptHead(file: string): { entries: number; head: string } | undefined {
  const last = lastLine(file);
  return last === undefined ? undefined : { entries: transcriptLines(file).length, head: entryHash(last) };
}

/** The head in groups of four hex digits, for reading aloud and writing down. */
export function formatHead(head: string): string {
  return head.match(/.{1,4}/g)!.join(' ');
}

/** The line printed at the close of a ceremony, for the witnesses to write down. */
export function witnessHeadLine(file: string): string | undefined {
  const head = transcriptHead(file);
  if (!head) return undefined;
  return `Transcript head, for the witnesses to write down: ${formatHead(head.head)} (entry ${head.entries} of ${file}; later, \`certwright transcript verify --file COPY --head HASH\` proves a copy is this record)`;
}

/** Where (1-based entry number) a head written down at a ceremony sits in this copy, if it does. */
export function findHead(file: string, head: string): number | undefined {
  const wanted = head.toLowerCase().replace(/[\s:]/g, '');
  const i = transcriptLines(file).findIndex((l) => entryHash(l) === wanted);
  return i < 0 ? undefined : i + 1;
}

export function appendTranscript(file: string, action: string, details: Record<string, unknown>, now = new Date()): TranscriptEntry {
  assertNoSecrets(details, 'transcript');
  const last = lastLine(file);
  const prev = last ? createHash('sha256').update(last).digest('hex') : GENESIS;
  const seq = last ? (JSON.parse(last) as TranscriptEntry).seq + 1 : 1;
  const entry: TranscriptEntry = { seq, time: now.toISOString(), operator: operatorName(), action, ...details, prev };
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return entry;
}

export interface TranscriptCheck {
  ok: boolean;
  entries: number;
  brokenAt?: number;
  reason?: string;
}

export function verifyTranscript(file: string): TranscriptCheck {
  if (!fs.existsSync(file)) return { ok: true, entries: 0 };
  const lines = transcriptLines(file);
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i += 1) {
    let entry: TranscriptEntry;
    try {
      entry = JSON.parse(lines[i]!) as TranscriptEntry;
    } catch {
      return { ok: false, entries: lines.length, brokenAt: i + 1, reason: 'line is not JSON' };
    }
    if (entry.prev !== prev) return { ok: false, entries: lines.length, brokenAt: i + 1, reason: 'hash of the previous entry does not match' };
    if (entry.seq !== i + 1) return { ok: false, entries: lines.length, brokenAt: i + 1, reason: `sequence number ${entry.seq} where ${i + 1} was expected` };
    prev = entryHash(lines[i]!);
  }
  return { ok: true, entries: lines.length };
}

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

function lastLine(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  return lines.at(-1);
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
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
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
    prev = createHash('sha256').update(lines[i]!).digest('hex');
  }
  return { ok: true, entries: lines.length };
}

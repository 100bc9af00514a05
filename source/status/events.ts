import fs from 'node:fs';
import { EventLog, type HookEventName } from '../hook/events.js';
import type { EventEntry } from './types.js';

/**
 * The per-environment event log, envs/<env>/events.jsonl: one JSON object per line, appended in a
 * single O_APPEND write. The format is issue 4's (source/hook/events.ts there):
 *
 *   {"time":"2026-11-22T10:00:00.000Z","env":"prod","workload":"app/web","event":"reloaded",
 *    "container":"web","serial":"..","fingerprint":"AB:..","notAfter":"..","version":"..","detail":".."}
 *
 * event: issued | rotated | chain-updated | reloaded | reload-failed | verify-failed | rolled-back.
 * The reader also accepts "type" for "event" (the name the status brief used), skips lines it
 * cannot parse, and reads a growing file incrementally: only bytes appended since the last read
 * are parsed, so a long-running status screen never re-reads the whole log.
 */

export const EVENT_NAMES = ['issued', 'rotated', 'chain-updated', 'reloaded', 'reload-failed', 'verify-failed', 'rolled-back'] as const;

export interface EventFields {
  workload?: string;
  container?: string;
  serial?: string;
  fingerprint?: string;
  notAfter?: string;
  version?: string;
  detail?: string;
}

/** Appends one event for a step that is not the hook (vault-cert, ...): the hook's writer, one format. */
export function appendEvent(file: string, env: string, event: HookEventName, fields: EventFields = {}, now = new Date()): void {
  const { workload = '-', ...rest } = fields;
  new EventLog(file, env, workload).append(event, rest, now);
}

export interface EventTally {
  file: string;
  total: number;
  counts: Record<string, number>;
  /** The newest events, oldest first (at most `keep`). */
  latest: EventEntry[];
  /** Per container: its newest reload outcome. */
  lastReload: Map<string, EventEntry>;
  /** Per workload: its newest issued/rotated event. */
  lastWritten: Map<string, EventEntry>;
}

interface Cached {
  ino: number;
  offset: number;
  /** Bytes after the last newline, kept until the line is complete. */
  partial: string;
  tally: EventTally;
}

const KEEP = 50;
const cache = new Map<string, Cached>();

function toEntry(raw: Record<string, unknown>, file: string): EventEntry | undefined {
  const event = typeof raw.event === 'string' ? raw.event : typeof raw.type === 'string' ? raw.type : undefined;
  const time = typeof raw.time === 'string' ? raw.time : undefined;
  if (!event || !time) return undefined;
  const e: EventEntry = { time, event, file };
  for (const k of ['workload', 'container', 'serial', 'fingerprint', 'detail'] as const) {
    const v = raw[k];
    if (typeof v === 'string') e[k] = v;
  }
  return e;
}

function ingest(tally: EventTally, text: string): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      continue;
    }
    if (!raw || typeof raw !== 'object') continue;
    const e = toEntry(raw as Record<string, unknown>, tally.file);
    if (!e) continue;
    tally.total += 1;
    tally.counts[e.event] = (tally.counts[e.event] ?? 0) + 1;
    tally.latest.push(e);
    if (tally.latest.length > KEEP * 2) tally.latest.splice(0, tally.latest.length - KEEP);
    if (e.container && (e.event === 'reloaded' || e.event === 'reload-failed')) tally.lastReload.set(e.container, e);
    if (e.workload && (e.event === 'issued' || e.event === 'rotated')) tally.lastWritten.set(e.workload, e);
  }
}

function emptyTally(file: string): EventTally {
  return { file, total: 0, counts: {}, latest: [], lastReload: new Map(), lastWritten: new Map() };
}

/** Reads (or continues reading) one event log. A missing file is an empty log. */
export function readEventLog(file: string): EventTally {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    cache.delete(file);
    return emptyTally(file);
  }
  let c = cache.get(file);
  if (!c || c.ino !== st.ino || st.size < c.offset) {
    c = { ino: st.ino, offset: 0, partial: '', tally: emptyTally(file) };
    cache.set(file, c);
  }
  if (st.size > c.offset) {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(st.size - c.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, c.offset);
      c.offset += n;
      const text = c.partial + buf.subarray(0, n).toString('utf8');
      const cut = text.lastIndexOf('\n');
      c.partial = cut < 0 ? text : text.slice(cut + 1);
      if (cut >= 0) ingest(c.tally, text.slice(0, cut));
    } finally {
      fs.closeSync(fd);
    }
  }
  return c.tally;
}

/** Several logs (the environment's own and the service users' hooks) as one. */
export function mergeTallies(tallies: EventTally[], keep = 10): Omit<EventTally, 'file'> & { files: string[] } {
  const counts: Record<string, number> = {};
  let total = 0;
  const lastReload = new Map<string, EventEntry>();
  const lastWritten = new Map<string, EventEntry>();
  const latest: EventEntry[] = [];
  for (const t of tallies) {
    total += t.total;
    for (const [k, v] of Object.entries(t.counts)) counts[k] = (counts[k] ?? 0) + v;
    latest.push(...t.latest);
    for (const [k, v] of t.lastReload) if (!lastReload.has(k) || lastReload.get(k)!.time < v.time) lastReload.set(k, v);
    for (const [k, v] of t.lastWritten) if (!lastWritten.has(k) || lastWritten.get(k)!.time < v.time) lastWritten.set(k, v);
  }
  latest.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { files: tallies.map((t) => t.file), total, counts, latest: latest.slice(-keep), lastReload, lastWritten };
}

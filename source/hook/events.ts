import fs from 'node:fs';
import path from 'node:path';
import { assertNoSecrets } from '../../state/schema.js';

/**
 * The per-environment event log, envs/<env>/events.jsonl: one JSON object per line, appended
 * with O_APPEND in a single write (a line is never interleaved with another writer's line).
 *
 *   {"time":"2026-11-22T10:00:00.000Z","env":"prod","workload":"app/web","event":"rotated",
 *    "serial":"3a:..","fingerprint":"AB:..","notAfter":"...","version":"20261122T...","detail":"..."}
 *
 * event is one of: issued (first leaf in an empty TLS dir), rotated (a new leaf replaced one),
 * chain-updated (proxy CA chain written), reloaded / reload-failed (one line per container,
 * with "container"), verify-failed (payload rejected, nothing written), rolled-back (files put back).
 * Never a key or token: the same guard as the state file refuses secret-looking values.
 */
export type HookEventName = 'issued' | 'rotated' | 'chain-updated' | 'reloaded' | 'reload-failed' | 'verify-failed' | 'rolled-back';

export interface HookEvent {
  time: string;
  env: string;
  workload: string;
  event: HookEventName;
  serial?: string;
  fingerprint?: string;
  notAfter?: string;
  version?: string;
  container?: string;
  detail?: string;
}

export class EventLog {
  constructor(
    readonly file: string | undefined,
    readonly env: string,
    readonly workload: string,
  ) {}

  append(event: HookEventName, fields: Omit<HookEvent, 'time' | 'env' | 'workload' | 'event'> = {}, now = new Date()): void {
    if (!this.file) return;
    const line: HookEvent = { time: now.toISOString(), env: this.env, workload: this.workload, event, ...fields };
    try {
      assertNoSecrets(line, this.file);
    } catch {
      line.detail = '(detail withheld: it looked like a secret)';
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(line)}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function readEvents(file: string): HookEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as HookEvent];
      } catch {
        return [];
      }
    });
}

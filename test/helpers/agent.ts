import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { stopProcess } from '../../source/system/openbao.js';
import { BAO } from './env.js';

/** A real `bao agent` in the foreground, as the systemd unit would run it; stopped by PID. */
export interface RunningAgent {
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
  output(): string;
}

export function startAgent(hcl: string, log: string, env: Record<string, string> = {}): RunningAgent {
  const fd = fs.openSync(log, 'a', 0o600);
  const child = spawn(BAO, ['agent', `-config=${hcl}`], {
    stdio: ['ignore', fd, fd],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
  });
  fs.closeSync(fd);
  return { child, log, stop: () => stopProcess(child), output: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '') };
}

/** Polls a condition (bounded); returns its value or throws with what was last seen. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Whether systemd-analyze is installed (unit files are verified with it where it is). */
export function hasSystemdAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { processCommand } from './ports.js';
import { writeFileAtomic } from './files.js';

/**
 * The bao server processes certwright runs on the host (the environment's own Vault, not the
 * tests' dev servers): started detached, in their own process group, with their PID in a file
 * next to the configuration so that a later run (or the lab's exit) finds and stops them.
 */

/** A live bao/vault server process (not a zombie, and really a `server`). */
export function baoServerAlive(pid: number): boolean {
  return baoAlive(pid, 'server');
}

function baoAlive(pid: number, what: 'server' | 'agent'): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) [ZX] /.test(stat)) return false;
  } catch {
    return false;
  }
  const cmd = processCommand(pid);
  return cmd !== undefined && new RegExp(`\\b(bao|vault)\\b.*\\b${what}\\b`).test(cmd);
}

/** The PID recorded in pidFile when that process still runs, else undefined. */
export function runningPid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && baoServerAlive(pid) ? pid : undefined;
}

/** The configuration file a running server was started with (from its command line). */
export function configOf(pid: number): string | undefined {
  const cmd = processCommand(pid);
  return cmd?.match(/-config=(\S+)/)?.[1];
}

const exited = new Map<number, boolean>();

const agents = new Map<number, boolean>();

/** The servers and agents this process started that have not exited: the lab stops them on its way out. */
export function startedProcesses(): number[] {
  return [...[...exited.entries()].filter(([pid, gone]) => !gone && baoAlive(pid, 'server')), ...[...agents.entries()].filter(([pid, gone]) => !gone && baoAlive(pid, 'agent'))].map(([pid]) => pid);
}

/**
 * Starts `bao agent -config=CONFIG` as a plain background process (where there is no systemd to
 * run its unit: the lab), logging to logFile.
 */
export function startBaoAgent(bao: string, config: string, logFile: string): number {
  const log = fs.openSync(logFile, 'a', 0o600);
  const env = { ...process.env };
  for (const name of ['BAO_ADDR', 'VAULT_ADDR', 'BAO_TOKEN', 'VAULT_TOKEN']) delete env[name];
  const child = spawn(bao, ['agent', `-config=${config}`], { detached: true, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid!;
  agents.set(pid, false);
  child.once('exit', () => agents.set(pid, true));
  return pid;
}

/**
 * Runs the agent whose config is DIR/agent.hcl as a plain process (the lab has no systemd) and
 * waits, bounded, for its first render to appear at `first` (the hook's swapped cert, or the
 * proxy's CA file). The agent stops with the process that started it (startedProcesses).
 */
export async function startAgentUntilRendered(bao: string, agentDir: string, first: string, seconds = 60): Promise<{ pid: number; rendered: boolean; log: string }> {
  const log = path.join(agentDir, 'agent.log');
  // What this run logs, not an earlier run's: an agent restarted on old files must log in anew.
  const offset = fs.existsSync(log) ? fs.statSync(log).size : 0;
  const loggedIn = () => {
    try {
      return fs.readFileSync(log).subarray(offset).toString('utf8').includes('authentication successful');
    } catch {
      return false;
    }
  };
  const pid = startBaoAgent(bao, path.join(agentDir, 'agent.hcl'), log);
  const ready = () => fs.existsSync(first) && loggedIn();
  const deadline = Date.now() + seconds * 1000;
  while (!ready() && Date.now() < deadline && agents.get(pid) !== true) await new Promise((r) => setTimeout(r, 200));
  return { pid, rendered: ready(), log };
}

/** Whether a server this process started has exited (or any other PID is gone). */
export function hasExited(pid: number): boolean {
  return exited.get(pid) === true || !baoServerAlive(pid);
}

/** Starts `bao server -config=CONFIG` detached (its own session), logging to logFile; writes pidFile. */
export async function startBaoServer(bao: string, config: string, files: { pidFile: string; log: string }): Promise<number> {
  const log = fs.openSync(files.log, 'a', 0o600);
  const env = { ...process.env };
  for (const name of ['BAO_ADDR', 'VAULT_ADDR', 'BAO_TOKEN', 'VAULT_TOKEN']) delete env[name];
  const child = spawn(bao, ['server', `-config=${config}`], { detached: true, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid!;
  exited.set(pid, false);
  child.once('exit', () => exited.set(pid, true));
  await writeFileAtomic(files.pidFile, `${pid}\n`, { mode: 0o644 });
  return pid;
}

/** Stops a server with SIGTERM (SIGKILL after graceMs) and waits until it is gone. */
export async function stopBaoServer(pid: number, graceMs = 10_000): Promise<void> {
  if (!baoServerAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (baoServerAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * After an unseal, raft elects the single node leader a moment later; writes before that fail with
 * "local node not active". Waits (bounded) until the node says it is active.
 */
export async function waitUntilActive(health: () => Promise<{ sealed: boolean; standby: boolean }>, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      const h = await health();
      if (!h.sealed && !h.standby) return true;
    } catch {
      /* not answering yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

export function logTail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

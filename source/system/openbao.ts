import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { OperatorError, ExternalError } from '../errors.js';

/** Finds the bao binary: CERTWRIGHT_BAO, the project's pinned install (.tools/bin/bao), then PATH. */
export function findBao(): string {
  if (process.env.CERTWRIGHT_BAO) return process.env.CERTWRIGHT_BAO;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i += 1) {
    const candidate = path.join(dir, '.tools', 'bin', 'bao');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  for (const p of (process.env.PATH ?? '').split(':')) {
    for (const name of ['bao', 'vault']) {
      const candidate = path.join(p, name);
      if (p && fs.existsSync(candidate)) return candidate;
    }
  }
  throw new OperatorError('No OpenBao binary was found.', 'Run `npm run tools` (installs the pinned OpenBao into .tools/), or set CERTWRIGHT_BAO to a bao binary.');
}

/** findBao's answer with links resolved, or undefined when there is none here (a plan says so). */
export function findBaoReal(): string | undefined {
  try {
    return fs.realpathSync(findBao());
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A free loopback port whose neighbour is free too (raft listens on PORT+1). Bounded. */
export async function freePortPair(): Promise<number> {
  return freePortRun(2);
}

function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A free loopback port followed by count-1 free ones (a raft cluster: two ports per node). Bounded. */
export async function freePortRun(count: number): Promise<number> {
  for (let i = 0; i < 50; i += 1) {
    const port = await freePort();
    if (port + count - 1 > 65535) continue;
    let all = true;
    for (let k = 1; k < count && all; k += 1) all = await portFree(port + k);
    if (all) return port;
  }
  throw new ExternalError(`No ${count} consecutive free ports were found on 127.0.0.1.`, 'Free some ports, or pass --listen 127.0.0.1:PORT.');
}

export interface DevServer {
  addr: string;
  token: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Stops a child by its PID: SIGTERM, then SIGKILL after a grace period. Never by name. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Waits until url answers (any HTTP status) or the deadline passes. Bounded. */
export async function waitForHttp(url: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new ExternalError(`The server for ${url} exited while starting.`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new ExternalError(`${url} did not answer within ${Math.round(timeoutMs / 1000)} s.`);
}

/**
 * Starts `bao server -dev` on 127.0.0.1 at a free port with a random root token: in memory,
 * unsealed, plain HTTP. For the lab and the tests only.
 */
export async function startDevServer(options: { bao?: string; logFile?: string } = {}): Promise<DevServer> {
  const bao = options.bao ?? findBao();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const token = `lab-${randomBytes(12).toString('hex')}`;
    const out = options.logFile ? fs.openSync(options.logFile, 'a', 0o600) : 'ignore';
    const child = spawn(bao, ['server', '-dev', `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'], {
      stdio: ['ignore', out, out],
      env: { ...process.env, HOME: process.env.HOME ?? '/tmp', BAO_ADDR: undefined, VAULT_ADDR: undefined } as NodeJS.ProcessEnv,
    });
    if (typeof out === 'number') fs.closeSync(out);
    const addr = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${addr}/v1/sys/health`, 20_000, () => child.exitCode === null);
      return { addr, token, pid: child.pid!, process: child, stop: () => stopProcess(child) };
    } catch (error) {
      lastError = error;
      await stopProcess(child);
    }
  }
  throw lastError;
}

/** "OpenBao v2.7.2 (...)" / "Vault v1.15.0 (...)" -> product and version; undefined if unknown. */
export function baoVersion(binary: string): { product: 'OpenBao' | 'Vault'; major: number; minor: number; patch: number } | undefined {
  try {
    const out = execFileSync(binary, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /(OpenBao|Vault) v(\d+)\.(\d+)\.(\d+)/.exec(out);
    if (!m) return undefined;
    return { product: m[1] as 'OpenBao' | 'Vault', major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4]) };
  } catch {
    return undefined;
  }
}

/** OpenBao 2.7 removed the file storage backend (openbao/openbao#2846); Vault still has it. */
export function supportsFileStorage(version: ReturnType<typeof baoVersion>): boolean {
  if (!version || version.product === 'Vault') return true;
  return version.major < 2 || (version.major === 2 && version.minor < 7);
}

import fs from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { startDevServer, type DevServer } from '../../source/system/openbao.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'certwright.mjs');
export const BAO = path.join(ROOT, '.tools', 'bin', 'bao');

/** A fresh temp directory, removed after the file's tests. */
const created: string[] = [];
/** Whether a process still runs (a zombie, exited but not yet reaped, counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function tempDir(prefix = 'cw-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** One real OpenBao dev server for the whole test file; each test uses its own mount. */
export function useOpenBao(): { server: () => DevServer } {
  let server: DevServer | undefined;
  beforeAll(async () => {
    server = await startDevServer({ bao: BAO });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    server: () => {
      if (!server) throw new Error('OpenBao not started');
      return server;
    },
  };
}

let mountCounter = 0;
export function uniqueMount(prefix = 'pki'): string {
  mountCounter += 1;
  return `${prefix}_${process.pid}_${mountCounter}`;
}

let home: string | undefined;
function scratchHome(): string {
  home ??= tempDir('cw-home-');
  return home;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real certwright binary, no TTY, with its own environment only. */
export async function cli(args: string[], options: { env?: Record<string, string | undefined>; input?: string; cwd?: string } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    // Never the real home: a test that forgets CERTWRIGHT_HOME must not touch ~/.config.
    HOME: scratchHome(),
    CI: 'true',
    NO_COLOR: '1',
    ...options.env,
  };
  const result = await execa('node', [BIN, ...args], {
    env: env as NodeJS.ProcessEnv,
    extendEnv: false,
    reject: false,
    input: options.input ?? '',
    cwd: options.cwd ?? ROOT,
    timeout: 90_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export function vaultEnv(server: DevServer, home: string): Record<string, string> {
  return { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, CERTWRIGHT_HOME: home };
}

export async function bao(server: DevServer, args: string[]): Promise<string> {
  const result = await execa(BAO, args, { env: { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, HOME: os.tmpdir() }, extendEnv: true });
  return String(result.stdout);
}

export async function openssl(args: string[], input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa('openssl', args, { reject: false, ...(input === undefined ? {} : { input }) });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export function writePassphrase(dir: string, passphrase = 'correct horse battery staple'): string {
  const file = path.join(dir, 'passphrase');
  fs.writeFileSync(file, `${passphrase}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** Every file under dir with its mode, for "nothing half-written" checks. */
export function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${(fs.statSync(p).mode & 0o777).toString(8)} ${fs.statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

export function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Every file under dir with its mode and content hash (symlinks as targets), in a stable order. */
export function contentHashes(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      // Node's compile cache (under a test HOME) is written by every certwright run, not by a step.
      if (e.name === '.cache') continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${path.relative(dir, p)} ${(fs.statSync(p).mode & 0o777).toString(8)} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
      else out.push(`${path.relative(dir, p)} -> ${fs.readlinkSync(p)}`);
    }
  };
  walk(dir);
  return out;
}

/** PIDs of servers a test file starts (vault-server, vault-https): SIGKILLed after its tests. */
export function serverPids(): number[] {
  const pids: number[] = [];
  afterAll(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  return pids;
}

/** Runs `job` over `items`, at most `size` at a time (a corpus of CLI runs on a 2-core machine); results in item order. */
export async function pool<T, R>(items: T[], size: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await job(items[i]!);
      }
    }),
  );
  return out;
}

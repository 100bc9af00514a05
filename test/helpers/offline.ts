import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from './env.js';

/** unshare's absolute path: the runs below may have a PATH without it. */
export const UNSHARE = spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();

/** Whether `unshare -n` can make a network namespace here (needs root or user namespaces). */
export function canUnshareNetwork(): boolean {
  return UNSHARE !== '' && spawnSync(UNSHARE, ['-n', 'true']).status === 0;
}

/** Whether util-linux `script` is there to give a process a pseudo-terminal. */
export function haveScript(): boolean {
  return spawnSync('script', ['--version']).status === 0;
}

/**
 * Runs `npm run build:offline`'s script from checkout `root` into `out`, as an operator would, with
 * `node` (by default the Node running the tests).
 */
export async function buildOfflineInto(root: string, out: string, node = process.execPath): Promise<{ stdout: string; stderr: string }> {
  const result = await execa(node, [path.join(root, 'scripts', 'build-offline.mjs'), '--out', out], { cwd: root, reject: false, timeout: 150_000 });
  if (result.exitCode !== 0) throw new Error(`build-offline failed (${result.exitCode}): ${result.stderr}`);
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * A copy of the files the offline build reads (sources, scripts, package.json, tsconfig) in `dir`,
 * with node_modules and .tools linked: a second checkout at another path, for the reproducibility check.
 */
export function copyCheckout(dir: string): string {
  for (const entry of ['source', 'screens', 'state', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  // The pinned Nodes (the single executable embeds the Node 24 from there), like node_modules.
  fs.symlinkSync(path.join(ROOT, '.tools'), path.join(dir, '.tools'));
  return dir;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `program args` with `unshare -n` (a network namespace with no usable interface: no
 * loopback, no DNS) or without it, in `cwd`, with only the environment given. Bounded: a run that
 * hangs is killed after 60 s and reported as timed out.
 */
export async function run(program: string[], options: { cwd: string; env: Record<string, string>; offline: boolean; input?: string }): Promise<RunResult> {
  const [file, ...args] = options.offline ? [UNSHARE, '-n', ...program] : program;
  const result = await execa(file!, args, { cwd: options.cwd, env: options.env, extendEnv: false, reject: false, input: options.input ?? '', timeout: 60_000 });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), timedOut: Boolean(result.timedOut) };
}

/**
 * Starts `command` (a shell command line) in a 100x30 pseudo-terminal made by `script`, waits
 * until `text` shows on the terminal (bounded), then stops the process group by its id with
 * SIGTERM. Resolves with everything the terminal showed.
 */
export function runInPty(command: string, text: string, options: { cwd: string; env: Record<string, string>; timeoutMs?: number; keys?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', `stty cols 100 rows 30; exec ${command}`, '/dev/null'], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    // Typed at once, before anything is drawn: they wait in the terminal for the program.
    if (options.keys) child.stdin!.write(options.keys);
    let output = '';
    let settled = false;
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already exited
      }
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stop();
      reject(new Error(`"${text}" did not appear within ${options.timeoutMs ?? 30_000} ms. Terminal showed:\n${output.slice(-2000)}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!settled && output.includes(text)) {
        settled = true;
        stop();
        // SIGTERM lets certwright run its exit handlers; a process that ignores it is killed.
        setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // exited
          }
        }, 5_000).unref();
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      if (output.includes(text)) resolve(output);
      else if (!settled) {
        settled = true;
        reject(new Error(`the program exited before "${text}" appeared. Terminal showed:\n${output.slice(-2000)}`));
      }
    });
  });
}

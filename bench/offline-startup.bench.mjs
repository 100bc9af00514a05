#!/usr/bin/env node
// Start-up of the air-gap build (issue 7), measured against baselines in the same run:
//   1. `node certwright.mjs --version` as a ratio to bare `node -e 0` (target <= 1.5x);
//   2. the wizard's first paint: time from spawning it in a pseudo-terminal until its first frame
//      is on the terminal (target <= 0.25 s), and until it is live: a ↓ typed at once has moved the
//      selection (the first frame is painted before React and Ink load; keys typed meanwhile wait).
// The bundle is built fresh into a temp dir and run from an empty directory (no node_modules).
// Runs are interleaved so machine noise hits every variant alike; medians are compared.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOffline } from '../scripts/build-offline.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PAINTS = Number(process.env.BENCH_PAINTS ?? 10);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-offline-'));
try {
  await main();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

async function main() {
  const built = await buildOffline({ out: path.join(work, 'dist'), sea: false });
  const empty = path.join(work, 'ceremony');
  fs.mkdirSync(empty);
  fs.copyFileSync(path.join(work, 'dist', 'certwright.mjs'), path.join(empty, 'certwright.mjs'));
  const home = path.join(work, 'home');
  const env = { PATH: process.env.PATH, HOME: home, CERTWRIGHT_HOME: home, NO_COLOR: '1', TERM: 'xterm-256color' };
  const transcript = path.join(work, 'transcript.jsonl');
  // One genesis entry: an empty transcript is (rightly) refused by `transcript verify`.
  fs.writeFileSync(transcript, `${JSON.stringify({ seq: 1, time: new Date(0).toISOString(), operator: 'bench@host', action: 'bench', prev: '0'.repeat(64) })}\n`);
  process.stdout.write(`bundle: ${(built.size / 1024).toFixed(0)} KiB, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  process.stdout.write('(other work on the machine inflates medians; the minimum is the least disturbed run)\n\n');

  const variants = [
    ['node -e 0 (baseline)', ['-e', '0']],
    ['bundle --version', ['certwright.mjs', '--version']],
    ['bundle --help', ['certwright.mjs', '--help']],
    ['bundle transcript verify', ['certwright.mjs', 'transcript', 'verify', '--file', transcript]],
    ['unbundled bin --version', [path.join(ROOT, 'bin', 'certwright.mjs'), '--version']],
    // The same without Node's compile cache (the launcher enables it on Node >= 22.1).
    ['unbundled, no compile cache', [path.join(ROOT, 'bin', 'certwright.mjs'), '--version'], { NODE_DISABLE_COMPILE_CACHE: '1' }],
  ];
  const samples = variants.map(() => []);
  for (let i = 0; i < RUNS; i += 1) {
    variants.forEach(([, args, extra], v) => {
      const start = process.hrtime.bigint();
      const result = spawnSync(process.execPath, args, { cwd: empty, env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
      samples[v].push(ms);
    });
  }
  const base = median(samples[0]);
  process.stdout.write(`start-up, ${RUNS} interleaved runs each (median / min):\n`);
  variants.forEach(([name], v) => {
    const m = median(samples[v]);
    process.stdout.write(`  ${name.padEnd(28)} ${m.toFixed(1).padStart(7)} ms / ${Math.min(...samples[v]).toFixed(1).padStart(7)} ms   ${(m / base).toFixed(2)}x\n`);
  });
  const ratio = median(samples[1]) / base;
  const minRatio = Math.min(...samples[1]) / Math.min(...samples[0]);
  process.stdout.write(`  => --version / node -e 0 = ${ratio.toFixed(2)}x by median, ${minRatio.toFixed(2)}x by minimum (target <= 1.5x) ${ratio <= 1.5 ? 'MET' : 'NOT MET'}\n\n`);

  // First paint, in a pseudo-terminal made by util-linux `script`. Baseline: the same pty route to a
  // node that prints one line, so the pty's own cost is visible.
  const state = JSON.stringify(path.join(work, 'state'));
  const bundle = `exec node certwright.mjs wizard --state-dir ${state}`;
  const unbundled = `exec node ${JSON.stringify(path.join(ROOT, 'bin', 'certwright.mjs'))} wizard --state-dir ${state}`;
  // The wizard opens on the lab; ↓ (typed at once, before anything is drawn) moves to "New environment".
  const moved = /\u25b8 New environment/;
  const rows = [
    ['pty + node printing a line', `exec node -e "process.stdout.write('painted')"`, 'painted'],
    ['bundle: first paint', bundle, 'New environment'],
    ['bundle: live (typed ↓ done)', bundle, moved, '\x1b[B'],
    ['unbundled: first paint', unbundled, 'New environment'],
    ['unbundled: live', unbundled, moved, '\x1b[B'],
  ];
  const times = rows.map(() => []);
  for (let i = 0; i < PAINTS; i += 1) {
    for (const [r, [, command, text, keys]] of rows.entries()) times[r].push(await timeToText(command, text, empty, env, keys));
  }
  process.stdout.write(`wizard in a pty, ${PAINTS} interleaved runs each (median / min):\n`);
  for (const [r, [name]] of rows.entries()) process.stdout.write(`  ${name.padEnd(28)} ${median(times[r]).toFixed(1).padStart(7)} ms / ${Math.min(...times[r]).toFixed(1).padStart(7)} ms\n`);
  for (const [label, r] of [['bundle', 1], ['unbundled (npm start)', 3]]) {
    const fp = median(times[r]);
    process.stdout.write(`  => ${label} first paint = ${(fp / 1000).toFixed(3)} s by median, ${(Math.min(...times[r]) / 1000).toFixed(3)} s by minimum (target <= 0.25 s) ${fp <= 250 ? 'MET' : 'NOT MET'}; live after ${(median(times[r + 1]) / 1000).toFixed(3)} s\n`);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Spawns `sh -c command` in a fresh pty (100x30), types `keys` (if any) at once, and resolves with
 * the ms until `text` (a string or a RegExp) appears in its output. The process group is stopped by
 * its id afterwards.
 */
function timeToText(command, text, cwd, env, keys) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', `stty cols 100 rows 30; ${command}`, '/dev/null'], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const finish = (error, ms) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      if (error) reject(error);
      else resolve(ms);
    };
    const timer = setTimeout(() => finish(new Error(`"${text}" did not appear within 10 s; output: ${output.slice(-500)}`)), 10_000);
    if (keys) child.stdin.write(keys);
    const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
    child.stdout.on('data', (chunk) => {
      output += chunk.toString('utf8');
      if (seen()) finish(undefined, Number(process.hrtime.bigint() - start) / 1e6);
    });
    child.on('exit', () => setTimeout(() => finish(new Error(`exited before "${text}" appeared; output: ${output.slice(-500)}`)), 50));
  });
}

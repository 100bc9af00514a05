import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './helpers/env.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The lab without a terminal: it runs until signalled, and its OpenBao never outlives it. */
async function labEndedBy(signal: NodeJS.Signals): Promise<{ baoPid: number; exitCode: number | null }> {
  const work = tempDir();
  const child = spawn('node', [BIN, 'lab', '--state-dir', path.join(work, 'state')], { cwd: ROOT, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/PID (\d+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the lab did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const baoPid = Number(/PID (\d+)/.exec(out)![1]);
  expect(alive(baoPid)).toBe(true);
  expect(out).toMatch(/Lab OpenBao \(raft storage in \S+, not dev mode\) at http:\/\/127\.0\.0\.1:\d+/);
  expect(out).not.toMatch(/lab-[0-9a-f]{24}/); // the token stays in its 0600 file
  child.kill(signal);
  const exitCode = await exited;
  const until = Date.now() + 10_000;
  while (alive(baoPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return { baoPid, exitCode };
}

describe('certwright lab (no terminal)', () => {
  it('stops its OpenBao when interrupted (SIGTERM)', async () => {
    const { baoPid } = await labEndedBy('SIGTERM');
    expect(alive(baoPid)).toBe(false);
  });

  it('stops its OpenBao when the terminal goes away (SIGHUP)', async () => {
    const { baoPid, exitCode } = await labEndedBy('SIGHUP');
    expect(exitCode).toBe(129);
    expect(alive(baoPid)).toBe(false);
  });
});

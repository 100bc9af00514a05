import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, BAO, ROOT, tempDir, alive } from './helpers/env.js';
import { loadEstate } from '../source/estate/load.js';

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
  expect(out).toMatch(/Lab OpenBao at http:\/\/127\.0\.0\.1:\d+ \(PID \d+; raft storage, not dev mode\)/);
  expect(out).not.toMatch(/lab-[0-9a-f]{24}/); // the token stays in its 0600 file
  // What other shells need is one short line to copy: `. WORKSPACE/env.sh` (0600), and it works
  for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  const envFile = /Other shells: \. (\S+)/.exec(out)![1]!;
  expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
  const sourced = await execa('sh', ['-c', `. ${envFile}; printf '%s %s' "$CERTWRIGHT_HOME" "$VAULT_TOKEN"`]);
  expect(sourced.stdout.split(' ')[0]).toBe(path.join(work, 'state'));
  expect(sourced.stdout.split(' ')[1]).toMatch(/^s\.|\S{20,}/);
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

/** The README's example estate file (the yaml block of "One estate file"), as written. */
function readmeEstate(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## One estate file\n'));
  return /```yaml\n(# estate\.yaml\n[\s\S]*?)```/.exec(section)![1]!;
}

function readmeLabBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## One estate file\n'));
  const at = section.indexOf('<!-- readme-test: run by test/lab.test.ts -->');
  return /```sh\n([\s\S]*?)```/.exec(section.slice(at))![1]!;
}

function baoProcessesUnder(dir: string): string[] {
  const r = spawnSync('pgrep', ['-af', dir], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /bao (server|agent)/.test(l));
}

describe('certwright lab --file and --resume', () => {
  it("rehearses the README's estate file as written to a green status, leaves nothing running, and --resume reopens the workspace", async () => {
    const work = tempDir('cw-lab-file-');
    fs.writeFileSync(path.join(work, 'estate.yaml'), readmeEstate());
    const bin = path.join(work, '.bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'certwright'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o755 });
    // CERTWRIGHT_PODMAN names no binary: the lab agents' hook must not reload other test files' containers.
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: work, NO_COLOR: '1', CI: 'true', CERTWRIGHT_PODMAN: path.join(work, 'no-podman') };
    const r = await execa('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', readmeLabBlock()], { cwd: work, env, extendEnv: false, reject: false, all: true, timeout: 300_000 });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain('Rehearsal reached a green status');
    // What the lab left out of the file is said, not silently dropped.
    expect(r.all).toContain('vault.address https://vault.example.internal:8200 is replaced by the lab');
    expect(r.all).toContain('distribute_ca (users svc-web, svc-edge) is left out');
    expect(r.all).toMatch(/Applied 8 step\(s\)/);
    const workspace = /reopen it with `certwright lab --resume (\S+)`/.exec(r.all)![1]!;
    expect(baoProcessesUnder(workspace)).toEqual([]);
    // The rehearsed file is kept, and it is a valid estate file with the lab's address.
    const kept = loadEstate(path.join(workspace, 'estate.yaml')).spec;
    expect(kept.vault.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(kept.urls?.base).toBe(`https://${kept.vault.listen}`);
    // The leaf verifies to the rehearsal's root (openssl, not certwright).
    const leaf = spawnSync('openssl', ['verify', '-CAfile', path.join(workspace, 'root', 'root-ca.pem'), '-untrusted', path.join(workspace, 'web-tls', 'current', 'chain.pem'), path.join(workspace, 'web-tls', 'current', 'cert.pem')], { encoding: 'utf8' });
    expect(leaf.stdout).toMatch(/OK$/m);

    // --resume: the Vault comes back over HTTPS (unsealed from the workspace's keys file), the agents log in again.
    const child = spawn(process.execPath, [BIN, 'lab', '--resume', workspace], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!out.includes('The lab runs until')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the lab did not resume: ${out}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(out).toMatch(/Lab OpenBao at https:\/\/127\.0\.0\.1:\d+ \(PID \d+; raft storage, not dev mode\)/);
    expect(out).toMatch(/✓ bao agent for app web \(PID \d+\): first render/);
    expect(out).toMatch(/✓ bao agent for proxy edge \(PID \d+\): first render/);
    const token = /"root_token": "(.*)"/.exec(fs.readFileSync(path.join(workspace, 'vault-keys.json'), 'utf8'))![1]!;
    const status = await execa(process.execPath, [BIN, 'status', '--env', 'prod', '--json', '--select', `cw-none=${process.pid}`], { env: { ...env, CERTWRIGHT_HOME: path.join(workspace, 'state'), VAULT_TOKEN: token }, extendEnv: false, reject: false });
    expect(JSON.parse(status.stdout).problems, status.stdout.slice(0, 1500)).toEqual([]);
    expect(status.exitCode).toBe(0);
    // Green means healthy: an agent that runs but cannot log in (started again on a spent wrapped
    // secret_id, no re-arm) turns the row red with the agent's own words.
    const webDir = path.join(workspace, 'agent-web');
    const before = fs.statSync(path.join(webDir, 'agent.log')).size;
    const logFd = fs.openSync(path.join(webDir, 'agent.log'), 'a');
    const again = spawn(BAO, ['agent', `-config=${path.join(webDir, 'agent.hcl')}`], { stdio: ['ignore', logFd, logFd], env: { PATH: env.PATH, HOME: work } });
    try {
      for (let i = 0; i < 300 && !fs.readFileSync(path.join(webDir, 'agent.log')).subarray(before).toString().includes('agent.auth.handler: error'); i += 1) await new Promise((res) => setTimeout(res, 100));
      const red = await execa(process.execPath, [BIN, 'status', '--env', 'prod', '--json', '--select', `cw-none=${process.pid}`], { env: { ...env, CERTWRIGHT_HOME: path.join(workspace, 'state'), VAULT_TOKEN: token }, extendEnv: false, reject: false });
      const web = JSON.parse(red.stdout).sections.agents.agents.find((a: { name: string }) => a.name === 'web');
      expect(web.state, JSON.stringify(web)).toBe('fail');
      expect(web.reason).toContain('the agent cannot log in to Vault');
      expect(red.exitCode).toBe(9);
    } finally {
      again.kill('SIGTERM');
    }
    child.kill('SIGHUP');
    expect(await exited).toBe(129);
    for (let i = 0; i < 100 && baoProcessesUnder(workspace).length > 0; i += 1) await new Promise((res) => setTimeout(res, 100));
    expect(baoProcessesUnder(workspace)).toEqual([]);
  }, 480_000);

  it('--resume of a directory that is no lab, and --file with --resume, are refused with the fix', async () => {
    const work = tempDir();
    const notLab = await execa(process.execPath, [BIN, 'lab', '--resume', work], { reject: false, env: { CI: 'true' } });
    expect(notLab.exitCode).toBe(1);
    expect(notLab.stderr).toContain('is not a kept lab');
    expect(notLab.stderr).toContain('Pass --resume with the workspace a lab printed');
    const both = await execa(process.execPath, [BIN, 'lab', '--resume', work, '--file', path.join(work, 'x.yaml')], { reject: false, env: { CI: 'true' } });
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('contradict');
  });
});

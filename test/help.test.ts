import { describe, expect, it } from 'vitest';
import { cli } from './helpers/env.js';
import { commandNames, commandSpecOf, commandHelp, helpText, parseFlags } from '../source/cli.js';
import { EXAMPLES } from '../source/commands/examples.js';

/** Shell words of an example (double quotes group; no other shell syntax is used in them). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('help (issue 13, point 6)', () => {
  it('every command has examples whose flags are its own, and its help fits 80 columns', async () => {
    const wide: string[] = [];
    for (const name of commandNames()) {
      const spec = await commandSpecOf(name);
      const help = commandHelp(spec, 80);
      for (const line of help.split('\n')) if (line.length > 80) wide.push(`${name}: ${line}`);
      expect(help, name).toMatch(/\nExamples:\n/);
      for (const [, example] of EXAMPLES[name] ?? []) {
        const argv = words(example).slice(1);
        const rest = argv.slice(name === 'wizard' && argv[0] !== 'wizard' ? 0 : name.split(' ').length);
        expect(() => parseFlags(spec, rest, {}), `${name}: ${example}`).not.toThrow();
      }
    }
    expect(wide).toEqual([]);
    for (const line of helpText(80).split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // Other widths follow the terminal
    expect(Math.max(...commandHelp(await commandSpecOf('build-cert'), 60).split('\n').map((l) => l.length))).toBeLessThanOrEqual(60);
  });

  it('the binary wraps to 80 without a terminal, lists wizard, and `certwright root` suggests root create', async () => {
    const top = await cli(['--help']);
    expect(top.exitCode).toBe(0);
    expect(top.stdout).toMatch(/^ {2}wizard {2,}/m);
    for (const name of ['root create', 'build-cert', 'vault-cert', 'status']) {
      const r = await cli([...name.split(' '), '--help']);
      expect(r.exitCode).toBe(0);
      for (const line of r.stdout.split('\n')) expect(line.length, `${name}: ${line}`).toBeLessThanOrEqual(80);
      // A wrapped example is continued with " \" and joins back into the command
      const example = r.stdout.slice(r.stdout.indexOf('Examples:')).split('\n').filter((l) => /^\s{4}/.test(l)).join('\n').replace(/ \\\n\s+/g, ' ');
      expect(example).toContain(`$ certwright ${name} `);
    }
    const root = await cli(['root']);
    expect(root.exitCode).toBe(2);
    expect(root.stderr).toMatch(/"root" needs a subcommand: root create, root crl\./);
    expect(root.stderr).toMatch(/certwright root create --help/);
  });
});

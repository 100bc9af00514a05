import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir, writePassphrase } from './helpers/env.js';

/** Non-interactive commands must never load React or Ink: every module they resolve is logged. */
async function modulesLoadedBy(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const work = tempDir();
  const log = path.join(work, 'modules.log');
  await execa('node', ['--import', path.join(ROOT, 'test/helpers/module-log.mjs'), BIN, ...args], {
    reject: false,
    env: { CERTWRIGHT_MODULE_LOG: log, CERTWRIGHT_HOME: path.join(work, 'home'), CI: 'true', ...env },
  });
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
}

describe('non-interactive commands do not load React', () => {
  it.each([
    [['--version']],
    [['--help']],
    [['state', 'show', '--env', 'x']],
    [['intermediate', 'request', '--env', 'x', '--mount', 'p', '--cn', 'c', '--csr-out', '/tmp/x.csr', '--vault-addr', 'http://127.0.0.1:9']],
    // refused (no such file), but only after its module and the estate loader are loaded
    [['export', 'ansible', '--file', '/nonexistent/estate.yaml', '--out', '/tmp/cw-no-react-export']],
    [['ansible-secret', '--file', '/nonexistent/estate.yaml', '--agent', 'app/web']],
  ])('certwright %j', async (args) => {
    const modules = await modulesLoadedBy(args);
    expect(modules.length).toBeGreaterThan(0);
    expect(modules.filter((m) => /node_modules\/(react|ink|@inkjs)\//.test(m))).toEqual([]);
  });

  it('root create loads no React either', async () => {
    const work = tempDir();
    fs.mkdirSync(path.join(work, 'root'));
    const modules = await modulesLoadedBy(['root', 'create', '--env', 'x', '--out', path.join(work, 'root'), '--cn', 'X', '--key-type', 'ec-p256', '--passphrase-file', writePassphrase(work)]);
    expect(modules.some((m) => m.includes('@peculiar/x509'))).toBe(true);
    expect(modules.filter((m) => /node_modules\/(react|ink|@inkjs)\//.test(m))).toEqual([]);
  });

  it('--version loads only the CLI entry and its version', async () => {
    const modules = await modulesLoadedBy(['--version']);
    expect(modules.filter((m) => m.includes('node_modules'))).toEqual([]);
  });
});

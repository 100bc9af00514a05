import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './helpers/env.js';

/** status --json, --format prometheus/text and doctor never load React, Ink or the x509 library. */
async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const work = tempDir();
  const log = path.join(work, 'modules.log');
  const r = await execa('node', ['--import', path.join(ROOT, 'test/helpers/module-log.mjs'), BIN, ...args], {
    reject: false,
    env: { CERTWRIGHT_MODULE_LOG: log, CERTWRIGHT_HOME: path.join(work, 'home'), CI: 'true', VAULT_ADDR: 'http://127.0.0.1:9' },
  });
  expect(r.exitCode, r.stderr).toBeLessThan(10);
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
}

describe('the non-interactive status and doctor paths', () => {
  it.each([[['status', '--json']], [['status', '--format', 'prometheus']], [['status', '--format', 'text']], [['doctor', '--json']], [['doctor']]])('certwright %j loads no React, Ink or @peculiar/x509', async (args) => {
    const modules = await modulesLoadedBy(args);
    expect(modules.some((m) => m.includes('/status/collect.js'))).toBe(true);
    expect(modules.filter((m) => /node_modules\/(react|ink|@inkjs|@peculiar|reflect-metadata|conf|execa)\//.test(m))).toEqual([]);
  });
});

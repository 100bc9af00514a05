import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/env.js';
import { makeTestCa, leafPayload } from './helpers/certs.js';
import { applyHook, type HookInput } from '../source/steps/hook.js';
import { EventLog } from '../source/hook/events.js';
import { Podman } from '../source/system/podman.js';
import { silentReporter } from '../source/steps/context.js';

/**
 * Issue 12 point 4: the README's advice for reading key and certificate, tested exactly as
 * written. The two sh blocks the README marks "run by test/reading-advice.test.ts" are run, as
 * they stand, by two concurrent readers (one each) in a directory whose ./web-tls the real hook
 * rotates over and over. Every read's key must match its certificate. Counts, not clocks: the
 * rotations go on until each reader has done its reads.
 */
const MARK = '<!-- readme-test: run by test/reading-advice.test.ts -->';
const READS_PER_READER = 1200;

function adviceBlocks(): string[] {
  const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]!.trim() !== MARK || lines[i + 1]!.trim() !== '```sh') continue;
    const code: string[] = [];
    for (i += 2; lines[i]!.trim() !== '```'; i += 1) code.push(lines[i]!);
    blocks.push(`${code.join('\n')}\n`);
  }
  return blocks;
}

interface ReaderStats {
  block: string;
  reads: number;
  mismatches: number;
  retries: number;
  serials: Set<string>;
  errors: string[];
}

function runOnce(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [script], { cwd, maxBuffer: 1 << 20 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** One read as the README's block does it; the key and the first certificate it printed must match. */
async function read(stats: ReaderStats, script: string, cwd: string): Promise<void> {
  const r = await runOnce(script, cwd);
  if (r.code !== 0) {
    // A version pruned between resolving and reading: the README says the read is done again.
    if (/No such file/.test(r.stderr)) stats.retries += 1;
    else if (stats.errors.length < 5) stats.errors.push(r.stderr.trim());
    return;
  }
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(r.stdout)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  if (!key || !cert) {
    if (stats.errors.length < 5) stats.errors.push(`no key or certificate in: ${r.stdout.slice(0, 120)}`);
    return;
  }
  const x = new X509Certificate(cert);
  stats.reads += 1;
  stats.serials.add(x.serialNumber);
  if (!x.checkPrivateKey(createPrivateKey(key))) stats.mismatches += 1;
}

describe('point 4: the README\'s reading advice never pairs a certificate with another version\'s key', () => {
  it('its two blocks, as written, as two concurrent readers while the hook rotates ./web-tls', async () => {
    const blocks = adviceBlocks();
    expect(blocks, 'the README gives two reading blocks').toHaveLength(2);
    expect(blocks.join('')).toMatch(/bundle\.pem/);
    expect(blocks.join('')).toMatch(/readlink -f \.\/web-tls\/current/);

    const work = tempDir('cw-reading-');
    const tls = path.join(work, 'web-tls');
    const ca = makeTestCa(path.join(work, 'ca'), 'Reading');
    const leaves = Array.from({ length: 6 }, () => ca.issue('web.test'));
    const input = (i: number): HookInput => ({
      payloadText: leafPayload(ca, leaves[i % leaves.length]!),
      payloadSource: `payload ${i}`,
      tlsDir: tls,
      trustFile: ca.rootFile,
      select: [],
      podman: new Podman(path.join(work, 'no-podman-here')), // no containers: the swap is what is read
      keep: 3,
      checkTimeoutMs: 1000,
      events: new EventLog(undefined, 'test', 'app/web'),
    });
    await applyHook(input(0), silentReporter);

    const readers = blocks.map((code, n) => {
      const script = path.join(work, `advice-${n}.sh`);
      fs.writeFileSync(script, code);
      return { script, stats: { block: code.trim().split('\n')[0]!, reads: 0, mismatches: 0, retries: 0, serials: new Set<string>(), errors: [] } as ReaderStats };
    });
    let rotations = 0;
    let done = false;
    const reading = Promise.all(
      readers.map(async (r) => {
        while (r.stats.reads < READS_PER_READER && r.stats.errors.length === 0) await read(r.stats, r.script, work);
      }),
    ).finally(() => (done = true));
    // The hook rotates until both readers are through (each rotation is a real swap: a new version, current moved, old ones pruned).
    while (!done) {
      rotations += 1;
      await applyHook(input(rotations), silentReporter);
    }
    await reading;

    const total = readers.reduce((n, r) => n + r.stats.reads, 0);
    console.info(`[reading-advice] ${rotations} rotations; ${total} reads by the README's blocks: ${readers.map((r) => `"${r.stats.block}" ${r.stats.reads} reads, ${r.stats.mismatches} mismatched, ${r.stats.retries} re-read (version pruned), ${r.stats.serials.size} certificates seen`).join('; ')}`);
    for (const r of readers) {
      expect(r.stats.errors, r.stats.block).toEqual([]);
      expect(r.stats.reads, r.stats.block).toBe(READS_PER_READER);
      expect(r.stats.mismatches, r.stats.block).toBe(0);
      expect(r.stats.serials.size, `${r.stats.block}: the reader saw the rotations`).toBeGreaterThan(2);
    }
    expect(rotations).toBeGreaterThan(10);
  }, 170_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
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
 * hook rotates a fixed number of times while the readers read, then they stop.
 */
const MARK = '<!-- readme-test: run by test/reading-advice.test.ts -->';
const ROTATIONS = 100;

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

const END = '=====certwright-read-end=====';
const STOP = '.stop-readers';

/**
 * One reader: a shell that runs the README's block, exactly as written, in a loop until the test
 * says stop
 * (one sh for all of them, so the machine's load goes into reading, not into starting shells),
 * marking the end of each read.
 */
function readerScript(block: string): string {
  return `while [ ! -e ./${STOP} ]; do\n${block}echo '${END}'\ndone\n`;
}

function runReader(script: string, cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('close', () => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Each read's key must match the first certificate it printed. */
function judge(stats: ReaderStats, stdout: string, stderr: string): void {
  for (const chunk of stdout.split(`${END}\n`).slice(0, -1)) {
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(chunk)?.[0];
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chunk)?.[0];
    if (!key || !cert) {
      // A version pruned between resolving and reading (cat says "No such file"): the README says
      // the read is simply done again; it is counted, never judged as a pair.
      stats.retries += 1;
      continue;
    }
    const x = new X509Certificate(cert);
    stats.reads += 1;
    stats.serials.add(x.serialNumber);
    if (!x.checkPrivateKey(createPrivateKey(key))) stats.mismatches += 1;
  }
  for (const line of stderr.split('\n').filter(Boolean)) {
    if (!/No such file/.test(line) && stats.errors.length < 5) stats.errors.push(line);
  }
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
      fs.writeFileSync(script, readerScript(code));
      return { script, stats: { block: code.trim().split('\n')[0]!, reads: 0, mismatches: 0, retries: 0, serials: new Set<string>(), errors: [] } as ReaderStats };
    });
    let rotations = 0;
    let done = false;
    const reading = Promise.all(
      readers.map(async (r) => {
        const { stdout, stderr } = await runReader(r.script, work);
        judge(r.stats, stdout, stderr);
      }),
    ).finally(() => (done = true));
    // The hook rotates ROTATIONS times under the readers (each a real swap: a new version, current
    // moved, old ones pruned), then the readers are told to stop.
    while (rotations < ROTATIONS && !done) {
      rotations += 1;
      await applyHook(input(rotations), silentReporter);
      await new Promise((r) => setImmediate(r)); // let the readers' output in between swaps
    }
    fs.writeFileSync(path.join(work, STOP), '');
    await reading;

    const total = readers.reduce((n, r) => n + r.stats.reads, 0);
    console.info(`[reading-advice] ${rotations} rotations; ${total} reads by the README's blocks: ${readers.map((r) => `"${r.stats.block}" ${r.stats.reads} reads, ${r.stats.mismatches} mismatched, ${r.stats.retries} re-read (version pruned), ${r.stats.serials.size} certificates seen`).join('; ')}`);
    for (const r of readers) {
      expect(r.stats.errors, r.stats.block).toEqual([]);
      expect(r.stats.reads, `${r.stats.block}: reads interleaved with the rotations`).toBeGreaterThan(ROTATIONS * 5);
      expect(r.stats.mismatches, r.stats.block).toBe(0);
      expect(r.stats.serials.size, `${r.stats.block}: the reader saw the rotations`).toBeGreaterThan(2);
    }
    expect(rotations).toBe(ROTATIONS);
  }, 170_000);
});

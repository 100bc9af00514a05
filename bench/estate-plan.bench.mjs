#!/usr/bin/env node
// npm run bench -- estate
//
// `certwright plan --file` on a 20-agent estate file (issue 10, point 7), against a throwaway
// OpenBao dev server from the pinned install: the fresh estate (every step to do: each agent's
// plan reads Vault), then the same file after `apply --one-machine` (every step done: each
// recorded step re-verified, each agent re-planned to nothing). Median of 5 runs each, beside bare
// `node -e 0` measured in the same run. Never a timed assertion in the test suite.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'certwright.mjs');
const BAO = path.join(ROOT, '.tools', 'bin', 'bao');
const AGENTS = Number(process.env.BENCH_AGENTS ?? 20);
const RUNS = 5;

const { startDevServer } = await import(path.join(ROOT, 'build/source/system/openbao.js'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-estate-'));
const server = await startDevServer({ bao: BAO });
try {
  const lines = [
    'environment: bench',
    'root:         { dir: ./root, cn: "Bench Root CA", key_type: ec-p256, ttl: 2y, path_len: 1 }',
    `vault:        { address: ${server.addr}, allow_http: true }`,
    'intermediate: { mount: pki_bench, cn: "Bench Issuing CA" }',
    'agents:',
  ];
  for (let i = 0; i < AGENTS; i += 1) {
    lines.push(i % 2 === 0 ? `  - { kind: app, name: app${i}, common_name: app${i}.bench.internal, tls_dir: ./tls/app${i}, out: ./agents/app${i} }` : `  - { kind: proxy, name: proxy${i}, ca_out: ./ca/proxy${i}.pem, out: ./agents/proxy${i} }`);
  }
  const file = path.join(work, 'estate.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const pass = path.join(work, 'pass');
  fs.writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: work, CERTWRIGHT_HOME: path.join(work, 'home'), VAULT_TOKEN: server.token, CI: 'true' };
  const time = (args) => {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    const ms = performance.now() - t;
    if (r.status !== 0 && args[0] === BIN) throw new Error(`certwright ${args.slice(1).join(' ')} failed (${r.status}): ${r.stderr}`);
    return ms;
  };
  const median = (args) => {
    const runs = Array.from({ length: RUNS }, () => time(args)).sort((a, b) => a - b);
    return runs[Math.floor(RUNS / 2)];
  };
  const bare = median(['-e', '0']);
  const fresh = median([BIN, 'plan', '--file', file, '--one-machine']);
  const applyMs = time([BIN, 'apply', '--file', file, '--one-machine', '--yes', '--passphrase-file', pass]);
  const done = median([BIN, 'plan', '--file', file, '--one-machine']);
  const again = median([BIN, 'apply', '--file', file, '--one-machine', '--yes', '--passphrase-file', pass]);
  const f = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
  process.stdout.write(
    [
      `estate: ${AGENTS} agents + root + intermediate (${AGENTS + 2} steps), OpenBao dev server, median of ${RUNS}`,
      `  node -e 0                      ${f(bare)}`,
      `  plan --file (fresh, all to do) ${f(fresh)}  (${(fresh / bare).toFixed(1)}x bare node)`,
      `  apply --one-machine (once)     ${f(applyMs)}`,
      `  plan --file (all done)         ${f(done)}  (${(done / bare).toFixed(1)}x bare node)`,
      `  apply again (nothing to do)    ${f(again)}`,
      '',
    ].join('\n'),
  );
} finally {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

#!/usr/bin/env node
// npm run bench -- raft
//
// Issuance through a three-node raft cluster against a single node, in one run. Both Vaults are
// built by certwright itself from an estate file (`apply --file --one-machine`): the single one
// with `vault: { listen: ... }`, the cluster with `vault: { nodes: 3, listen_base: ... }`, each on
// free loopback ports, real OpenBao (.tools/bin/bao), HTTPS trusting only its root. Then, for
// BENCH_SECONDS (default 10) each, BENCH_CLIENTS (default 4) concurrent clients issue leaves from a
// storing role (each issue is a raft write) over keep-alive HTTPS:
//   single   — all to the single node
//   leader   — all to the cluster's active node
//   spread   — round-robin over the three nodes (standbys forward to the active node)
// Printed: leaves/s and p50/p99 latency per case, and the ratios to the single node.
// Every server this script starts is stopped by its PID at the end.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'certwright.mjs');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const { freePortRun } = await import(path.join(ROOT, 'build/source/system/openbao.js'));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-raft-'));
const pass = path.join(work, 'pass');
fs.writeFileSync(pass, 'a bench passphrase long enough\n', { mode: 0o600 });
const pidFiles = [];

function build(name, vaultLine) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const estate = path.join(dir, 'estate.yaml');
  fs.writeFileSync(estate, [`environment: ${name}`, 'root: { dir: ./root, cn: "Bench Root", key_type: ec-p256 }', `vault: ${vaultLine}`, 'intermediate: { mount: pki_int, cn: "Bench Issuing", key_type: ec-p256 }', 'vault_cert: { dir: ./vault-tls }', ''].join('\n'));
  const keys = path.join(dir, 'keys.json');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'apply', '--file', estate, '--one-machine', '--passphrase-file', pass, '--keys-out', keys, '--yes'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, CERTWRIGHT_HOME: path.join(dir, 'home'), CI: 'true' }, encoding: 'utf8' });
  for (const f of walkPids(path.join(dir, 'vault'))) pidFiles.push(f);
  if (r.status !== 0) throw new Error(`apply for ${name} failed:\n${r.stderr.slice(-2000)}`);
  const token = JSON.parse(fs.readFileSync(keys, 'utf8')).root_token;
  return { dir, token, ca: fs.readFileSync(path.join(dir, 'root', 'root-ca.pem'), 'utf8'), builtMs: performance.now() - t0 };
}

function walkPids(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walkPids(path.join(dir, e.name)) : e.name === 'vault.pid' ? [path.join(dir, e.name)] : []));
}

function call(agent, ca, token, base, method, apiPath, body) {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}/v1/${apiPath}`, { method, agent, ca, headers: { 'X-Vault-Token': token, ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function measure(label, vault, addrs) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CLIENTS * addrs.length });
  const lat = [];
  let failures = 0;
  const deadline = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const base = addrs[n++ % addrs.length];
        const t = performance.now();
        const r = await call(agent, vault.ca, vault.token, base, 'POST', 'pki_int/issue/bench', { common_name: 'x.bench.test', ttl: '10m' }).catch(() => ({ status: 0 }));
        if (r.status === 200) lat.push(performance.now() - t);
        else failures += 1;
      }
    }),
  );
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1) : '-');
  const rate = lat.length / SECONDS;
  console.log(`${label.padEnd(8)} ${rate.toFixed(1).padStart(7)} leaves/s   p50 ${q(0.5)} ms   p99 ${q(0.99)} ms   failures ${failures}`);
  return rate;
}

async function addRole(vault, addr) {
  const agent = new https.Agent();
  const r = await call(agent, vault.ca, vault.token, addr, 'POST', 'pki_int/roles/bench', { allowed_domains: ['bench.test'], allow_subdomains: true, allow_localhost: false, ttl: '10m', max_ttl: '1h', key_type: 'ec', key_bits: 256, no_store: false });
  if (r.status >= 300) throw new Error(`role: ${r.status} ${r.text}`);
}

try {
  const single = await freePortRun(2);
  const base = await freePortRun(6);
  console.log(`raft bench: ${CLIENTS} clients x ${SECONDS} s per case, storing role (every issue is a raft write), real OpenBao on loopback`);
  const one = build('single', `{ listen: 127.0.0.1:${single}, data_dir: ./vault, key_shares: 1, key_threshold: 1 }`);
  const ha = build('ha', `{ nodes: 3, listen_base: 127.0.0.1:${base}, data_dir: ./vault, key_shares: 1, key_threshold: 1 }`);
  console.log(`built by certwright apply: single node in ${(one.builtMs / 1000).toFixed(1)} s, 3-node cluster in ${(ha.builtMs / 1000).toFixed(1)} s`);
  const oneAddr = `https://127.0.0.1:${single}`;
  const haAddrs = [0, 1, 2].map((i) => `https://127.0.0.1:${base + 2 * i}`);
  await addRole(one, oneAddr);
  await addRole(ha, haAddrs[0]);
  const leader = JSON.parse((await call(new https.Agent(), ha.ca, ha.token, haAddrs[0], 'GET', 'sys/leader')).text).leader_address;
  const rSingle = await measure('single', one, [oneAddr]);
  const rLeader = await measure('leader', ha, [leader]);
  const rSpread = await measure('spread', ha, haAddrs);
  console.log(`ratio to the single node: leader ${(rLeader / rSingle).toFixed(2)}x, spread over 3 nodes ${(rSpread / rSingle).toFixed(2)}x`);
} finally {
  const pids = pidFiles.map((f) => Number(fs.readFileSync(f, 'utf8')));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  // Bounded: the servers are gone before their directories are removed.
  const until = Date.now() + 15_000;
  const alive = (pid) => {
    try {
      return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  while (Date.now() < until && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  fs.rmSync(work, { recursive: true, force: true });
}

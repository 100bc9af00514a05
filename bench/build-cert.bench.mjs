#!/usr/bin/env node
// build-cert (issue 6), measured against baselines in the same run, on a throwaway OpenBao dev server:
//   1. one `certwright build-cert` (token auth, one trust path) as a ratio to one
//      `bao write <mount>/issue/<role>` with the same request (target <= 1.2x);
//      the AppRole variant (login + issue) is shown beside it;
//   2. 100 issues in one process (the build-cert step called in a loop) vs 100 CLI invocations.
// Runs are interleaved so machine noise hits both alike; medians are compared.
// Needs `npm run build` (build/) and the pinned OpenBao (.tools/bin/bao, `npm run tools`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MANY = Number(process.env.BENCH_MANY ?? 100);
const BAO = path.join(ROOT, '.tools', 'bin', 'bao');
const BIN = path.join(ROOT, 'bin', 'certwright.mjs');
const SHA = '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49';

const { startDevServer } = await import(path.join(ROOT, 'build/source/system/openbao.js'));
const { VaultClient } = await import(path.join(ROOT, 'build/source/vault/client.js'));
const { applyBuildCert, prepareBuildCert } = await import(path.join(ROOT, 'build/source/steps/build-cert.js'));
const { silentReporter } = await import(path.join(ROOT, 'build/source/steps/context.js'));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-buildcert-'));
const server = await startDevServer({ bao: BAO });
try {
  await main();
} finally {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

function run(cmd, args, env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH, HOME: work, ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  return ms;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(ms) {
  return `${ms.toFixed(1)} ms`;
}

async function main() {
  const env = { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, CERTWRIGHT_HOME: path.join(work, 'home') };
  const mount = 'pki_bench';
  // A mount with a root and a role shaped like build-role's (set up with the real CLI).
  run(BAO, ['secrets', 'enable', `-path=${mount}`, '-max-lease-ttl=87600h', 'pki'], env);
  const rootPem = spawnSync(BAO, ['write', '-field=certificate', `${mount}/root/generate/internal`, 'common_name=Bench Root', 'ttl=87600h', 'key_type=ec'], { env: { PATH: process.env.PATH, HOME: work, ...env }, encoding: 'utf8' }).stdout;
  const rootFile = path.join(work, 'root.pem');
  fs.writeFileSync(rootFile, `${rootPem.trim()}\n`);
  const roleIdFile = path.join(work, 'role-id');
  const secretIdFile = path.join(work, 'secret-id');
  run('node', [BIN, 'build-role', '--env', 'bench', '--mount', mount, '--role', 'build', '--allowed-apps', 'app1', '--ttl', '720h', '--role-id-out', roleIdFile, '--secret-id-out', secretIdFile], env);

  const baoIssue = () => run(BAO, ['write', '-format=json', `${mount}/issue/build`, 'common_name=app1', `alt_names=${SHA}.git`, 'exclude_cn_from_sans=true', 'private_key_format=pkcs8'], env);
  const out = path.join(work, 'out');
  const cliArgs = [BIN, 'build-cert', '--mount', mount, '--role', 'build', '--app', 'app1', '--git-sha', SHA, '--out', out, '--trust-path', `vault=${rootFile}`];
  const cliIssue = () => run('node', cliArgs, env);
  const cliAppRole = () => run('node', [...cliArgs, '--role-id-file', roleIdFile, '--secret-id-file', secretIdFile], { VAULT_ADDR: server.addr, CERTWRIGHT_HOME: env.CERTWRIGHT_HOME });
  const nodeBare = () => run('node', ['-e', '0'], {});

  // Warm-up (page cache, Vault's first issue).
  baoIssue();
  cliIssue();
  cliAppRole();
  const times = { bao: [], cli: [], approle: [], node: [] };
  for (let i = 0; i < RUNS; i += 1) {
    times.bao.push(baoIssue());
    times.cli.push(cliIssue());
    times.approle.push(cliAppRole());
    times.node.push(nodeBare());
  }
  const mBao = median(times.bao);
  const mCli = median(times.cli);
  const mApp = median(times.approle);
  console.log(`1. one issue, median of ${RUNS} interleaved runs`);
  console.log(`   bao write ${mount}/issue/build          ${fmt(mBao)}   (baseline)`);
  console.log(`   certwright build-cert (VAULT_TOKEN)     ${fmt(mCli)}   ratio ${(mCli / mBao).toFixed(2)}x  (target <= 1.2x: ${mCli / mBao <= 1.2 ? 'met' : 'NOT met'})`);
  console.log(`   certwright build-cert (AppRole login)   ${fmt(mApp)}   ratio ${(mApp / mBao).toFixed(2)}x`);
  console.log(`   bare node -e 0                          ${fmt(median(times.node))}   (process start alone)`);

  // 2. 100 issues: one process vs 100 processes.
  const vault = new VaultClient({ addr: server.addr, token: server.token });
  const input = { mount, role: 'build', app: 'app1', gitSha: SHA, outDir: path.join(work, 'loop'), trustPaths: [{ name: 'vault', caFile: rootFile }], auditLog: path.join(work, 'audit.jsonl'), auth: 'token' };
  let t = process.hrtime.bigint();
  for (let i = 0; i < MANY; i += 1) await applyBuildCert(vault, input, silentReporter, await prepareBuildCert(vault, input));
  const inProcess = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  for (let i = 0; i < MANY; i += 1) cliIssue();
  const cliTotal = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`2. ${MANY} issues (each: role + issuer read, issue, verify, write key, cert, chain, bundle, env file, audit line)`);
  console.log(`   in one process        ${fmt(inProcess)} total, ${fmt(inProcess / MANY)} per issue`);
  console.log(`   ${MANY} CLI invocations   ${fmt(cliTotal)} total, ${fmt(cliTotal / MANY)} per issue   ratio ${(cliTotal / inProcess).toFixed(1)}x the in-process loop`);
  console.log(`   process start and module loading per invocation ~ ${fmt((cliTotal - inProcess) / MANY)}`);
}

#!/usr/bin/env node
// npm run bench -- status
//
// Status at scale: a fixture estate of certificate files from a throwaway CA (root -> intermediate
// -> N leaves, one leaf key reused by every leaf so generation stays fast, a key file beside each
// leaf), checked by the real collector (build/source/status/collect.js) exactly as
// `certwright status --cert-dir DIR --root ROOT` does. Printed per size (100 / 1,000 / 5,000):
//   cold   — first snapshot: every file read and parsed, every key match and chain checked
//   warm   — the next refresh with nothing changed (the live screen's steady state)
//   peak   — the process's maximum RSS (each size in its own process, so peaks do not add up)
// plus `status --json` start-up against bare `node -e 0`, measured in the same run.
//
// What is real and what is scaled: the certificate files are real files; the /proc scan for agent
// processes runs over this machine's real process table, with 10 agent configs (config files only,
// no agent running); `podman ps` runs for real and lists whatever labelled containers this machine
// has (usually none) — no container or process listing is simulated.
import 'reflect-metadata';
import { spawnSync, execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'certwright.mjs');
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,5000').split(',').map(Number);

if (process.argv[2] === '--measure') {
  // Child mode: one size, one process.
  const [dir, rootFile, agentDir] = process.argv.slice(3);
  const { StatusCollector } = await import(path.join(ROOT, 'build/source/status/collect.js'));
  const agentConfigs = fs.readdirSync(agentDir).map((d) => path.join(agentDir, d, 'agent.hcl'));
  const collector = new StatusCollector({ env: 'bench', home: { stateDir: path.join(dir, '..', 'home') }, warnDays: 14, rootFile, mounts: [], certDirs: [dir], agentConfigs, users: [], trustPath: '.config/certwright/ca.pem', select: [], pkiTtlMs: 60_000, environ: { HOME: os.tmpdir() } });
  let t = performance.now();
  const first = await collector.collect();
  const cold = performance.now() - t;
  const warmRuns = [];
  for (let i = 0; i < 5; i += 1) {
    t = performance.now();
    await collector.collect();
    warmRuns.push(performance.now() - t);
  }
  warmRuns.sort((a, b) => a - b);
  const c = first.sections.certificates;
  process.stdout.write(JSON.stringify({ cold, warm: warmRuns[2], maxRssMB: process.resourceUsage().maxRSS / 1024, files: c.counts.total, ok: c.counts.ok, expiring: c.counts.expiring, keyChecked: c.certificates.filter((x) => x.keyMatches === true).length, chainOk: c.certificates.filter((x) => x.chainVerifies === true).length, containers: first.sections.containers.containers.length, agents: first.sections.agents.agents.length }));
  process.exit(0);
}

x509.cryptoProvider.set(webcrypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const days = (n) => new Date(Date.now() + n * 86_400_000);

async function ca(name, issuer, signingKey, years) {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01' + Math.floor(Math.random() * 1e12).toString(16),
    subject: `CN=${name}`,
    issuer: issuer ?? `CN=${name}`,
    notBefore: days(-1),
    notAfter: days(365 * years),
    publicKey: keys.publicKey,
    signingKey: signingKey ?? keys.privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { keys, cert };
}

async function estate(n, base) {
  const dir = path.join(base, `certs-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  const root = await ca('Bench Root', undefined, undefined, 10);
  const int = await ca('Bench Intermediate', 'CN=Bench Root', root.keys.privateKey, 5);
  const rootFile = path.join(base, `root-${n}.pem`);
  fs.writeFileSync(rootFile, root.cert.toString('pem') + '\n');
  fs.writeFileSync(path.join(dir, 'intermediate.pem'), int.cert.toString('pem') + '\n');
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY') + '\n';
  const t = performance.now();
  for (let i = 0; i < n; i += 1) {
    const name = `svc-${String(i).padStart(5, '0')}`;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: (0x100000 + i).toString(16),
      subject: `CN=${name}.bench.test`,
      issuer: 'CN=Bench Intermediate',
      notBefore: days(-1),
      // Spread expiries: about 5% fall inside the 14-day window.
      notAfter: days(i % 20 === 0 ? 7 : 30 + (i % 300)),
      publicKey: leafKeys.publicKey,
      signingKey: int.keys.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(false), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `${name}.bench.test` }])],
    });
    fs.writeFileSync(path.join(dir, `${name}.pem`), leaf.toString('pem') + '\n');
    fs.writeFileSync(path.join(dir, `${name}.key`), keyPem, { mode: 0o600 });
  }
  return { dir, rootFile, genMs: performance.now() - t };
}

function agents(base) {
  const dir = path.join(base, 'agents');
  for (let i = 0; i < 10; i += 1) {
    const d = path.join(dir, `agent-${i}`);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'agent.hcl'), `vault {\n  address = "https://127.0.0.1:8200"\n}\nauto_auth {\n  method "approle" {\n    config = { role_id_file_path = "${d}/role_id" }\n  }\n}\ntemplate {\n  destination = "${d}/leaf-cache.pem"\n  perms = "0600"\n  contents = "{{ with pkiCert \\"pki/issue/x\\" }}{{ .Cert }}{{ .Key }}{{ end }}"\n}\n`);
  }
  return dir;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeRun(args, env, runs = 9) {
  const out = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    out.push(performance.now() - t);
    if (r.status !== 0 && r.status !== 8 && r.status !== 9) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return median(out);
}

if (!fs.existsSync(path.join(ROOT, 'build/source/status/collect.js'))) execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-status-'));
try {
  const agentDir = agents(base);
  let podman = 'podman: not installed';
  try {
    const n = JSON.parse(execFileSync('podman', ['ps', '--filter', 'label=tls=true', '--format', 'json'], { encoding: 'utf8' })).length;
    podman = `podman: ${n} running container(s) labelled tls=true on this machine`;
  } catch {
    /* not installed */
  }
  console.log(`status refresh — ${os.cpus().length} CPU(s), Node ${process.version}; 10 agent configs (no agent running), ${podman}`);
  console.log('certificates  generate   cold snapshot  warm refresh  peak RSS   checked (key ok / chain ok / expiring)');
  const results = [];
  for (const n of SIZES) {
    const { dir, rootFile, genMs } = await estate(n, base);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', dir, rootFile, agentDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const m = JSON.parse(r.stdout);
    results.push({ n, ...m });
    console.log(`${String(n).padStart(12)}  ${(genMs / 1000).toFixed(1).padStart(6)} s  ${m.cold.toFixed(0).padStart(10)} ms  ${m.warm.toFixed(0).padStart(9)} ms  ${m.maxRssMB.toFixed(0).padStart(6)} MB   ${m.files} files (${m.keyChecked} / ${m.chainOk} / ${m.expiring})`);
  }
  if (results.length > 1) {
    const a = results[0];
    const b = results[results.length - 1];
    console.log(`growth ${a.n} -> ${b.n} (x${b.n / a.n}): cold x${(b.cold / a.cold).toFixed(1)}, warm x${(b.warm / a.warm).toFixed(1)}, peak RSS x${(b.maxRssMB / a.maxRssMB).toFixed(1)}`);
  }
  const at1000 = results.find((r) => r.n === 1000);
  if (at1000) console.log(`target at 1,000: refresh <= 1000 ms (cold ${at1000.cold.toFixed(0)} ms, warm ${at1000.warm.toFixed(0)} ms), peak <= 150 MB (${at1000.maxRssMB.toFixed(0)} MB): ${at1000.cold <= 1000 && at1000.maxRssMB <= 150 ? 'met' : 'NOT met'}`);

  // Start-up: `status --json` with nothing to probe (no Vault, podman absent, empty environment)
  // against bare node; then the same with the real podman probe, to show the probes' own time.
  const home = path.join(base, 'startup-home');
  // HOME in the bench's own directory: the compile cache (Node >= 22.1) is made by the first run.
  const env = { PATH: process.env.PATH, HOME: path.join(base, 'startup-user'), CERTWRIGHT_HOME: home };
  const bare = timeRun(['-e', '0'], env);
  const version = timeRun([BIN, '--version'], env);
  const noProbe = timeRun([BIN, 'status', '--json'], { ...env, CERTWRIGHT_PODMAN: '/nonexistent/podman' });
  const noCache = timeRun([BIN, 'status', '--json'], { ...env, CERTWRIGHT_PODMAN: '/nonexistent/podman', NODE_DISABLE_COMPILE_CACHE: '1' });
  const withPodman = timeRun([BIN, 'status', '--json'], env);
  console.log('');
  console.log(`start-up (median of 9): node -e 0 ${bare.toFixed(0)} ms · certwright --version ${version.toFixed(0)} ms (x${(version / bare).toFixed(2)})`);
  console.log(`  status --json, no probes to run: ${noProbe.toFixed(0)} ms = x${(noProbe / bare).toFixed(2)} of bare node (target <= 1.5x plus the probes' own time)`);
  console.log(`  the same without the compile cache: ${noCache.toFixed(0)} ms = x${(noCache / bare).toFixed(2)} (Node ${process.version})`);
  console.log(`  status --json with the real podman probe: ${withPodman.toFixed(0)} ms (the podman ps probe itself: ~${Math.max(0, withPodman - noProbe).toFixed(0)} ms)`);
} finally {
  fs.rmSync(base, { recursive: true, force: true });
}

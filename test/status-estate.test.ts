import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, useOpenBao, vaultEnv } from './helpers/env.js';
import { VaultClient } from '../source/vault/client.js';
import { appendEvent } from '../source/status/events.js';
import { envPaths } from '../source/paths.js';
import { sha256Hex } from '../source/system/files.js';
import { issueLeaf, makeIntermediate, makeRoot, opensslPki, publishTlsVersion, recordStep, startAgent, statusJson, validateAgainstSchema, waitFor, writeRole } from './helpers/status.js';

/**
 * Agents, certificates, CA distribution and the event log, set up for real: an OpenBao dev server
 * holding the environment's intermediate, a real `bao agent` rendering a leaf with pkiCert (stopped,
 * then running), a TLS directory in issue 4's layout, a real service user whose trust file drifts.
 * The agent's state record is written as issue 4's `agent app` writes it.
 */
const bao = useOpenBao();
const work = tempDir('cw-status-estate-');
const home = path.join(work, 'home');
const ENV = 'est';
const MOUNT = 'pki_est';
const svcUser = `cw5s${process.pid % 100000}`;
let rootFile: string;
let client: VaultClient;
const agentDir = path.join(work, 'agent-web');
const tlsDir = path.join(work, 'tls-web');
const agentHcl = path.join(agentDir, 'agent.hcl');
let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
let agentToken = '';

beforeAll(async () => {
  const dev = bao.server();
  const root = await makeRoot(home, ENV, work);
  rootFile = root.rootFile;
  await makeIntermediate(home, ENV, MOUNT, root, vaultEnv(dev, home));
  client = new VaultClient({ addr: dev.addr, token: dev.token });
  await writeRole(client, MOUNT, 'web', { allowed_domains: ['web.est.test'], allow_bare_domains: true, allow_any_name: false, ttl: '72h' });
  await client.write('sys/policies/acl/est-web', { policy: `path "${MOUNT}/issue/web" { capabilities = ["create", "update"] }\n` });
  agentToken = (await client.write<never>('auth/token/create', { policies: ['est-web'], ttl: '1h' })).json!.auth!.client_token as string;
  fs.mkdirSync(agentDir, { mode: 0o700 });
  fs.writeFileSync(path.join(agentDir, 'token-in'), `${agentToken}\n`, { mode: 0o600 });
  fs.writeFileSync(
    agentHcl,
    `vault {\n  address = "${dev.addr}"\n}\nauto_auth {\n  method "token_file" {\n    config = {\n      token_file_path = "${path.join(agentDir, 'token-in')}"\n    }\n  }\n  sink "file" {\n    config = {\n      path = "${path.join(agentDir, 'agent-token')}"\n      mode = 0600\n    }\n  }\n}\ntemplate {\n  destination = "${path.join(agentDir, 'leaf-cache.pem')}"\n  perms = "0600"\n  contents = <<EOT\n{{- with pkiCert "${MOUNT}/issue/web" "common_name=web.est.test" "ttl=72h" -}}\n{{ .Cert }}{{ .CA }}{{ .Key }}\n{{- end -}}\nEOT\n}\n`,
  );
  execFileSync('useradd', ['-m', svcUser]);
  // issue 4's agent-app record (source/steps/agent-rollout.ts there): these facts and artefact.
  recordStep(home, ENV, 'agent-app-web', MOUNT, [{ kind: 'agent-agent.hcl', path: agentHcl, sha256: sha256Hex(fs.readFileSync(agentHcl)) }], {
    kind: 'app',
    name: 'web',
    outDir: agentDir,
    tlsDir,
    commonName: 'web.est.test',
    ttl: '259200s',
    user: svcUser,
    unit: `bao-agent-${ENV}-app-web.service`,
    vaultAddr: dev.addr,
  });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  try {
    execFileSync('userdel', ['-r', svcUser], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
});

const env = () => ({ ...vaultEnv(bao.server(), home) });
const agentOf = (json: any) => json.sections.agents.agents.find((a: { name: string }) => a.name === 'web');

describe('status: agents, certificates, CA distribution and events on a real estate', () => {
  it('a stopped agent: no process, unit "unknown" with systemd\'s own reason, nothing rendered', async () => {
    const { json } = await statusJson(['--env', ENV], env());
    expect(await validateAgainstSchema('status', json)).toEqual([]);
    const a = agentOf(json);
    expect(a).toMatchObject({ kind: 'app', user: svcUser, config: agentHcl, mount: MOUNT, state: 'fail', process: { alive: false, pids: [] }, lastRender: null });
    expect(a.reason).toContain(`no agent process runs -config=${agentHcl}`);
    // No systemd runs here: the unit's state is unknown, and the reason is systemctl's.
    expect(a.unit.name).toBe(`bao-agent-${ENV}-app-web.service`);
    expect(a.unit.state).toBe('unknown');
    expect(a.unit.reason).toMatch(new RegExp(`${svcUser}'s user systemd is not reachable: .*(bus|Transport|connect)`, 'i'));
    const cert = json.sections.certificates.certificates.find((c: { path: string }) => c.path === path.join(tlsDir, 'cert.pem'));
    expect(cert).toMatchObject({ state: 'fail', source: 'agent-app/web' });
    expect(cert.reason).toMatch(/does not exist/);
  });

  it('a running agent: its PID, last render, token TTL from the sink (never the token); the TLS dir is checked against the render', async () => {
    agent = await startAgent(agentHcl, work);
    const rendered = path.join(agentDir, 'leaf-cache.pem');
    await waitFor(() => fs.existsSync(rendered) && fs.readFileSync(rendered, 'utf8').includes('PRIVATE KEY'), `the agent to render (log: ${agent.log})`);
    // What issue 4's hook does with the render: a new version in the TLS dir.
    const text = fs.readFileSync(rendered, 'utf8');
    const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----\n?/g)!.map((b) => (b.endsWith('\n') ? b : `${b}\n`));
    publishTlsVersion(tlsDir, 'v1', { certificate: blocks[0]!, chain: blocks[1]!, privateKey: blocks.find((b) => b.includes('PRIVATE KEY'))! });
    const r = await cli(['status', '--env', ENV, '--json'], { env: env() });
    expect(r.stdout).not.toContain(agentToken);
    const json = JSON.parse(r.stdout);
    expect(await validateAgainstSchema('status', json)).toEqual([]);
    const a = agentOf(json);
    expect(a.process).toEqual({ alive: true, pids: [agent.pid], uids: [0] });
    expect(a.lastRender.file).toBe(rendered);
    expect(Math.abs(new Date(a.lastRender.time).getTime() - fs.statSync(rendered).mtimeMs)).toBeLessThan(1000);
    expect(a.token.state).toBe('ok');
    expect(a.token.ttlSeconds).toBeGreaterThan(3000);
    expect(a.token.ttlSeconds).toBeLessThanOrEqual(3600);
    expect(a.unit.state).toBe('unknown');
    expect(a.state).toBe('ok');
    const leaf = new X509Certificate(blocks[0]!);
    const cert = json.sections.certificates.certificates.find((c: { path: string }) => c.path === path.join(tlsDir, 'cert.pem'));
    expect(cert).toMatchObject({ role: 'leaf', subject: 'CN=web.est.test', sans: ['web.est.test'], fingerprint: leaf.fingerprint256, keyMatches: true, chainVerifies: true, sameAsWritten: true, keyFile: path.join(tlsDir, 'key.pem') });
    // A freshly issued 72-hour leaf has more than a third of its lifetime left: green (it warns at 1 day).
    expect(cert.daysLeft).toBeLessThan(3.1);
    expect(cert.warnAtDays).toBe(1);
    expect(cert.state).toBe('ok');
    const chain = json.sections.certificates.certificates.find((c: { path: string }) => c.path === path.join(tlsDir, 'chain.pem'));
    expect(chain).toMatchObject({ role: 'intermediate', chainVerifies: true, state: 'ok' });
    // Who reads each file: the app's server through the TLS dir's current link; what each file holds.
    expect(cert.readBy).toEqual([`app web's server (through ${path.join(tlsDir, 'current')}; the hook swaps it in)`]);
    expect(cert.holds).toEqual([{ subject: 'CN=web.est.test', ca: false, notAfter: cert.notAfter, daysLeft: cert.daysLeft, fingerprint: leaf.fingerprint256 }]);
    expect(chain.holds.map((h: { ca: boolean }) => h.ca)).toEqual([true]);
    const rootEntry = json.sections.certificates.certificates.find((c: { path: string }) => c.path === rootFile);
    expect(rootEntry.readBy).toContain("status and doctor (the environment's root)");
    const prom = await cli(['status', '--env', ENV, '--format', 'prometheus'], { env: env() });
    expect(prom.stdout).toMatch(new RegExp(`^certwright_agent_up\\{env="${ENV}",agent="web",kind="app",user="${svcUser}"\\} 1$`, 'm'));
    expect(prom.stdout).toMatch(/^certwright_agent_token_ttl_seconds\{[^}]*agent="web"[^}]*\} \d+$/m);
    expect(prom.stdout).not.toMatch(/certwright_agent_unit_active/);
    expect(prom.stdout).not.toContain(agentToken);
  });

  it('a TLS dir holding another certificate than the agent rendered is reported (the hook did not swap it)', async () => {
    const other = await issueLeaf(client, MOUNT, 'web', 'web.est.test', '72h');
    publishTlsVersion(tlsDir, 'v2', { certificate: other.certificate, privateKey: other.privateKey, chain: other.chain });
    const { json } = await statusJson(['--env', ENV], env());
    const cert = json.sections.certificates.certificates.find((c: { path: string }) => c.path === path.join(tlsDir, 'cert.pem'));
    expect(cert.sameAsWritten).toBe(false);
    expect(cert.sameAsWrittenDetail).toMatch(/holds another certificate; the hook has not swapped it in/);
    expect(cert.keyMatches).toBe(true);
  });

  it('certificate files grouped by file, worst first, in one order for --json and --format text; one certificate in two files says where else it is', async () => {
    // The intermediate's certificate is also the TLS dir's chain.pem: two files, one certificate.
    const { json } = await statusJson(['--env', ENV], env());
    const entries = json.sections.certificates.certificates as Array<{ path: string; state: string; daysLeft: number; fingerprint: string; alsoIn: string[] }>;
    const rank: Record<string, number> = { fail: 0, warn: 1, unknown: 2, ok: 3 };
    for (let i = 1; i < entries.length; i += 1) {
      const [a, b] = [entries[i - 1]!, entries[i]!];
      expect(rank[a.state]! < rank[b.state]! || (rank[a.state] === rank[b.state] && a.daysLeft <= b.daysLeft), `${a.path} before ${b.path}`).toBe(true);
    }
    const chain = entries.find((c) => c.path === path.join(tlsDir, 'chain.pem'))!;
    const twins = entries.filter((c) => c !== chain && c.fingerprint === chain.fingerprint).map((c) => c.path);
    expect(twins.length).toBeGreaterThan(0);
    expect(chain.alsoIn).toEqual(twins);
    // The same files in the same order as plain text, each path whole on its own line, what it holds under it.
    const text = await cli(['status', '--env', ENV, '--format', 'text'], { env: env() });
    const lines = text.stdout.split('\n');
    const shownPaths = lines.filter((l) => /^ {7}(ok  |WARN|FAIL|\? {3}) \//.test(l)).map((l) => l.slice(12));
    expect(shownPaths).toEqual(entries.map((c) => c.path));
    const at = lines.findIndex((l) => l.endsWith(` ${path.join(tlsDir, 'cert.pem')}`));
    expect(lines[at + 1]).toMatch(/^ {12}\d+d left leaf web\.est\.test · read by app web's server$/);
    const chainAt = lines.findIndex((l) => l.endsWith(` ${path.join(tlsDir, 'chain.pem')}`));
    expect(lines[chainAt + 1]).toMatch(new RegExp(` · also in ${twins.length} other files?$`));
  });

  it('CA distribution: the service user\'s trust file holds the root, then drifts', async () => {
    const trust = path.join('/home', svcUser, '.config', 'certwright', 'ca.pem');
    fs.mkdirSync(path.dirname(trust), { recursive: true });
    fs.copyFileSync(rootFile, trust);
    const ok = await statusJson(['--env', ENV], env());
    expect(ok.json.sections.caDistribution.root.file).toBe(rootFile);
    expect(ok.json.sections.caDistribution.entries).toEqual([{ subject: `user:${svcUser}`, file: trust, state: 'ok', matches: true }]);
    const other = await opensslPki(path.join(work, 'drift'), 'drift');
    fs.copyFileSync(other.root, trust);
    const drift = await statusJson(['--env', ENV], env());
    const e = drift.json.sections.caDistribution.entries[0];
    expect(e).toMatchObject({ subject: `user:${svcUser}`, state: 'fail', matches: false });
    expect(e.reason).toMatch(/has drifted: it holds CN=drift Test Root/);
    expect(e.reason).toContain(`certwright distribute-ca --ca ROOT --users ${svcUser}`);
    expect(drift.json.sections.caDistribution.state).toBe('fail');
    expect(drift.exitCode).toBe(9);
  });

  it('the event log: latest events and counts, also from the service user\'s own hook log', async () => {
    const own = envPaths(ENV, { stateDir: home }).events;
    appendEvent(own, ENV, 'issued', { workload: 'app/web', serial: '01', fingerprint: 'AA' }, new Date('2026-01-01T00:00:00Z'));
    appendEvent(own, ENV, 'reload-failed', { workload: 'app/web', container: 'web', detail: 'exit 1' }, new Date('2026-01-01T00:00:01Z'));
    fs.appendFileSync(own, 'not json\n');
    // issue 4's hook logs into the service user's own certwright home unless --state-dir is given.
    const users = envPaths(ENV, { stateDir: path.join('/home', svcUser, '.config', 'certwright') }).events;
    appendEvent(users, ENV, 'rotated', { workload: 'app/web' }, new Date('2026-01-01T00:00:02Z'));
    appendEvent(users, ENV, 'reloaded', { workload: 'app/web', container: 'web' }, new Date('2026-01-01T00:00:03Z'));
    const { json } = await statusJson(['--env', ENV], env());
    const ev = json.sections.events;
    expect(ev.files).toEqual([own, users]);
    expect(ev.counts).toEqual({ issued: 1, 'reload-failed': 1, rotated: 1, reloaded: 1 });
    expect(ev.total).toBe(4);
    expect(ev.latest.map((e: { event: string }) => e.event)).toEqual(['issued', 'reload-failed', 'rotated', 'reloaded']);
    const prom = await cli(['status', '--env', ENV, '--format', 'prometheus'], { env: env() });
    expect(prom.stdout).toMatch(new RegExp(`^certwright_events_total\\{env="${ENV}",event="reload-failed"\\} 1$`, 'm'));
    expect(prom.stdout).toMatch(new RegExp(`^certwright_reload_failures_total\\{env="${ENV}"\\} 1$`, 'm'));
  });
});

describe('status --watch without a terminal', () => {
  it('prints one compact JSON snapshot per refresh until stopped', async () => {
    const { execa } = await import('execa');
    const { BIN } = await import('./helpers/env.js');
    const child = execa('node', [BIN, 'status', '--env', ENV, '--watch', '--interval', '2', '--select', `cw5-none=${process.pid}`], { env: { ...env(), PATH: process.env.PATH }, extendEnv: false, reject: false });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.split('\n').filter(Boolean).length >= 2 || undefined, 'two snapshots', 20_000);
    } finally {
      child.kill('SIGTERM');
      await child;
    }
    const lines = out.split('\n').filter(Boolean);
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(await validateAgainstSchema('status', b)).toEqual([]);
    expect(new Date(b.generatedAt).getTime() - new Date(a.generatedAt).getTime()).toBeGreaterThanOrEqual(1900);
  });
});

describe('status exit codes for certificate files (no Vault configured)', () => {
  it('exit 8 inside the warning window, 0 outside it, 9 when the key does not match or the chain is foreign', async () => {
    const dir = path.join(work, 'certs');
    fs.mkdirSync(dir);
    const leaf = await issueLeaf(client, MOUNT, 'web', 'web.est.test', '72h');
    fs.writeFileSync(path.join(dir, 'web.pem'), leaf.certificate + leaf.chain);
    fs.writeFileSync(path.join(dir, 'web.key'), leaf.privateKey, { mode: 0o600 });
    const bare = { CERTWRIGHT_HOME: path.join(work, 'empty-home') };
    const args = ['--env', 'win', '--root', rootFile, '--cert-dir', dir, '--select', `cw5-none=${process.pid}`];
    const inWindow = await statusJson([...args, '--warn-days', '14'], bare);
    expect(inWindow.json.sections.vault.state).toBe('unknown');
    const c = inWindow.json.sections.certificates.certificates[0];
    expect(c).toMatchObject({ path: path.join(dir, 'web.pem'), role: 'leaf', keyMatches: true, chainVerifies: true, state: 'warn', count: 3 });
    expect(inWindow.json.sections.certificates.counts).toMatchObject({ total: 1, expiring: 1, ok: 0 });
    expect(inWindow.exitCode).toBe(8);
    expect(inWindow.json.sections.certificates.certificates[0].reason).toMatch(/inside the 14-day window/);
    // Without --warn-days the warning point is a third of the lifetime: a fresh 72-hour leaf is healthy.
    const fresh = await statusJson(args, bare);
    expect(fresh.json.sections.certificates.certificates[0]).toMatchObject({ state: 'ok', warnAtDays: 1 });
    expect(fresh.exitCode).toBe(0);
    expect((await statusJson([...args, '--warn-days', '1'], bare)).exitCode).toBe(0);
    const another = await issueLeaf(client, MOUNT, 'web', 'web.est.test', '72h');
    fs.writeFileSync(path.join(dir, 'web.key'), another.privateKey);
    const mismatch = await statusJson([...args, '--warn-days', '1'], bare);
    expect(mismatch.json.sections.certificates.certificates[0]).toMatchObject({ keyMatches: false, state: 'fail' });
    expect(mismatch.exitCode).toBe(9);
    const foreign = await opensslPki(path.join(work, 'foreign'), 'foreign');
    const fdir = path.join(work, 'foreign-certs');
    fs.mkdirSync(fdir);
    fs.copyFileSync(foreign.leaf, path.join(fdir, 'svc.pem'));
    const f = await statusJson(['--env', 'win', '--root', rootFile, '--cert-dir', fdir, '--select', `cw5-none=${process.pid}`], bare);
    expect(f.json.sections.certificates.certificates[0].chainVerifies).toBe(false);
    expect(f.json.sections.certificates.certificates[0].chainError).toMatch(/no certificate for its issuer CN=foreign Test Root is known/);
    expect(f.exitCode).toBe(9);
  });
});

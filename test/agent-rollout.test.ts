import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, modeOf } from './helpers/env.js';
import { useTlsOpenBao, tlsVaultEnv } from './helpers/https-bao.js';
import { hasSystemdAnalyze, startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { podmanStatus, ensureImage, startNginx, type NginxContainer } from './helpers/podman.js';
import { VaultClient } from '../source/vault/client.js';
import { freePort } from '../source/system/openbao.js';
import { servedFingerprint, waitForServed } from '../source/system/tls-probe.js';
import { readEvents } from '../source/hook/events.js';

/**
 * The generated agent setup, proven by a real `bao agent` against a real OpenBao over HTTPS
 * (dev server with its own TLS CA), a real nginx in a real Podman container, and openssl/TLS
 * handshakes as the independent check.
 */
const RUN = randomBytes(3).toString('hex');
const MOUNT = `pki_ag${RUN}`;
const podman = podmanStatus();
if (!podman.ok) console.warn(`[agent-rollout.test] SKIPPED the container part (nginx reload + TLS handshake): ${podman.reason}`);
const systemdAnalyze = hasSystemdAnalyze();
if (!systemdAnalyze) console.warn('[agent-rollout.test] SKIPPED unit validation: systemd-analyze is not installed');
const canUseradd = process.getuid?.() === 0;
if (!canUseradd) console.warn('[agent-rollout.test] service-user ownership checks use the current user: useradd needs root');

const vault = useTlsOpenBao();
let work: string;
let home: string;
let env: Record<string, string>;
const svcUser = `cw4${RUN}`;
const agents: RunningAgent[] = [];
const containers: NginxContainer[] = [];
let svc: { uid: number; gid: number } | undefined;

beforeAll(async () => {
  work = tempDir('cw-agent-');
  fs.chmodSync(work, 0o755);
  home = path.join(work, 'home');
  env = tlsVaultEnv(vault.server(), home);
  if (canUseradd) {
    execFileSync('useradd', ['-m', '-s', '/usr/sbin/nologin', svcUser], { stdio: 'ignore' });
    const [uid, gid] = execFileSync('id', ['-u', svcUser]).toString().trim().concat(':', execFileSync('id', ['-g', svcUser]).toString().trim()).split(':').map(Number);
    svc = { uid: uid!, gid: gid! };
  }
  const rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  const root = await cli(['root', 'create', '--env', 'test', '--out', rootDir, '--cn', 'Agent Test Root', '--key-type', 'ec-p256', '--passphrase-file', pass], { env });
  expect(root.exitCode, root.stderr).toBe(0);
  const int = await cli(['intermediate', '--env', 'test', '--mount', MOUNT, '--cn', 'Agent Test Intermediate', '--root-dir', rootDir, '--passphrase-file', pass], { env });
  expect(int.exitCode, int.stderr).toBe(0);
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  for (const c of containers) await c.stop();
  if (canUseradd) {
    try {
      execFileSync('userdel', ['-r', svcUser], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
});

const dirs = () => ({
  web: { out: path.join(work, 'agent-web'), tls: path.join(work, 'tls-web') },
  api: { out: path.join(work, 'agent-api'), tls: path.join(work, 'tls-api') },
  edge: { out: path.join(work, 'agent-edge'), caOut: path.join(work, 'proxy', 'ca-chain.pem') },
});
const userFlag = () => (canUseradd ? ['--user', svcUser] : []);
const common = () => ['--env', 'test', '--mount', MOUNT, '--ca-file', vault.server().caFile, '--hook-state-dir', home, ...userFlag()];
const webArgs = () => ['agent', 'app', ...common(), '--name', 'web', '--common-name', 'web.test', '--alt-names', 'www.web.test,127.0.0.1', '--ttl', '20s', '--tls-dir', dirs().web.tls, '--out', dirs().web.out, '--token-sink', '--select', `certwright.test=agent-${RUN}`];
const apiArgs = () => ['agent', 'app', ...common(), '--name', 'api', '--common-name', 'api.test', '--ttl', '1h', '--tls-dir', dirs().api.tls, '--out', dirs().api.out, '--select', `certwright.test=none-${RUN}`];
const edgeArgs = () => ['agent', 'proxy', ...common(), '--name', 'edge', '--ca-out', dirs().edge.caOut, '--out', dirs().edge.out, '--token-sink', '--select', `certwright.test=none-${RUN}`];

function root(): VaultClient {
  const s = vault.server();
  return new VaultClient({ addr: s.addr, token: s.token, ca: fs.readFileSync(s.caFile, 'utf8') });
}
function as(token: string): VaultClient {
  const s = vault.server();
  return new VaultClient({ addr: s.addr, token, ca: fs.readFileSync(s.caFile, 'utf8') });
}
async function accessors(role: string): Promise<string[]> {
  const res = await root().list(`auth/approle/role/${role}/secret-id`);
  return (res.json?.data as { keys?: string[] } | undefined)?.keys ?? [];
}
const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
const currentCert = (tls: string) => fs.readFileSync(path.join(tls, 'current', 'cert.pem'), 'utf8');

describe('agent app / agent proxy', () => {
  it('writes least-privilege policies, AppRoles and agent files; re-running changes nothing', async () => {
    for (const args of [webArgs(), apiArgs(), edgeArgs()]) {
      const r = await cli(args, { env });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/enable --now bao-agent-test-/);
    }
    const d = dirs();
    // Vault side: the app may issue on its own role only; the proxy may only read the CA chain
    const webPolicy = (await root().read<{ policy: string }>('sys/policies/acl/certwright-test-app-web')).json!.data!.policy;
    expect(webPolicy).toMatch(new RegExp(`path "${MOUNT}/issue/web" \\{\\s*capabilities = \\["create", "update"\\]\\s*\\}`));
    expect(webPolicy.match(/^path /gm)).toHaveLength(1);
    const edgePolicy = (await root().read<{ policy: string }>('sys/policies/acl/certwright-test-proxy-edge')).json!.data!.policy;
    expect(edgePolicy).toMatch(new RegExp(`path "${MOUNT}/cert/ca_chain" \\{\\s*capabilities = \\["read"\\]`));
    expect(edgePolicy.match(/^path /gm)).toHaveLength(1);
    const role = (await root().read<Record<string, unknown>>(`${MOUNT}/roles/web`)).json!.data!;
    expect([...(role.allowed_domains as string[])].sort()).toEqual(['web.test', 'www.web.test']);
    expect(role).toMatchObject({ allow_subdomains: false, allow_glob_domains: false, allow_any_name: false, allow_bare_domains: true, allow_ip_sans: true, ttl: 20, max_ttl: 20 });
    const approle = (await root().read<Record<string, unknown>>('auth/approle/role/certwright-test-app-web')).json!.data!;
    expect(approle).toMatchObject({ token_policies: ['certwright-test-app-web'], token_period: 86400, bind_secret_id: true });
    // Files: role_id and the wrapped secret_id 0600 owned by the service user; the secret_id is a wrapping token made at the AppRole's path
    for (const file of ['role_id', 'secret_id']) {
      expect(modeOf(path.join(d.web.out, file))).toBe(0o600);
      if (svc) expect(fs.statSync(path.join(d.web.out, file)).uid).toBe(svc.uid);
    }
    if (svc) expect(fs.statSync(d.web.tls).uid).toBe(svc.uid);
    const wrap = await root().request<{ creation_path: string }>('POST', 'sys/wrapping/lookup', { body: { token: fs.readFileSync(path.join(d.web.out, 'secret_id'), 'utf8').trim() }, anonymous: true });
    expect(wrap.json!.data!.creation_path).toBe('auth/approle/role/certwright-test-app-web/secret-id');
    // The agent config: HTTPS + ca_cert, AppRole auto_auth, sink mode an unquoted octal number, never /dev/null
    const hcl = fs.readFileSync(path.join(d.web.out, 'agent.hcl'), 'utf8');
    expect(hcl).toContain(`address = "${vault.server().addr}"`);
    expect(hcl).toContain(`ca_cert = "${vault.server().caFile}"`);
    expect(hcl).toMatch(/method "approle"/);
    expect(hcl).toMatch(/^\s+mode = 0600$/m);
    expect(hcl).not.toMatch(/\/dev\/null"/);
    expect(hcl).toMatch(/"hook", "--env", "test", "--name", "web", "--payload", /);
    expect(fs.readFileSync(path.join(d.api.out, 'agent.hcl'), 'utf8')).not.toMatch(/sink "file"/);
    expect(fs.readFileSync(path.join(d.web.out, 'leaf.ctmpl'), 'utf8')).toContain(`pkiCert "${MOUNT}/issue/web" "common_name=web.test" "alt_names=www.web.test" "ip_sans=127.0.0.1" "ttl=20s"`);
    expect(fs.readFileSync(path.join(d.edge.out, 'ca.ctmpl'), 'utf8')).toContain(`secret "${MOUNT}/cert/ca_chain"`);
    // The units: minimal, nothing a user manager cannot apply
    const units = [
      path.join(d.web.out, 'bao-agent-test-app-web.service'),
      path.join(d.api.out, 'bao-agent-test-app-api.service'),
      path.join(d.edge.out, 'bao-agent-test-proxy-edge.service'),
    ];
    for (const unit of units) {
      const text = fs.readFileSync(unit, 'utf8');
      expect(text).not.toMatch(/^(CapabilityBoundingSet|AmbientCapabilities|SecureBits|User|Group|PrivateUsers|ProtectSystem)=/m);
      expect(text).toMatch(/^ExecStart=\S+ agent -config=\S+agent\.hcl$/m);
      expect(text).toMatch(/^WantedBy=default\.target$/m);
    }
    const script = fs.readFileSync(path.join(home, 'envs', 'test', 'artefacts', 'install-bao-agent-test-app-web.sh'), 'utf8');
    if (svc) {
      expect(script).toContain(`loginctl enable-linger ${svcUser}`);
      expect(script).toContain(`systemctl --user -M ${svcUser}@ enable --now bao-agent-test-app-web.service`);
    }
    expect(modeOf(path.join(home, 'envs', 'test', 'artefacts', 'install-bao-agent-test-app-web.sh'))).toBe(0o700);

    // Re-running: nothing to do, nothing duplicated, no file rewritten
    const mtimes = fs.readdirSync(d.web.out).map((f) => `${f}:${fs.statSync(path.join(d.web.out, f)).mtimeMs}`);
    const again = await cli(webArgs(), { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Nothing to do: everything is already in place/);
    expect(again.stdout).toMatch(/already up to date .*secret_id kept: the wrapped secret_id in the file is not used yet/);
    expect(fs.readdirSync(d.web.out).map((f) => `${f}:${fs.statSync(path.join(d.web.out, f)).mtimeMs}`)).toEqual(mtimes);
    expect(await accessors('certwright-test-app-web')).toHaveLength(1);
    const policies = ((await root().list('sys/policies/acl')).json!.data as { keys: string[] }).keys.filter((k) => k.startsWith('certwright-test-'));
    expect(policies.sort()).toEqual(['certwright-test-app-api', 'certwright-test-app-web', 'certwright-test-proxy-edge']);
    // A changed flag updates in place
    const changed = await cli(webArgs().map((a) => (a === 'www.web.test,127.0.0.1' ? 'www.web.test,web2.test,127.0.0.1' : a)), { env });
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/Update \(allowed_domains\) PKI role/);
    expect(changed.stdout).toMatch(/An agent reads them only at start, so restart it;[\s\S]*--new-secret-id/);
    expect(await accessors('certwright-test-app-web')).toHaveLength(1);
    const back = await cli(webArgs(), { env });
    expect(back.exitCode, back.stderr).toBe(0);
  });

  it.skipIf(!systemdAnalyze)('every generated unit passes systemd-analyze verify --user', () => {
    const runtime = tempDir('cw-xdg-');
    fs.chmodSync(runtime, 0o700);
    const d = dirs();
    for (const unit of [path.join(d.web.out, 'bao-agent-test-app-web.service'), path.join(d.api.out, 'bao-agent-test-app-api.service'), path.join(d.edge.out, 'bao-agent-test-proxy-edge.service')]) {
      const out = execFileSync('systemd-analyze', ['verify', '--user', '--man=no', unit], { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toBe('');
    }
  });

  it('bad input is refused with a clear error and nothing is written', async () => {
    const out = path.join(work, 'agent-bad');
    const cases: Array<[string[], RegExp]> = [
      [['agent', 'app', ...common(), '--name', 'bad', '--common-name', '*.web.test', '--tls-dir', path.join(work, 'tls-bad'), '--out', out], /wildcard/],
      [['agent', 'app', ...common(), '--name', 'Bad Name', '--common-name', 'b.test', '--tls-dir', path.join(work, 'tls-bad'), '--out', out], /not a valid workload name/],
      [['agent', 'app', '--env', 'test', '--mount', MOUNT, '--name', 'bad', '--common-name', 'b.test', '--tls-dir', path.join(work, 'tls-bad'), '--out', out, '--ca-file', path.join(work, 'root', 'root-ca.pem')], /agent's CA does not verify Vault/],
      [['agent', 'proxy', ...common(), '--name', 'bad', '--out', out], /--ca-out is required/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, { env });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\n(Fix|Run)|Fix: /);
      expect(fs.existsSync(out)).toBe(false);
    }
    const http = await cli(['agent', 'app', ...common(), '--name', 'bad', '--common-name', 'b.test', '--tls-dir', path.join(work, 'tls-bad'), '--out', out, '--agent-vault-addr', 'http://127.0.0.1:8200'], { env });
    expect(http.stderr).toMatch(/over HTTPS, and http:\/\/127\.0\.0\.1:8200 is plain HTTP/);
  });

  it('a real agent renders the leaf over HTTPS, the hook swaps it in; the proxy agent writes the CA chain; tokens are least privilege', async () => {
    const d = dirs();
    agents.push(startAgent(path.join(d.web.out, 'agent.hcl'), path.join(work, 'agent-web.log')));
    agents.push(startAgent(path.join(d.edge.out, 'agent.hcl'), path.join(work, 'agent-edge.log')));
    await waitFor('the web leaf in tls-web/current', 20_000, () => fs.existsSync(path.join(d.web.tls, 'current', 'cert.pem')));
    const leaf = new X509Certificate(currentCert(d.web.tls));
    expect(leaf.subject).toContain('CN=web.test');
    expect(leaf.subjectAltName).toMatch(/DNS:www\.web\.test/);
    expect(leaf.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/);
    // the agent unwrapped and removed the secret_id file; the token sink is 0600
    await waitFor('the secret_id file to be consumed', 10_000, () => !fs.existsSync(path.join(d.web.out, 'secret_id')));
    await waitFor('the token sink', 10_000, () => fs.existsSync(path.join(d.web.out, 'agent-token')));
    expect(modeOf(path.join(d.web.out, 'agent-token'))).toBe(0o600);
    // the hook said there was no labelled container yet, and logged the issue
    await waitFor('the issued event', 10_000, () => readEvents(path.join(home, 'envs', 'test', 'events.jsonl')).some((e) => e.workload === 'app/web' && e.event === 'issued'));
    await waitFor('the hook to say it skipped the reload', 10_000, () => /No running container is labelled tls=true with certwright\.test=agent-\w+; reload skipped/.test(agents[0]!.output()));
    // the proxy's CA file is the mount's chain
    await waitFor('the proxy CA file', 20_000, () => fs.existsSync(d.edge.caOut));
    const chain = (await root().read(`${MOUNT}/ca_chain`, { anonymous: true })).text;
    const fps = (text: string) => (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(fp);
    expect(fps(fs.readFileSync(d.edge.caOut, 'utf8'))).toEqual(fps(chain));
    expect(readEvents(path.join(home, 'envs', 'test', 'events.jsonl')).some((e) => e.workload === 'proxy/edge' && e.event === 'chain-updated')).toBe(true);

    // tokens: the app issues only on its own role with its own names; the proxy only reads the chain
    await waitFor('the proxy token sink', 10_000, () => fs.existsSync(path.join(d.edge.out, 'agent-token')));
    const web = as(fs.readFileSync(path.join(d.web.out, 'agent-token'), 'utf8').trim());
    const edge = as(fs.readFileSync(path.join(d.edge.out, 'agent-token'), 'utf8').trim());
    const status = async (c: VaultClient, method: string, p: string, body?: unknown) => (await c.request(method, p, { ...(body ? { body } : {}), accept: [400, 403, 404, 405] })).status;
    expect(await status(web, 'POST', `${MOUNT}/issue/api`, { common_name: 'api.test' })).toBe(403);
    expect(await status(web, 'POST', `${MOUNT}/issue/web`, { common_name: 'evil.test' })).toBe(400);
    expect(await status(web, 'POST', `${MOUNT}/issue/web`, { common_name: 'web.test', ttl: '10s' })).toBe(200);
    expect(await status(web, 'LIST', 'sys/policies/acl')).toBe(403);
    expect(await status(web, 'POST', `${MOUNT}/roles/web`, { allow_any_name: true })).toBe(403);
    expect(await status(edge, 'GET', `${MOUNT}/cert/ca_chain`)).toBe(200);
    expect(await status(edge, 'POST', `${MOUNT}/issue/web`, { common_name: 'web.test' })).toBe(403);
    expect(await status(edge, 'POST', `${MOUNT}/issue/api`, { common_name: 'api.test' })).toBe(403);
    expect(await status(edge, 'LIST', 'sys/policies/acl')).toBe(403);
    expect(await status(edge, 'POST', 'auth/token/create', {})).toBe(403);
    const self = (await edge.read<{ policies: string[]; period: number }>('auth/token/lookup-self')).json!.data!;
    expect(self.policies.sort()).toEqual(['certwright-test-proxy-edge', 'default']);
    expect(self.period).toBe(86400);
  });

  it.skipIf(!podman.ok)('reloads a real nginx container labelled tls=true, which serves each renewed leaf (latency measured)', async () => {
    await ensureImage();
    const d = dirs();
    const port = await freePort();
    containers.push(
      await startNginx({ name: `cw-agent-web-${RUN}`, tlsDir: d.web.tls, port, work, labels: { tls: 'true', 'certwright.test': `agent-${RUN}`, 'tls.reload': '/usr/sbin/nginx -c /ngx/conf/nginx.conf -s reload', 'tls.check': `127.0.0.1:${port}` } }),
    );
    const latencies: number[] = [];
    for (let round = 1; round <= 2; round += 1) {
      const before = fp(currentCert(d.web.tls));
      const renderedBefore = fs.statSync(path.join(d.web.out, 'leaf-cache.pem')).mtimeMs;
      // the agent renews the 20 s leaf by itself at about 90 % of its life
      const rendered = await waitFor(`renewal ${round}`, 40_000, () => {
        const m = fs.statSync(path.join(d.web.out, 'leaf-cache.pem')).mtimeMs;
        return m > renderedBefore ? m : undefined;
      }, 10);
      const served = await waitFor(`nginx to serve renewal ${round}`, 20_000, async () => {
        const f = await servedFingerprint('127.0.0.1', port, 'web.test').catch(() => undefined);
        return f && f !== before ? { at: Date.now(), f } : undefined;
      }, 5);
      latencies.push(served.at - rendered);
      const now = fp(currentCert(d.web.tls));
      expect(now).not.toBe(before);
      expect((await waitForServed('127.0.0.1', port, 'web.test', now, 10_000, 5)).ok).toBe(true);
      expect(served.f).toBe(now);
    }
    // the hook logs "reloaded" once its own TLS check (tls.check label) has seen the new certificate
    const events = await waitFor('two reloaded events', 15_000, () => {
      const all = readEvents(path.join(home, 'envs', 'test', 'events.jsonl')).filter((e) => e.workload === 'app/web');
      return all.filter((e) => e.event === 'reloaded' && e.container === `cw-agent-web-${RUN}`).length >= 2 ? all : undefined;
    });
    expect(events.some((e) => e.event === 'reload-failed')).toBe(false);
    console.info(`[agent-rollout.test] latency from the agent rendering a new leaf to nginx serving it: ${latencies.map((l) => `${Math.round(l)} ms`).join(', ')} (reload details: ${events.filter((e) => e.event === 'reloaded').map((e) => e.detail).join(' | ')})`);
  });

  it('status and doctor read this estate as certwright rolled it out (integration of issues 4 and 5)', async () => {
    const d = dirs();
    const s = vault.server();
    const base = ['--env', 'test', '--state-dir', home, '--vault-ca', s.caFile, '--select', `certwright.test=agent-${RUN}`, '--json'];
    const status = await cli(['status', ...base], { env: { VAULT_TOKEN: s.token } });
    const snap = JSON.parse(status.stdout);
    const agentsByName = Object.fromEntries(snap.sections.agents.agents.map((a: { name: string }) => [a.name, a]));
    // The running agents are found by their -config in /proc; their configs are the generated ones
    expect(agentsByName.web.kind).toBe('app');
    expect(agentsByName.web.process.alive).toBe(true);
    expect(agentsByName.web.config).toBe(path.join(d.web.out, 'agent.hcl'));
    expect(agentsByName.edge.kind).toBe('proxy');
    expect(agentsByName.edge.process.alive).toBe(true);
    // The leaf the hook swapped in: key matches, chain verifies to the environment's root
    const leaf = snap.sections.certificates.certificates.find((c: { path: string }) => c.path.startsWith(d.web.tls));
    expect(leaf, JSON.stringify(snap.sections.certificates.certificates.map((c: { path: string }) => c.path))).toBeDefined();
    expect(leaf.keyMatches).toBe(true);
    expect(leaf.chainVerifies).toBe(true);
    expect(leaf.fingerprint).toBe(fp(currentCert(d.web.tls)));
    // The hook's events are counted
    expect(snap.sections.events.counts.issued).toBeGreaterThanOrEqual(1);
    if (podman.ok) {
      const c = snap.sections.containers.containers.find((x: { name: string }) => x.name === `cw-agent-web-${RUN}`);
      expect(c.reload).toMatch(/nginx .* -s reload/);
      expect(snap.sections.events.counts.reloaded).toBeGreaterThanOrEqual(2);
    }
    // Doctor finds none of the agent pitfalls in what certwright generated
    const doctor = JSON.parse((await cli(['doctor', ...base], { env: { VAULT_TOKEN: s.token } })).stdout);
    const byId = Object.fromEntries(doctor.checks.map((c: { id: string }) => [c.id, c]));
    for (const id of ['sink-dev-null', 'sink-mode-quoted', 'template-key-perms', 'unit-capabilities']) expect(byId[id].findings, id).toBe(0);
  });

  it.skipIf(podman.ok)('renews the short-TTL leaf by itself (no container to reload here)', async () => {
    const d = dirs();
    const before = fp(currentCert(d.web.tls));
    await waitFor('a renewal', 40_000, () => fp(currentCert(d.web.tls)) !== before, 100);
    expect(readEvents(path.join(home, 'envs', 'test', 'events.jsonl')).some((e) => e.workload === 'app/web' && e.event === 'rotated')).toBe(true);
  });

  it('after an agent restart the cached leaf is kept and --new-secret-id lets it log in again, without duplicates', async () => {
    const d = dirs();
    const log = path.join(work, 'agent-api.log');
    let agent = startAgent(path.join(d.api.out, 'agent.hcl'), log);
    agents.push(agent);
    await waitFor('the api leaf', 20_000, () => fs.existsSync(path.join(d.api.tls, 'current', 'cert.pem')));
    const serial = new X509Certificate(currentCert(d.api.tls)).serialNumber;
    const cacheMtime = fs.statSync(path.join(d.api.out, 'leaf-cache.pem')).mtimeMs;
    await agent.stop();
    // the wrapped secret_id was consumed: a re-run keeps things as they are and says what to do
    const keep = await cli(apiArgs(), { env });
    expect(keep.exitCode, keep.stderr).toBe(0);
    expect(keep.stdout).toMatch(/secret_id kept: the agent consumed the wrapped secret_id .* --new-secret-id/);
    // a restarted agent cannot log in until a fresh wrapped secret_id is delivered
    agent = startAgent(path.join(d.api.out, 'agent.hcl'), log);
    agents.push(agent);
    await waitFor('the restarted agent to fail its login', 15_000, () => /secret_id_file_path|secret ID|no known secret/i.test(agent.output().split('\n').slice(-30).join('\n')));
    const fresh = await cli([...apiArgs(), '--new-secret-id'], { env });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/1 older secret_id\(s\) destroyed/);
    expect(await accessors('certwright-test-app-api')).toHaveLength(1);
    // the running agent picks the new file up on its next login attempt and consumes it
    await waitFor('the agent to log in with the new secret_id', 40_000, () => !fs.existsSync(path.join(d.api.out, 'secret_id')), 200);
    await waitFor('the agent to render from its cache', 10_000, () => /rendered|no new data|template server received new token/i.test(agent.output()));
    // pkiCert served the still-valid leaf from its cache: no new issue, no hook run
    await new Promise((r) => setTimeout(r, 1500));
    expect(new X509Certificate(currentCert(d.api.tls)).serialNumber).toBe(serial);
    expect(fs.statSync(path.join(d.api.out, 'leaf-cache.pem')).mtimeMs).toBe(cacheMtime);
    expect(readEvents(path.join(home, 'envs', 'test', 'events.jsonl')).filter((e) => e.workload === 'app/api' && (e.event === 'issued' || e.event === 'rotated'))).toHaveLength(1);
  });
});


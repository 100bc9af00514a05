/**
 * Vault HA on raft, over TLS: three real OpenBao nodes on loopback ports that certwright runs.
 * `apply --file` with `vault: { nodes: 3, listen_base: ... }` builds the root, starts node 1 on
 * loopback HTTP (initialised once), installs the intermediate, issues one certificate per node and
 * moves the cluster to TLS: node 1 restarts on TLS, nodes 2 and 3 join through retry_join that
 * trusts only the root, and each is unsealed. openssl and curl judge every node; then a rotation
 * under a client issuing a leaf every 200 ms, a leader kill (failover time reported), the dead
 * node's restart and rejoin, and doctor's two cluster checks.
 */
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cli, tempDir, writePassphrase } from './helpers/env.js';
import { freePortRun } from '../source/system/openbao.js';
import { VaultClient } from '../source/vault/client.js';
import { readAutopilot, readLeader, readRaftConfiguration } from '../source/vault/raft.js';
import { sectionRows } from '../screens/status-rows.js';

const NODES = 3;
const work = tempDir('cw-raft-');
const home = path.join(work, 'home');
const keys = path.join(work, 'secrets', 'vault-keys.json');
const rootPem = path.join(work, 'root', 'root-ca.pem');
const tlsDir = path.join(work, 'vault-tls');
const clusterDir = path.join(work, 'vault');
const ids = Array.from({ length: NODES }, (_, i) => `ha-${i + 1}`);
let base = 0;
let token = '';
const port = (i: number) => base + 2 * i;
const addr = (i: number) => `https://127.0.0.1:${port(i)}`;
const pidOf = (id: string) => Number(fs.readFileSync(path.join(clusterDir, id, 'vault.pid'), 'utf8'));
const logOf = (id: string) => fs.readFileSync(path.join(clusterDir, id, 'vault.log'), 'utf8');
const env = () => ({ CERTWRIGHT_HOME: home, ...(token ? { VAULT_TOKEN: token } : {}) });

const started = new Set<number>();
afterAll(() => {
  for (const id of ids) {
    try {
      started.add(pidOf(id));
    } catch {
      /* never started */
    }
  }
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

async function run(args: string[]) {
  const r = await cli(args, { env: env(), cwd: work });
  expect(r.exitCode, `certwright ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

function client(i: number, timeoutMs = 5000): VaultClient {
  return new VaultClient({ addr: addr(i), ca: fs.readFileSync(rootPem, 'utf8'), caSource: rootPem, token, timeoutMs });
}

/** The failover client certwright builds from state: whichever node answers. */
function clusterClient(): VaultClient {
  return new VaultClient({ addr: addr(0), alternates: ids.slice(1).map((_, k) => addr(k + 1)), ca: fs.readFileSync(rootPem, 'utf8'), caSource: rootPem, token, timeoutMs: 5000 });
}

async function until<T>(probe: () => Promise<T | undefined>, ms: number, step = 200): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, step));
  }
  return undefined;
}

/** One leaf from pki_int/issue/ha-client over a fresh TLS connection to node i (curl-like, no keep-alive). */
function issueOnce(i: number): Promise<number> {
  const body = JSON.stringify({ common_name: 'app.ha.test', ttl: '5m' });
  return new Promise((resolve, reject) => {
    const req = https.request(`${addr(i)}/v1/pki_int/issue/ha-client`, { method: 'POST', ca: fs.readFileSync(rootPem, 'utf8'), agent: false, timeout: 5000, headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A client issuing a leaf every 200 ms, round-robin over the nodes; collects every failure. */
function issuingClient(nodes: number[]) {
  const failures: string[] = [];
  let ok = 0;
  let stop = false;
  const done = (async () => {
    for (let n = 0; !stop; n += 1) {
      const i = nodes[n % nodes.length]!;
      const t0 = Date.now();
      try {
        const status = await issueOnce(i);
        if (status === 200) ok += 1;
        else failures.push(`node ${i + 1}: HTTP ${status}`);
      } catch (error) {
        failures.push(`node ${i + 1}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - t0))));
    }
  })();
  return {
    failures,
    count: () => ok,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describe('a three-node raft cluster over TLS, run by certwright', () => {
  it('apply --file builds it: one init, every node unsealed, joined over TLS trusting only the root', async () => {
    base = await freePortRun(2 * NODES);
    const pass = writePassphrase(work);
    // --dry-run of the cluster form plans all three nodes and changes nothing.
    const dry = await cli(['vault-server', '--env', 'ha', '--out', clusterDir, '--nodes', String(NODES), '--listen', `127.0.0.1:${base}`, '--dry-run'], { env: env(), cwd: work });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`ha-3 (127.0.0.1:${port(2)}, cluster port ${port(2) + 1})`);
    expect(fs.existsSync(clusterDir)).toBe(false);
    expect(fs.existsSync(home)).toBe(false);
    // The README's cluster estate and its apply block, as written (the base port is a free one).
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const yaml = /```yaml\n# ha\.yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(yaml).toContain('listen_base: 127.0.0.1:8200');
    const estate = path.join(work, 'ha.yaml');
    fs.writeFileSync(estate, yaml.replace('127.0.0.1:8200', `127.0.0.1:${base}`));
    const block = /<!-- readme-test: run by test\/raft-cluster\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    fs.copyFileSync(pass, path.join(work, 'pass'));
    fs.chmodSync(path.join(work, 'pass'), 0o600);
    const shim = path.join(work, 'bin');
    fs.mkdirSync(shim);
    fs.writeFileSync(path.join(shim, 'certwright'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
    const first = await execa('bash', ['--norc', '--noprofile', '-eu', '-c', block], { cwd: work, reject: false, all: true, env: { PATH: `${shim}:${process.env.PATH}`, HOME: work, CERTWRIGHT_HOME: home, CI: 'true' }, extendEnv: false });
    expect(first.exitCode, first.all).toBe(0);
    token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
    // Initialised once: one init in the transcript, by vault-server.
    const transcript = fs.readFileSync(path.join(home, 'envs', 'ha', 'transcript.jsonl'), 'utf8');
    expect(transcript.match(/"vault-init"/g)?.length).toBe(1);

    for (let i = 0; i < NODES; i += 1) {
      const id = ids[i]!;
      // Each node has its own certificate with its names; openssl verifies it to the root alone.
      const crt = path.join(tlsDir, id, 'server.crt');
      const text = (await execa('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectAltName'])).stdout;
      expect(text).toMatch(/DNS:localhost/);
      expect(text).toMatch(/IP Address:127\.0\.0\.1/);
      const v = await execa('openssl', ['verify', '-CAfile', rootPem, '-untrusted', path.join(tlsDir, id, 'ca-chain.pem'), crt], { reject: false });
      expect(v.stdout, v.stderr).toMatch(/OK$/);
      // openssl s_client and curl reach every node over TLS, trusting only the root.
      const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port(i)}`, '-CAfile', rootPem, '-verify_return_error', '-verify_ip', '127.0.0.1'], { input: '', reject: false });
      expect(s.exitCode, s.stderr).toBe(0);
      const served = (await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: s.stdout })).stdout;
      const onDisk = (await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', crt])).stdout;
      expect(served).toBe(onDisk);
      const health = JSON.parse((await execa('curl', ['-sS', '--cacert', rootPem, `${addr(i)}/v1/sys/health?standbyok=true`])).stdout);
      expect(health).toMatchObject({ initialized: true, sealed: false });
      // The loopback HTTP listener is gone everywhere.
      const plain = await execa('curl', ['-sS', `http://127.0.0.1:${port(i)}/v1/sys/health`], { reject: false });
      expect(plain.stdout).not.toMatch(/"initialized"/);
      // retry_join over HTTPS to every other node, trusting one file that holds only the root.
      const hcl = fs.readFileSync(path.join(clusterDir, id, 'vault-host.hcl'), 'utf8');
      expect(hcl).toContain(`node_id = "${id}"`);
      expect(hcl).toContain(`cluster_addr  = "https://127.0.0.1:${port(i) + 1}"`);
      for (let k = 0; k < NODES; k += 1) if (k !== i) expect(hcl).toContain(`leader_api_addr     = "${addr(k)}"`);
      const caFile = /leader_ca_cert_file = "([^"]+)"/.exec(hcl)![1]!;
      expect(fs.readFileSync(caFile, 'utf8').match(/BEGIN CERTIFICATE/g)?.length).toBe(1);
      expect((await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', caFile])).stdout).toBe((await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', rootPem])).stdout);
    }
    // The raft configuration lists the three nodes, at their cluster ports.
    const conf = await readRaftConfiguration(client(0));
    expect(conf.servers.map((s) => s.node_id).sort()).toEqual(ids);
    expect(conf.servers.map((s) => s.address).sort()).toEqual(ids.map((_, i) => `127.0.0.1:${port(i) + 1}`).sort());
    // Autopilot promotes the joined nodes to voters once they are stable: wait for three voters.
    const voters = await until(async () => {
      const a = await readAutopilot(client(0));
      return a.voters.length === NODES && a.healthy ? a : undefined;
    }, 60_000, 500);
    expect(voters?.failure_tolerance).toBe(1);
    // A second apply changes nothing.
    const again = await cli(['apply', '--file', estate, '--one-machine', '--passphrase-file', path.join(work, 'pass'), '--keys-out', keys, '--yes'], { env: env(), cwd: work });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    // A role for the issuing client of the next tests.
    await client(0).write('pki_int/roles/ha-client', { allowed_domains: ['ha.test'], allow_subdomains: true, allow_localhost: false, ttl: '5m', max_ttl: '1h', no_store: false, server_flag: true, client_flag: false, key_type: 'ec', key_bits: 256 });
  }, 170_000);

  it('status shows each node: leader or standby, sealed or not, applied index, certificate expiry', async () => {
    const status = await cli(['status', '--env', 'ha', '--json', '--select', `cw-none=${process.pid}`], { env: env() });
    const nodes = JSON.parse(status.stdout).sections.vault.nodes as Array<{ id: string; role: string; sealed: boolean; appliedIndex: number; inRaftConfig: boolean; voter: boolean; certificate: { notAfter: string; namesOwnAddress: boolean } }>;
    expect(nodes.map((n) => n.id)).toEqual(ids);
    expect(nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
    expect(nodes.filter((n) => n.role === 'standby')).toHaveLength(NODES - 1);
    for (const n of nodes) {
      expect(n).toMatchObject({ sealed: false, inRaftConfig: true, voter: true });
      expect(n.appliedIndex).toBeGreaterThan(0);
      expect(n.certificate.namesOwnAddress).toBe(true);
      // The expiry shown is the one openssl reads from the node's certificate.
      const end = (await execa('openssl', ['x509', '-noout', '-enddate', '-in', path.join(tlsDir, n.id, 'server.crt')])).stdout.replace('notAfter=', '');
      expect(new Date(n.certificate.notAfter).getTime()).toBe(new Date(end).getTime());
    }
    // The leader status names is the one sys/leader names (curl as the judge).
    const leader = JSON.parse((await execa('curl', ['-sS', '--cacert', rootPem, `${addr(0)}/v1/sys/leader`])).stdout) as { leader_address: string };
    expect(addr(ids.indexOf(nodes.find((n) => n.role === 'leader')!.id))).toBe(leader.leader_address);
    // Prometheus: one series per node.
    const prom = await cli(['status', '--env', 'ha', '--format', 'prometheus', '--select', `cw-none=${process.pid}`], { env: env() });
    for (const id of ids) expect(prom.stdout).toMatch(new RegExp(`certwright_vault_node_up\\{env="ha",node="${id}",addr="https://127\\.0\\.0\\.1:\\d+"\\} 1`));
    expect(prom.stdout.match(/^certwright_vault_node_leader\{.*\} 1$/gm)).toHaveLength(1);
    // The live screen shows one row per node, from the same snapshot.
    const rows = sectionRows(JSON.parse(status.stdout), 'vault').filter((r) => r.key.startsWith('node '));
    expect(rows.map((r) => r.key)).toEqual(ids.map((id) => `node ${id}`));
    expect(rows.every((r) => /(leader|standby) · unsealed · applied \d+ · cert \d+d left/.test(r.text))).toBe(true);
    const text = await cli(['status', '--env', 'ha', '--format', 'text', '--select', `cw-none=${process.pid}`], { env: env() });
    for (const id of ids) expect(text.stdout).toMatch(new RegExp(`${id} +https://127\\.0\\.0\\.1:\\d+ (leader|standby), unsealed, applied \\d+, voter, cert until `));
  });

  it('vault-cert --renew --node SIGHUPs that node only; a client issuing every 200 ms sees no failure, also through a rolling renewal', async () => {
    const reloads = () => ids.map((id) => (logOf(id).match(/reload triggered/gi) ?? []).length);
    const before = reloads();
    const oldFp = (await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(tlsDir, 'ha-2', 'server.crt')])).stdout;
    const c = issuingClient([0, 1, 2]);
    await until(async () => (c.count() >= 3 ? true : undefined), 10_000);
    const r = await run(['vault-cert', '--env', 'ha', '--out', tlsDir, '--node', 'ha-2', '--renew']);
    expect(r.stdout).toMatch(/ha-2: issued .* the node presents it now/);
    const after = reloads();
    expect(after[1]).toBe(before[1]! + 1);
    expect(after[0]).toBe(before[0]);
    expect(after[2]).toBe(before[2]);
    const newFp = (await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(tlsDir, 'ha-2', 'server.crt')])).stdout;
    expect(newFp).not.toBe(oldFp);
    const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port(1)}`, '-CAfile', rootPem, '-verify_return_error'], { input: '', reject: false });
    expect((await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: s.stdout })).stdout).toBe(newFp);
    // Every node in turn, each checked on the wire before the next.
    const rolling = await run(['vault-cert', '--env', 'ha', '--out', tlsDir, '--renew']);
    for (const id of ids) expect(rolling.stdout).toMatch(new RegExp(`${id}: issued .* the node presents it now`));
    expect(reloads().map((n, i) => n - after[i]!)).toEqual([1, 1, 1]);
    const issuedDuring = c.count();
    await c.stop();
    expect(c.failures).toEqual([]);
    expect(issuedDuring).toBeGreaterThan(5);
    console.log(`[raft] rotation: ${issuedDuring} leaves issued every 200 ms across the renewals, ${c.failures.length} failures`);
  }, 90_000);

  it('kill the leader: a new one is elected, issuance resumes through whichever node answers, status shows the dead node; restarted, it rejoins', async () => {
    const leaderInfo = await readLeader(client(0));
    const dead = ids.findIndex((_, i) => addr(i) === leaderInfo.leader_address);
    expect(dead).toBeGreaterThanOrEqual(0);
    const deadPid = pidOf(ids[dead]!);
    const survivors = [0, 1, 2].filter((i) => i !== dead);
    const cluster = clusterClient();
    const t0 = Date.now();
    process.kill(deadPid, 'SIGKILL');
    // Issuance resumes: measured, not asserted (bounded by the wait).
    const resumed = await until(async () => ((await cluster.write('pki_int/issue/ha-client', { common_name: 'after.ha.test', ttl: '5m' })).status === 200 ? Date.now() - t0 : undefined), 60_000, 200);
    expect(resumed, 'issuance did not resume within 60 s').toBeDefined();
    const newLeader = await until(async () => {
      const l = await readLeader(client(survivors[0]!));
      return l.leader_address && l.leader_address !== addr(dead) ? l.leader_address : undefined;
    }, 30_000);
    const elected = Date.now() - t0;
    expect(survivors.map(addr)).toContain(newLeader);
    // The role stores its certificates: each issue is a raft write, which only the active node makes.
    console.log(`[raft] leader ${ids[dead]} killed: a stored leaf was issued through the cluster after ${resumed} ms; new leader ${newLeader} seen after ${elected} ms`);

    const status = await cli(['status', '--env', 'ha', '--json', '--select', `cw-none=${process.pid}`], { env: env() });
    const json = JSON.parse(status.stdout);
    const nodes = json.sections.vault.nodes as Array<{ id: string; role: string; state: string }>;
    expect(nodes.find((n) => n.id === ids[dead])).toMatchObject({ role: 'down', state: 'fail' });
    expect(nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
    // The cluster still answers (through a surviving node): a warning, not a failure.
    expect(json.sections.vault.state).toBe('warn');
    expect(json.sections.vault.reachable).toBe(true);

    // The estate sees what is left to do: vault-server is done (the cluster runs), vault-https
    // would start the dead node. apply does it: the node starts on its storage, is unsealed, rejoins.
    // (apply prints its plan first: the same as `certwright plan --file`.)
    const back = await run(['apply', '--file', path.join(work, 'ha.yaml'), '--one-machine', '--passphrase-file', path.join(work, 'pass'), '--keys-out', keys, '--yes']);
    expect(back.stderr).not.toMatch(/drifted/);
    expect(back.stderr).toMatch(/vault-server +\[online\] +.*recorded and re-verified/);
    expect(back.stderr).toMatch(new RegExp(`- Start ${ids[dead]} \\(bao server`));
    expect(back.stderr).toMatch(new RegExp(`Started ${ids[dead]} \\(PID`));
    started.add(pidOf(ids[dead]!));
    const h = JSON.parse((await execa('curl', ['-sS', '--cacert', rootPem, `${addr(dead)}/v1/sys/health?standbyok=true`])).stdout);
    expect(h).toMatchObject({ initialized: true, sealed: false, standby: true });
    const caughtUp = await until(async () => {
      const [mine, lead] = await Promise.all([readLeader(client(dead)), readLeader(client(survivors[0]!))]);
      return mine.raft_applied_index !== undefined && lead.raft_applied_index !== undefined && mine.raft_applied_index >= lead.raft_applied_index - 1 ? mine : undefined;
    }, 60_000);
    expect(caughtUp?.leader_address, logOf(ids[dead]!).split('\n').slice(-25).join('\n')).toBe(newLeader);
    const a = await until(async () => {
      const s = await readAutopilot(client(survivors[0]!));
      return s.healthy && s.voters.length === NODES ? s : undefined;
    }, 60_000, 500);
    expect(a?.voters.sort()).toEqual(ids);
  }, 150_000);

  it('doctor finds a node whose certificate lacks its own address, and a node not in the raft configuration', async () => {
    const doctor = async () => JSON.parse((await cli(['doctor', '--env', 'ha', '--json'], { env: env() })).stdout) as { findings: Array<{ check: string; subject: string; fix: string }> };
    const clean = await doctor();
    expect(clean.findings.filter((f) => f.check.startsWith('raft-'))).toEqual([]);
    // ha-3 is handed a valid certificate from the same PKI that names only localhost, and reloads it.
    const issued = (await clusterClient().write<{ certificate: string; private_key: string; issuing_ca: string }>('pki_int/issue/vault-server', { common_name: 'localhost', ttl: '1h' })).json!.data!;
    const dir = path.join(tlsDir, 'ha-3');
    fs.writeFileSync(path.join(dir, 'server.key.new'), `${issued.private_key}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'fullchain.pem.new'), `${issued.certificate}\n${issued.issuing_ca}\n`);
    fs.writeFileSync(path.join(dir, 'server.crt.new'), `${issued.certificate}\n`);
    for (const f of ['server.key', 'fullchain.pem', 'server.crt']) fs.renameSync(path.join(dir, `${f}.new`), path.join(dir, f));
    process.kill(pidOf('ha-3'), 'SIGHUP');
    await until(async () => ((await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port(2)}`, '-CAfile', rootPem, '-verify_return_error', '-verify_ip', '127.0.0.1'], { input: '', reject: false })).exitCode !== 0 ? true : undefined), 10_000);
    const bad = await doctor();
    const certFinding = bad.findings.find((f) => f.check === 'raft-node-cert');
    expect(certFinding?.subject).toBe('ha-3');
    expect(certFinding?.fix).toContain('--node ha-3 --renew');
    // The fix doctor names repairs it.
    await run(['vault-cert', '--env', 'ha', '--out', tlsDir, '--node', 'ha-3', '--renew']);
    expect((await doctor()).findings.filter((f) => f.check === 'raft-node-cert')).toEqual([]);

    // ha-3 is removed from the raft configuration (bao as the independent tool): doctor says so.
    const bao = await execa(path.join(process.cwd(), '.tools', 'bin', 'bao'), ['operator', 'raft', 'remove-peer', 'ha-3'], { env: { BAO_ADDR: addr(0), BAO_CACERT: rootPem, BAO_TOKEN: token, PATH: process.env.PATH }, reject: false });
    expect(bao.exitCode, bao.stderr).toBe(0);
    const removed = await until(async () => {
      const d = await doctor();
      return d.findings.find((f) => f.check === 'raft-membership');
    }, 15_000, 500);
    expect(removed?.subject).toBe('ha-3');
  }, 90_000);
});

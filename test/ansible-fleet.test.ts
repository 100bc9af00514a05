import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli, ROOT, tempDir } from './helpers/env.js';
import { useHttpsVault } from './helpers/https-vault.js';
import { nginxConf } from './helpers/podman.js';
import { HOST_BIN, startSystemdHost, systemdHostAvailability, waitUntil, type SystemdHost } from './helpers/systemd-host.js';
import { freePort } from '../source/system/openbao.js';

/**
 * Issue 16, part 1: `certwright export ansible` run for real. Three managed hosts (systemd as PID 1
 * in rootful Podman, test/helpers/systemd-host.ts) named ansible-*, each with its own sshd on a
 * loopback port, reached by Ansible's ssh connection (ControlPersist, pipelining: one ssh round
 * trip per task; the podman connection has no pipelining and ran 3-4 `podman exec` per task, which
 * made a play 130-190 s here); the hosts' keys are pinned in known_hosts; an HTTPS OpenBao with the environment's PKI on the shared
 * loopback; ansible-core pinned in .tools/ (scripts/install-tools.sh). The judges are independent
 * of certwright: ansible-playbook's own recap, `systemctl --user -M USER@ show`, and openssl
 * s_client against an nginx on each host serving what the agent rendered.
 */
const TOOLS = path.join(ROOT, '.tools', 'bin');
const PLAYBOOK = path.join(TOOLS, 'ansible-playbook');
const LINT = path.join(TOOLS, 'ansible-lint');
const HOST = systemdHostAvailability();
const ANSIBLE = fs.existsSync(PLAYBOOK) ? { ok: true as const } : { ok: false as const, reason: `${PLAYBOOK} is missing (scripts/install-tools.sh installs ansible-core)` };
const SSH = ['ssh', 'ssh-keygen'].find((c) => spawnSync(c, ['-V']).error !== undefined);
const skip = !HOST.ok ? HOST.reason : !ANSIBLE.ok ? ANSIBLE.reason : SSH ? `${SSH} is missing (scripts/install-tools.sh installs openssh-client)` : undefined;
if (skip) console.warn(`[ansible-fleet] skipped: ${skip}`);

const started = Date.now();
const lab = useHttpsVault({ pkiMount: 'pki_app' });
const NAMES = ['ansible-h1', 'ansible-h2', 'ansible-h3'];
const USER = 'ansible-svc';
const hosts: SystemdHost[] = [];
let work = '';
let estateFile = '';
let exportDir = '';

function estate(ttls: string[]): Record<string, unknown> {
  const v = lab.vault();
  return {
    environment: v.env,
    root: { dir: v.rootDir, cn: `${v.env} Root CA` },
    vault: { address: v.addr, ca: v.caFile },
    intermediate: { mount: 'pki_app', cn: `${v.env} Intermediate CA` },
    hosts: NAMES.map((name, i) => ({ name, address: '127.0.0.1', port: sshPorts[i], connection: 'ssh', certwright: ['/usr/local/bin/node', HOST_BIN], bao: '/usr/local/bin/bao' })),
    agents: NAMES.map((name, i) => ({ kind: 'app', name: `web${i + 1}`, host: name, user: USER, common_name: `${name}.fleet.test`, ttl: ttls[i], tls_dir: `/home/${USER}/tls`, out: `/home/${USER}/agent-web${i + 1}` })),
  };
}

function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function ansibleEnv(): Record<string, string> {
  const v = lab.vault();
  return {
    PATH: `${TOOLS}:${process.env.PATH}`,
    HOME: path.join(work, 'controller-home'),
    VAULT_TOKEN: v.token,
    CERTWRIGHT_HOME: v.home,
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'true',
    // the hosts' Python is known: no interpreter discovery round trips on each play
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_PRIVATE_KEY_FILE: path.join(work, 'controller-key'),
    // ssh reads ~ from the passwd entry, not $HOME: keep its known_hosts and sockets in the test's dir
    ANSIBLE_SSH_COMMON_ARGS: `-o UserKnownHostsFile=${path.join(work, 'known_hosts')} -o IdentitiesOnly=yes`,
    ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(work, 'cp'),
  };
}

async function play(): Promise<Record<string, { changed: number; failed: number; ok: number }>> {
  const t = Date.now();
  const r = await run(PLAYBOOK, ['site.yml'], { cwd: exportDir, env: ansibleEnv() });
  console.info(`[ansible-fleet] ansible-playbook site.yml: ${Date.now() - t} ms`);
  if (r.code !== 0) throw new Error(`ansible-playbook failed (${r.code}):\n${r.out.slice(-6000)}`);
  const recap: Record<string, { changed: number; failed: number; ok: number }> = {};
  for (const m of r.out.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/gm)) recap[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), failed: Number(m[4]) };
  expect(Object.keys(recap).sort()).toEqual(NAMES);
  expect(r.out).not.toContain(lab.vault().token);
  expect(r.out).not.toMatch(/s\.[A-Za-z0-9]{20,}|hvs\.|wrapped_secret_id/);
  return recap;
}

async function exportAnsible(): Promise<string> {
  const r = await cli(['export', 'ansible', '--file', estateFile, '--out', exportDir], { env: { CERTWRIGHT_HOME: lab.vault().home } });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

const ports: number[] = [];
const sshPorts: number[] = [];
let hostsReady: Promise<void> | undefined;

beforeAll(async () => {
  if (skip) return;
  work = tempDir('ansible-fleet-');
  fs.mkdirSync(path.join(work, 'controller-home'));
  estateFile = path.join(work, 'estate.yaml');
  exportDir = path.join(work, 'export');
  const key = path.join(work, 'controller-key');
  const keygen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ansible-fleet-controller', '-f', key]);
  expect(keygen.code, keygen.out).toBe(0);
  for (const _ of NAMES) {
    ports.push(await freePort());
    sshPorts.push(await freePort());
  }
  fs.writeFileSync(estateFile, stringify(estate(['72h', '72h', '72h'])));
  // The hosts boot while the first test exports and lints (it needs no host); the second awaits them.
  hostsReady = bootHosts(fs.readFileSync(`${key}.pub`, 'utf8'));
  hostsReady.catch(() => undefined);
}, 16 * 60_000);

/** The three hosts in parallel (a boot mostly waits on systemd), each with its sshd; their keys pinned. */
async function bootHosts(pub: string): Promise<void> {
  await Promise.all(NAMES.map((name) => run('podman', ['rm', '-f', '-t', '0', name])));
  const booted = await Promise.allSettled(NAMES.map((name) => startSystemdHost({ name })));
  for (const b of booted) if (b.status === 'fulfilled') hosts.push(b.value);
  for (const b of booted) if (b.status === 'rejected') throw b.reason;
  await Promise.all(hosts.map((h, i) => h.startSsh(sshPorts[i]!, pub)));
  const known = await Promise.all(hosts.map(async (h, i) => `[127.0.0.1]:${sshPorts[i]} ${(await h.sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(' ').slice(0, 2).join(' ')}\n`));
  fs.writeFileSync(path.join(work, 'known_hosts'), known.join(''));
  console.info(`[ansible-fleet] three hosts up with sshd: ${Date.now() - started} ms into the file`);
}

afterAll(async () => {
  await hostsReady?.catch(() => undefined);
  // ControlPersist masters outlive ansible-playbook: close each by its socket
  const cp = work && path.join(work, 'cp');
  if (cp && fs.existsSync(cp)) for (const sock of fs.readdirSync(cp)) await run('ssh', ['-o', `ControlPath=${path.join(cp, sock)}`, '-O', 'exit', 'ansible-fleet']);
  await Promise.all(hosts.map((h) => h.stop()));
  console.info(`[ansible-fleet] file wall time: ${Date.now() - started} ms`);
}, 120_000);

describe.skipIf(Boolean(skip))('Fleet rollout through Ansible (issue 16, part 1)', () => {
  it('export: plain Ansible, no secret in it, passes --syntax-check and ansible-lint; a re-export changes nothing', async () => {
    const out = await exportAnsible();
    expect(out).toContain('3 host(s)');
    const all = fs.readdirSync(exportDir, { recursive: true }).map(String).sort();
    expect(all).toEqual(expect.arrayContaining(['ansible.cfg', 'inventory.yml', 'site.yml', 'roles/certwright_host/tasks/main.yml', 'roles/certwright_agent/tasks/agent.yml', 'files/ansible-h2/app-web2/agent.hcl', 'files/ansible-h2/app-web2/bao-agent-test-app-web2.service', 'files/root-ca.pem']));
    const text = all.filter((f) => fs.statSync(path.join(exportDir, f)).isFile()).map((f) => fs.readFileSync(path.join(exportDir, f), 'utf8')).join('\n');
    expect(text).not.toContain(lab.vault().token);
    expect(text).not.toMatch(/PRIVATE KEY/);
    // the inventory, as ansible-inventory reads it: per-host vars, users, agents, trust paths
    const inv = await run(path.join(TOOLS, 'ansible-inventory'), ['--list'], { cwd: exportDir, env: ansibleEnv() });
    expect(inv.code, inv.out).toBe(0);
    const hostvars = JSON.parse(inv.out)._meta.hostvars;
    expect(Object.keys(hostvars).sort()).toEqual(NAMES);
    expect(hostvars['ansible-h3']).toMatchObject({ ansible_connection: 'ssh', ansible_host: '127.0.0.1', ansible_port: sshPorts[2], certwright_service_users: [USER], certwright_trust: [{ user: USER, path: '.config/certwright/ca.pem' }] });
    expect(hostvars['ansible-h3'].certwright_agents).toMatchObject([{ id: 'app/web3', user: USER, unit: 'bao-agent-test-app-web3.service', common_name: 'ansible-h3.fleet.test' }]);

    const syntax = await run(PLAYBOOK, ['--syntax-check', 'site.yml'], { cwd: exportDir, env: ansibleEnv() });
    expect(syntax.code, syntax.out).toBe(0);
    const lint = await run(LINT, ['--offline', 'site.yml'], { cwd: exportDir, env: ansibleEnv() });
    expect(lint.code, lint.out).toBe(0);

    const mtimes = all.map((f) => fs.statSync(path.join(exportDir, f)).mtimeMs);
    expect(await exportAnsible()).toContain('Nothing changed');
    expect(all.map((f) => fs.statSync(path.join(exportDir, f)).mtimeMs)).toEqual(mtimes);
  }, 5 * 60_000);

  it('the play on three hosts: agent units active, each nginx serves its own leaf verifying to the root; a second play changes nothing; one TTL change touches one host', async () => {
    await hostsReady;
    const first = await play();
    for (const n of NAMES) expect(first[n]!.changed).toBeGreaterThan(0);

    for (const [i, host] of hosts.entries()) {
      const unit = `bao-agent-test-app-web${i + 1}.service`;
      const props = await host.showUnit(USER, unit, ['ActiveState', 'SubState', 'UnitFileState', 'MainPID']);
      expect(props, host.name).toMatchObject({ ActiveState: 'active', SubState: 'running', UnitFileState: 'enabled' });
      expect((await host.sh(`ps -o user= -p ${props.MainPID}`)).trim()).toBe(USER);
      expect((await host.sh('loginctl show-user ansible-svc --property=Linger')).trim()).toBe('Linger=yes');
      expect((await host.sh(`stat -c '%U %a' /home/${USER}/.config/certwright/ca.pem`)).trim()).toBe(`${USER} 644`);
      // the wrapped secret_id was consumed by the agent's login: nothing secret is left at rest
      expect((await host.exec(['test', '-e', `/home/${USER}/agent-web${i + 1}/secret_id`])).code).not.toBe(0);
      await waitUntil(`${host.name}'s first render`, 60_000, async () => (await host.exec(['test', '-s', `/home/${USER}/tls/current/cert.pem`])).code === 0);
      // nginx on the host serves what the agent rendered; openssl judges it against the root only
      const conf = `/home/${USER}/nginx.conf`;
      const text = nginxConf(ports[i]!, `/home/${USER}/tls/current/fullchain.pem`, `/home/${USER}/tls/current/key.pem`, '/tmp/ngx');
      await host.exec(['sh', '-c', `mkdir -p /tmp/ngx/logs /tmp/ngx/varlib && cat > ${conf}`], { input: text });
      await host.sh(`/usr/sbin/nginx -c ${conf}`);
      await waitUntil(`nginx on ${host.name}`, 20_000, async () => (await host.exec(['sh', '-c', `openssl s_client -connect 127.0.0.1:${ports[i]} </dev/null >/dev/null 2>&1`])).code === 0);
      const s = await host.exec(['sh', '-c', `openssl s_client -connect 127.0.0.1:${ports[i]} -servername ${host.name}.fleet.test -verify_hostname ${host.name}.fleet.test -verify_return_error -CAfile /home/${USER}/.config/certwright/ca.pem </dev/null 2>&1`]);
      expect(s.code, s.stdout).toBe(0);
      expect(s.stdout).toMatch(/Verify return code: 0 \(ok\)/);
      expect(s.stdout).toMatch(new RegExp(`subject=CN ?= ?${host.name}\\.fleet\\.test`));
    }
    const pids = await Promise.all(hosts.map((h, i) => h.showUnit(USER, `bao-agent-test-app-web${i + 1}.service`, ['MainPID'])));

    const second = await play();
    for (const n of NAMES) expect(second[n], n).toMatchObject({ changed: 0, failed: 0 });
    const pidsAfter = await Promise.all(hosts.map((h, i) => h.showUnit(USER, `bao-agent-test-app-web${i + 1}.service`, ['MainPID'])));
    expect(pidsAfter).toEqual(pids);

    // One agent's TTL changes in the estate file: the re-export changes that host's files only,
    // and the next play changes that host only.
    fs.writeFileSync(estateFile, stringify(estate(['72h', '48h', '72h'])));
    const re = await exportAnsible();
    // the template of that agent, and the inventory (its per-host vars name the TTL)
    expect(re.split('\n').filter((l) => l.startsWith('  - ')).sort()).toEqual(['  - Update files/ansible-h2/app-web2/leaf.ctmpl', '  - Update inventory.yml']);
    const third = await play();
    expect(third['ansible-h1']!.changed).toBe(0);
    expect(third['ansible-h3']!.changed).toBe(0);
    expect(third['ansible-h2']!.changed).toBeGreaterThan(0);
    const after = await Promise.all(hosts.map((h, i) => h.showUnit(USER, `bao-agent-test-app-web${i + 1}.service`, ['MainPID', 'ActiveState'])));
    expect(after[0]!.MainPID).toBe(pids[0]!.MainPID);
    expect(after[2]!.MainPID).toBe(pids[2]!.MainPID);
    expect(after[1]!.MainPID).not.toBe(pids[1]!.MainPID);
    expect(after[1]!.ActiveState).toBe('active');
    expect(await hosts[1]!.sh(`cat /home/${USER}/agent-web2/leaf.ctmpl`)).toContain('"ttl=172800s"');
    // the restarted agent logged in again with the fresh wrapped secret_id the lookup minted
    await waitUntil('the restarted agent to authenticate', 60_000, async () => ((await hosts[1]!.journal('bao-agent-test-app-web2.service', 400)).match(/authentication successful/gi) ?? []).length >= 2);
  }, 20 * 60_000);
});

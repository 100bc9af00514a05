import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useHttpsVault } from './helpers/https-vault.js';
import { listSecretIdAccessors } from '../source/vault/approle.js';
import { systemdHostAvailability, useSystemdHost, waitUntil, type SystemdHost } from './helpers/systemd-host.js';

/**
 * Issue 11, point 2: agents installed for real. A host with systemd as PID 1 (test/helpers/
 * systemd-host.ts), service users with lingering, `agent app|proxy --user SVC --install` run as
 * root inside it with the mounted certwright; an HTTPS OpenBao on the shared loopback.
 * The evidence is independent of certwright: `systemctl --user -M SVC@ show`, `ps`, `stat`,
 * `openssl` on the rendered files and the journal.
 */
const HOST = systemdHostAvailability();
if (!HOST.ok) console.warn(`[host-agents] skipped: ${HOST.reason}`);
const lab = useHttpsVault({ pkiMount: 'pki_app' });
const sh = useSystemdHost({ mounts: () => [path.dirname(lab.vault().home)] });

function cwEnv(): Record<string, string> {
  return lab.vault().cliEnv();
}

async function cw(host: SystemdHost, args: string[]) {
  return host.certwright(args, { env: cwEnv() });
}

const unitWeb = 'bao-agent-test-app-web.service';

function webArgs(extra: string[] = []): string[] {
  return ['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'web', '--common-name', 'web.hosts.test', '--tls-dir', '/home/hosts-web/tls', '--out', '/home/hosts-web/agent', '--user', 'hosts-web', '--bao', '/usr/local/bin/bao', '--token-sink', ...extra];
}

async function tokenHash(host: SystemdHost, file: string): Promise<string> {
  const r = await host.exec(['sh', '-c', `sha256sum ${file} 2>/dev/null | cut -c1-16`]);
  return r.stdout.trim();
}

describe.skipIf(!HOST.ok)('agents installed into a service user\'s systemd (issue 11, point 2)', { timeout: 300_000 }, () => {
  it('--install: the plan names files, owners, modes and systemctl calls; the unit runs and renders; a re-run changes nothing; --uninstall leaves nothing', async () => {
    const host = sh.host();
    await host.addUser('hosts-web');
    const unitPath = `/home/hosts-web/.config/systemd/user/${unitWeb}`;

    const dry = await cw(host, webArgs(['--install', '--dry-run']));
    expect(dry.code, dry.stderr).toBe(0);
    const plan = dry.stdout + dry.stderr;
    expect(plan).toContain(`Install ${unitPath} (systemd user unit, owner hosts-web, mode 0644)`);
    expect(plan).toContain('Create /home/hosts-web/.config (directory, owner hosts-web, mode 0700)');
    expect(plan).toContain('Run systemctl --user -M hosts-web@ daemon-reload');
    expect(plan).toContain(`Run systemctl --user -M hosts-web@ enable --now ${unitWeb}`);
    expect(plan).toMatch(/Write \/home\/hosts-web\/agent\/secret_id|response-wrapped secret_id to \/home\/hosts-web\/agent\/secret_id \(0600\)/);
    expect(plan).toMatch(/After a restart.*--new-secret-id/s);
    // --dry-run changed nothing on the host
    expect((await host.exec(['test', '-e', '/home/hosts-web/.config'])).code).not.toBe(0);
    expect((await host.systemctlUser('hosts-web', ['show', unitWeb, '--property=LoadState'])).stdout.trim()).toBe('LoadState=not-found');

    const t0 = Date.now();
    const first = await cw(host, webArgs(['--install']));
    expect(first.code, first.stderr + first.stdout).toBe(0);
    console.info(`[host-agents] install to first verified render: ${Date.now() - t0} ms`);
    expect(first.stdout).toMatch(/installed for hosts-web/);

    const props = await host.showUnit('hosts-web', unitWeb, ['ActiveState', 'SubState', 'UnitFileState', 'MainPID', 'NRestarts', 'FragmentPath']);
    expect(props).toMatchObject({ ActiveState: 'active', SubState: 'running', UnitFileState: 'enabled', NRestarts: '0', FragmentPath: unitPath });
    const pid = Number(props.MainPID);
    expect(pid).toBeGreaterThan(0);
    expect((await host.sh(`ps -o user= -p ${pid}`)).trim()).toBe('hosts-web');
    expect((await host.sh(`stat -c '%U %a' ${unitPath} /home/hosts-web/.config /home/hosts-web/agent /home/hosts-web/agent/role_id`)).trim().split('\n')).toEqual(['hosts-web 644', 'hosts-web 700', 'hosts-web 700', 'hosts-web 600']);
    // the first render, judged by openssl: key matches, chain verifies to the pinned root
    const cur = '/home/hosts-web/tls/current';
    const pubs = await host.sh(`openssl x509 -in ${cur}/cert.pem -noout -pubkey | sha256sum; openssl pkey -in ${cur}/key.pem -pubout | sha256sum`);
    const [a, b] = pubs.trim().split('\n');
    expect(a).toBe(b);
    expect((await host.sh(`openssl verify -CAfile /home/hosts-web/agent/trust-root.pem -untrusted ${cur}/chain.pem ${cur}/cert.pem`)).trim()).toBe(`${cur}/cert.pem: OK`);
    expect(await host.sh(`openssl x509 -in ${cur}/cert.pem -noout -subject`)).toMatch(/CN ?= ?web\.hosts\.test/);
    expect(await host.sh(`stat -c '%U %a' $(readlink -f ${cur}/key.pem)`)).toMatch(/^hosts-web 600/);
    // the wrapped secret_id was consumed by the agent at its first login
    expect((await host.exec(['test', '-e', '/home/hosts-web/agent/secret_id'])).code).not.toBe(0);
    expect(await host.journal(unitWeb)).toMatch(/authentication successful/i);

    // re-running changes nothing: no action in the plan, same process
    const again = await cw(host, webArgs(['--install', '--dry-run']));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('Nothing to do: everything is already in place.');
    expect(again.stderr).not.toMatch(/^ {2}- /m);
    const rerun = await cw(host, webArgs(['--install']));
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/already installed and running/);
    expect((await host.showUnit('hosts-web', unitWeb, ['MainPID'])).MainPID).toBe(String(pid));

    // --uninstall: nothing of the unit is left in hosts-web's manager, nor in --out
    const un = await cw(host, webArgs(['--uninstall']));
    expect(un.code, un.stderr + un.stdout).toBe(0);
    expect((await host.showUnit('hosts-web', unitWeb, ['LoadState', 'ActiveState', 'UnitFileState']))).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect((await host.exec(['sh', '-c', `ls /home/hosts-web/.config/systemd/user/default.target.wants/ 2>/dev/null; test -e ${unitPath} && echo unit-left; test -e /home/hosts-web/agent && echo dir-left; ps -u hosts-web -o args= | grep 'bao agent' | grep -v grep`])).stdout.trim()).toBe('');
    expect(await listSecretIdAccessors(lab.vault().client(), 'approle', 'certwright-test-app-web')).toEqual([]);
    const un2 = await cw(host, webArgs(['--uninstall', '--dry-run']));
    expect(un2.code, un2.stderr).toBe(0);
    expect(un2.stderr).toContain('Nothing to do: everything is already in place.');
  });

  it('a unit killed by its main PID comes back: wrapped secret_id needs --new-secret-id (the plan says so); a persistent one logs in unattended', async () => {
    const host = sh.host();
    await host.addUser('hosts-web2');
    const args = (extra: string[]) => ['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'web2', '--common-name', 'web2.hosts.test', '--tls-dir', '/home/hosts-web2/tls', '--out', '/home/hosts-web2/agent', '--user', 'hosts-web2', '--bao', '/usr/local/bin/bao', '--token-sink', ...extra];
    const unit = 'bao-agent-test-app-web2.service';
    const sink = '/home/hosts-web2/agent/agent-token';
    const inst = await cw(host, args(['--install']));
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);
    const before = await host.showUnit('hosts-web2', unit, ['MainPID', 'NRestarts']);
    const token1 = await tokenHash(host, sink);
    expect(token1).not.toBe('');

    await host.sh(`kill -KILL ${before.MainPID}`);
    await waitUntil('systemd to restart the agent', 30_000, async () => {
      const p = await host.showUnit('hosts-web2', unit, ['ActiveState', 'MainPID', 'NRestarts']);
      return p.ActiveState === 'active' && p.NRestarts === '1' && p.MainPID !== before.MainPID && Number(p.MainPID) > 0;
    });
    // restarted, but without a secret_id it cannot log in: the journal says why
    await waitUntil('the restarted agent to report its failed login', 30_000, async () => /secret.?id/i.test((await host.journal(unit, 30)).split('\n').slice(-15).join('\n')) && /error|failed/i.test(await host.journal(unit, 15)));
    expect(await tokenHash(host, sink)).toBe(token1);
    // what the operator does, as the plan said: the same command with --new-secret-id
    const fresh = await cw(host, args(['--install', '--new-secret-id']));
    expect(fresh.code, fresh.stderr + fresh.stdout).toBe(0);
    await waitUntil('the agent to log in with the new secret_id (a new token in its sink)', 60_000, async () => (await tokenHash(host, sink)) !== token1 && (await host.exec(['test', '-e', '/home/hosts-web2/agent/secret_id'])).code !== 0);

    // --persistent-secret-id: a kill needs nobody
    const persist = await cw(host, args(['--install', '--persistent-secret-id', '--new-secret-id']));
    expect(persist.code, persist.stderr + persist.stdout).toBe(0);
    const p2 = await host.showUnit('hosts-web2', unit, ['MainPID', 'NRestarts']);
    const token2 = await tokenHash(host, sink);
    await host.sh(`kill -KILL ${p2.MainPID}`);
    await waitUntil('systemd to restart the agent again', 30_000, async () => {
      const p = await host.showUnit('hosts-web2', unit, ['ActiveState', 'MainPID', 'NRestarts']);
      return p.ActiveState === 'active' && Number(p.NRestarts) > Number(p2.NRestarts) && p.MainPID !== p2.MainPID;
    });
    await waitUntil('the restarted agent to log in by itself', 60_000, async () => (await tokenHash(host, sink)) !== token2);
    expect((await host.sh('stat -c %a /home/hosts-web2/agent/secret_id')).trim()).toBe('600');
    const un = await cw(host, args(['--uninstall']));
    expect(un.code, un.stderr + un.stdout).toBe(0);
  });

  it('apply --file installs an agent that has a user: into that user\'s systemd; a second apply changes nothing', async () => {
    const host = sh.host();
    await host.addUser('hosts-est');
    const v = lab.vault();
    const estate = [
      'environment: est',
      `root:          { dir: ${v.rootDir}, cn: "test Root CA" }`,
      `vault:         { address: ${v.addr}, ca: ${v.caFile} }`,
      'intermediate:  { mount: pki_est, cn: "Estate Hosts Issuing CA" }',
      'agents:',
      '  - { kind: app, name: site, common_name: site.hosts.test, tls_dir: ./site-tls, out: ./agent-site, user: hosts-est }',
      '',
    ].join('\n');
    await host.sh(`mkdir -p /srv/estate && chmod 755 /srv/estate && cat > /srv/estate/estate.yaml <<'EOF'\n${estate}EOF`);
    const env = { VAULT_TOKEN: v.token, CERTWRIGHT_HOME: '/srv/estate-home' };
    const args = ['apply', '--file', '/srv/estate/estate.yaml', '--one-machine', '--yes', '--passphrase-file', v.passphraseFile];
    const plan = await host.certwright(['plan', '--file', '/srv/estate/estate.yaml', '--one-machine'], { env });
    expect(plan.code, plan.stderr).toBe(0);
    const first = await host.certwright(args, { env });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const unit = 'bao-agent-est-app-site.service';
    const p = await host.showUnit('hosts-est', unit, ['ActiveState', 'UnitFileState', 'MainPID', 'FragmentPath']);
    expect(p).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled', FragmentPath: `/home/hosts-est/.config/systemd/user/${unit}` });
    expect((await host.sh(`ps -o user= -p ${p.MainPID}`)).trim()).toBe('hosts-est');
    expect((await host.sh('openssl verify -CAfile /srv/estate/agent-site/trust-root.pem -untrusted /srv/estate/site-tls/current/chain.pem /srv/estate/site-tls/current/cert.pem')).trim()).toMatch(/: OK$/);
    const second = await host.certwright(args, { env });
    expect(second.code, second.stderr + second.stdout).toBe(0);
    expect((await host.showUnit('hosts-est', unit, ['MainPID', 'NRestarts']))).toMatchObject({ MainPID: p.MainPID, NRestarts: '0' });
  });
});

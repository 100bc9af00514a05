import { describe, expect, it } from 'vitest';
import { useOpenBao } from './helpers/env.js';
import { systemdHostAvailability, useSystemdHost, type SystemdHost } from './helpers/systemd-host.js';
import { freePortPair } from '../source/system/openbao.js';

/**
 * Issue 11, point 4: Vault in a rootless container of a `vault` service user (hosts-vault), on the
 * systemd host. The TLS material belongs to that user; certwright runs the container as 0:0 in the
 * user's namespace (= hosts-vault on the host): no keep-id, no added capabilities, no chown in the
 * container. The plan refuses, before starting anything, a container user whose mapped host id
 * cannot read the key, and names the fix. Evidence: `podman ps`/`inspect` as hosts-vault, `ps` on
 * the host, `stat`, `openssl s_client -verify_return_error` against the user's own root.
 */
const HOST = systemdHostAvailability();
if (!HOST.ok) console.warn(`[host-vault] skipped: ${HOST.reason}`);
const bao = useOpenBao();
const sh = useSystemdHost();

async function asVault(host: SystemdHost, args: string[], env: Record<string, string> = {}) {
  return host.certwright(args, { user: 'hosts-vault', env });
}

describe.skipIf(!HOST.ok)('Vault in a rootless container of a vault user (issue 11, point 4)', { timeout: 300_000 }, () => {
  it('runs as the key owner\'s namespace root without keep-id, capabilities or chown; a container user that cannot read the key is refused in the plan', async () => {
    const host = sh.host();
    const u = await host.addUser('hosts-vault');
    await host.importBusybox('hosts-vault');
    const dev = bao.server();
    const devEnv = { VAULT_ADDR: dev.addr, VAULT_TOKEN: dev.token };
    await host.sh('umask 077; printf "correct horse battery staple 11\\n" > ~/pass && mkdir ~/root', { user: 'hosts-vault' });
    const root = await asVault(host, ['root', 'create', '--env', 'vlt', '--out', `${u.home}/root`, '--cn', 'Vault Host Root', '--passphrase-file', `${u.home}/pass`]);
    expect(root.code, root.stderr).toBe(0);
    const inter = await asVault(host, ['intermediate', '--env', 'vlt', '--mount', `pki_vlt_${process.pid}`, '--cn', 'Vault Host Int', '--root-dir', `${u.home}/root`, '--passphrase-file', `${u.home}/pass`], devEnv);
    expect(inter.code, inter.stderr).toBe(0);
    const cert = await asVault(host, ['vault-cert', '--env', 'vlt', '--mount', `pki_vlt_${process.pid}`, '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', `${u.home}/vtls`], devEnv);
    expect(cert.code, cert.stderr).toBe(0);
    expect((await host.sh(`stat -c '%U %a' ${u.home}/vtls/server.key`)).trim()).toBe('hosts-vault 600');

    const port = await freePortPair();
    const https = ['vault-https', '--env', 'vlt', '--tls-dir', `${u.home}/vtls`, '--out', `${u.home}/vault`, '--listen', `127.0.0.1:${port}`, '--storage', 'raft', '--runtime', 'podman', '--image', 'localhost/hosts-bb', '--bao-binary', '/usr/local/bin/bao', '--network', 'host', '--name', 'hosts-vault-bao'];
    // the seed's failure, caught before anything starts: container uid 1000 is not hosts-vault here
    const wrong = await asVault(host, [...https, '--user', `${u.uid}:${u.gid}`, '--start']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(new RegExp(`container user ${u.uid}:${u.gid} is host \\d+:\\d+, which cannot read ${u.home}/vtls/server.key`));
    expect(wrong.stderr).toMatch(/Drop --user: container root \(0:0\) is hosts-vault on the host/);
    expect((await host.exec(['test', '-e', `${u.home}/vault/compose.yaml`])).code).not.toBe(0);
    expect((await host.podman(['ps', '-a', '--format', '{{.Names}}'], 'hosts-vault')).stdout.trim()).toBe('');

    const dry = await asVault(host, [...https, '--start', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/Runs as\s+0:0 in hosts-vault's rootless Podman = host \d+:\d+ \(owner of the key; no keep-id, no chown, no added capabilities\)/);

    const start = await asVault(host, [...https, '--start']);
    expect(start.code, start.stderr + start.stdout).toBe(0);
    // independent evidence
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-vault')).stdout.trim()).toBe('hosts-vault-bao');
    const inspect = JSON.parse((await host.podman(['inspect', 'hosts-vault-bao'], 'hosts-vault')).stdout)[0] as { Config: { User: string }; HostConfig: { UsernsMode: string; CapAdd: string[] | null }; State: { Pid: number } };
    expect(inspect.Config.User).toBe('0:0');
    expect(inspect.HostConfig.UsernsMode).not.toMatch(/keep-id/);
    expect(inspect.HostConfig.CapAdd ?? []).toEqual([]);
    expect((await host.sh(`ps -o user= -p ${inspect.State.Pid}`)).trim()).toBe('hosts-vault');
    expect((await host.sh(`stat -c '%U %a' ${u.home}/vault/data`)).trim()).toBe('hosts-vault 700');
    const logs = (await host.podman(['logs', 'hosts-vault-bao'], 'hosts-vault'));
    const bad = (logs.stdout + logs.stderr).split('\n').filter((l) => !/Environment Variables:/.test(l) && /chown|permission denied|operation not permitted|setcap|capabilit/i.test(l));
    expect(bad).toEqual([]);
    const served = await host.sh(`openssl s_client -connect 127.0.0.1:${port} -servername localhost -CAfile ${u.home}/root/root-ca.pem -verify_return_error </dev/null 2>&1 | grep -E 'Verify return code|subject='`);
    expect(served).toMatch(/Verify return code: 0 \(ok\)/);
    await host.podman(['rm', '-f', '-t', '2', 'hosts-vault-bao'], 'hosts-vault');
  });
});

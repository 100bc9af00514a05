import { describe, expect, it } from 'vitest';
import { useOpenBao } from './helpers/env.js';
import { fileFingerprint, markerReloaded, servedFingerprint, startRootMarker, startRootlessNginx, systemdHostAvailability, useSystemdHost, waitUntil, type SystemdHost } from './helpers/systemd-host.js';
import { freePort, freePortPair } from '../source/system/openbao.js';
import { VaultClient } from '../source/vault/client.js';

/**
 * Issue 11, point 6: the seed's pipeline on the systemd host, then left running. The root, a
 * bootstrap PKI for Vault's own certificate, Vault in the rootless Podman of hosts-vault over
 * HTTPS, init/unseal, the issuing intermediate in that Vault, the URL switch, CA distribution to
 * both service users, app agent `web` as hosts-web (its nginx in hosts-web's rootless Podman) and
 * proxy agent `edge` as hosts-proxy (the CA chain into its trust directory), both as user units.
 * Leaves live 2 minutes: the test watches two rotations by themselves, each served by nginx with a
 * new fingerprint, and no reload of any container that is not hosts-web's.
 * Costs about 5 minutes, most of it waiting for the two renewals.
 */
const HOST = systemdHostAvailability();
if (!HOST.ok) console.warn(`[host-pipeline] skipped: ${HOST.reason}`);
const bao = useOpenBao();
const sh = useSystemdHost();

async function ok(host: SystemdHost, what: string, args: string[], options: { user?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await host.certwright(args, options);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout + r.stderr;
}

describe.skipIf(!HOST.ok)('the seed pipeline on a real host (issue 11, point 6)', () => {
  it('builds the estate with Vault in a rootless container, agents as user units, then rotates 2-minute leaves twice with only hosts-web\'s nginx reloaded', async () => {
    const host = sh.host();
    const vaultUser = await host.addUser('hosts-vault');
    await host.addUser('hosts-web');
    await host.addUser('hosts-proxy');
    await Promise.all([host.importBusybox('hosts-vault'), host.importBusybox('hosts-web'), host.importBusybox()]);
    const dev = bao.server();
    const home = { CERTWRIGHT_HOME: '/srv/seed/home' };
    const boot = { ...home, VAULT_ADDR: dev.addr, VAULT_TOKEN: dev.token };
    await host.sh('mkdir -p /srv/seed/root && chmod 755 /srv/seed && umask 077 && printf "seed passphrase for the hosts test\\n" > /srv/seed/pass');
    const pass = ['--passphrase-file', '/srv/seed/pass'];
    const rootPem = '/srv/seed/root/root-ca.pem';

    // 1. the root, and a bootstrap PKI (dev server) that issues Vault's own certificate
    await ok(host, 'root create', ['root', 'create', '--env', 'seed', '--out', '/srv/seed/root', '--cn', 'Seed Root CA', ...pass], { env: home });
    const bootMount = `pki_boot_${process.pid}`;
    await ok(host, 'bootstrap intermediate', ['intermediate', '--env', 'seed', '--mount', bootMount, '--cn', 'Seed Bootstrap CA', '--root-dir', '/srv/seed/root', ...pass], { env: boot });
    await ok(host, 'vault-cert', ['vault-cert', '--env', 'seed', '--mount', bootMount, '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', `${vaultUser.home}/vtls`, '--owner', `${vaultUser.uid}:${vaultUser.gid}`], { env: boot });

    // 2. Vault in hosts-vault's rootless Podman, over HTTPS
    const port = await freePortPair();
    const addr = `https://127.0.0.1:${port}`;
    await ok(host, 'vault-https as hosts-vault', ['vault-https', '--env', 'seed', '--tls-dir', `${vaultUser.home}/vtls`, '--out', `${vaultUser.home}/vault`, '--listen', `127.0.0.1:${port}`, '--storage', 'raft', '--runtime', 'podman', '--image', 'localhost/hosts-bb', '--bao-binary', '/usr/local/bin/bao', '--network', 'host', '--name', 'hosts-seed-vault', '--start'], { user: 'hosts-vault', env: { CERTWRIGHT_HOME: `${vaultUser.home}/cw` } });
    const https = { ...home, VAULT_ADDR: addr, VAULT_CACERT: rootPem };
    await ok(host, 'vault-init', ['vault-init', '--env', 'seed', '--key-shares', '3', '--key-threshold', '2', '--keys-out', '/srv/seed/keys.json'], { env: https });
    await ok(host, 'vault-unseal', ['vault-unseal', '--env', 'seed', '--key-file', '/srv/seed/keys.json'], { env: https });
    const token = (JSON.parse(await host.sh('cat /srv/seed/keys.json')) as { root_token: string }).root_token;
    const vault = { ...https, VAULT_TOKEN: token };
    // raft elects itself leader shortly after unseal (the host shares this machine's loopback)
    const client = new VaultClient({ addr, ca: await host.sh(`cat ${rootPem}`), caSource: rootPem, timeoutMs: 3000 });
    await waitUntil('Vault to be active', 30_000, async () => {
      const h = await client.health();
      return !h.sealed && !h.standby;
    });

    // 3. the issuing intermediate in that Vault, URLs over HTTPS, CA distribution
    await ok(host, 'intermediate', ['intermediate', '--env', 'seed', '--mount', 'pki_int', '--cn', 'Seed Issuing CA', '--root-dir', '/srv/seed/root', ...pass], { env: vault });
    await ok(host, 'switch-urls', ['switch-urls', '--env', 'seed', '--mount', 'pki_int', '--base', addr], { env: vault });
    await ok(host, 'distribute-ca', ['distribute-ca', '--env', 'seed', '--ca', rootPem, '--users', 'hosts-web,hosts-proxy'], { env: vault });

    // 4. the agents, installed as user units
    await ok(host, 'agent app web', ['agent', 'app', '--env', 'seed', '--mount', 'pki_int', '--name', 'web', '--common-name', 'web.seed.test', '--ttl', '2m', '--tls-dir', '/home/hosts-web/tls', '--out', '/home/hosts-web/agent', '--user', 'hosts-web', '--bao', '/usr/local/bin/bao', '--install'], { env: vault });
    const caOut = '/home/hosts-proxy/.config/certwright/ca-chain.pem';
    await ok(host, 'agent proxy edge', ['agent', 'proxy', '--env', 'seed', '--mount', 'pki_int', '--name', 'edge', '--ca-out', caOut, '--out', '/home/hosts-proxy/agent', '--user', 'hosts-proxy', '--bao', '/usr/local/bin/bao', '--install'], { env: vault });
    for (const [user, unit] of [['hosts-web', 'bao-agent-seed-app-web.service'], ['hosts-proxy', 'bao-agent-seed-proxy-edge.service']] as const) {
      expect(await host.showUnit(user, unit, ['ActiveState', 'UnitFileState'])).toEqual({ ActiveState: 'active', UnitFileState: 'enabled' });
    }
    // the agents trust the distributed root, and the proxy's chain verifies up to it
    expect(await host.sh('grep ca_cert /home/hosts-web/agent/agent.hcl')).toContain('/home/hosts-web/.config/certwright/ca.pem');
    expect((await host.sh(`openssl verify -CAfile ${rootPem} ${caOut}`)).trim()).toBe(`${caOut}: OK`);
    expect(await host.sh(`stat -c %U ${caOut}`)).toMatch(/^hosts-proxy/);

    // 5. nginx in hosts-web's rootless Podman; tls=true containers of others that must stay untouched
    const webPort = await freePort();
    await startRootlessNginx(host, 'hosts-web', 'hosts-web-nginx', webPort, '/home/hosts-web/tls');
    await startRootMarker(host, 'hosts-root-tls');
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-web')).stdout.trim()).toBe('hosts-web-nginx');
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-vault')).stdout.trim()).toBe('hosts-seed-vault');
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-proxy')).stdout.trim()).toBe('');
    const served = () => servedFingerprint(host, webPort, 'web.seed.test', rootPem);
    const current = () => fileFingerprint(host, '/home/hosts-web/tls/current/cert.pem');
    await waitUntil('nginx to serve the first leaf', 20_000, async () => (await served()) === (await current()));

    // 6. leave it running: two renewals by the agent, each served over TLS
    const seen = [await served()];
    const t0 = Date.now();
    await waitUntil('two rotations served by nginx', 420_000, async () => {
      const now = await served();
      if (now && now !== seen.at(-1) && now === (await current())) {
        seen.push(now);
        console.info(`[host-pipeline] rotation ${seen.length - 1} served after ${Math.round((Date.now() - t0) / 1000)} s: ${now.slice(0, 23)}…`);
      }
      return seen.length >= 3;
    }, 1000);
    expect(new Set(seen).size).toBe(3);

    const events = (await host.sh('cat ~/.config/certwright/envs/seed/events.jsonl', { user: 'hosts-web' })).trim().split('\n').map((l) => JSON.parse(l) as { event: string; container?: string });
    expect(events.filter((e) => e.event === 'rotated').length).toBeGreaterThanOrEqual(2);
    expect(new Set(events.filter((e) => e.event === 'reloaded').map((e) => e.container))).toEqual(new Set(['hosts-web-nginx']));
    expect(events.filter((e) => e.event === 'reload-failed' || e.event === 'rolled-back')).toEqual([]);
    expect(await markerReloaded(host, 'hosts-root-tls')).toBe(false);
    expect(await host.journal('bao-agent-seed-app-web.service', 500)).toMatch(/Reloaded hosts-web-nginx/);
  }, 720_000);
});

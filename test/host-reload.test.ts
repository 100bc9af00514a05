import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useHttpsVault } from './helpers/https-vault.js';
import { fileFingerprint, markerReloaded, servedFingerprint, startRootMarker, startRootlessNginx, systemdHostAvailability, useSystemdHost, waitUntil, type SystemdHost } from './helpers/systemd-host.js';
import { freePort } from '../source/system/openbao.js';

/**
 * Issue 11, point 3: who reloads what. On the systemd host, hosts-ngx's agent (a user unit) renews
 * a short-lived leaf by itself and its hook reloads nginx in hosts-ngx's own rootless Podman, which
 * then serves the new certificate (openssl s_client). Root's tls=true container, which does not
 * mount that TLS dir, is never touched. Run as root, the hook reloads only the root containers
 * that mount the directory it swapped. Evidence: `podman ps` as each user, s_client fingerprints,
 * a marker each reload command leaves inside its container, the hook's event log.
 */
const HOST = systemdHostAvailability();
if (!HOST.ok) console.warn(`[host-reload] skipped: ${HOST.reason}`);
const lab = useHttpsVault({ pkiMount: 'pki_app' });
const sh = useSystemdHost({ mounts: () => [path.dirname(lab.vault().home)] });

const served = (host: SystemdHost, port: number) => servedFingerprint(host, port, 'ngx.hosts.test', '/home/hosts-ngx/agent/trust-root.pem');
const currentFingerprint = (host: SystemdHost) => fileFingerprint(host, '/home/hosts-ngx/tls/current/cert.pem');

describe.skipIf(!HOST.ok)('reload scoping on a real host (issue 11, point 3)', { timeout: 300_000 }, () => {
  it('the service user\'s agent reloads only its own rootless nginx, which serves the renewed leaf; root\'s tls=true container is untouched; root\'s hook reloads only containers mounting the swapped dir', async () => {
    const host = sh.host();
    await host.addUser('hosts-ngx');
    await Promise.all([host.importBusybox('hosts-ngx'), host.importBusybox()]);
    const port = await freePort();
    // root's tls=true container that mounts nothing of hosts-ngx
    await startRootMarker(host, 'hosts-root-other');

    // a short leaf so that the agent renews by itself while the test watches
    const inst = await host.certwright(['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'ngx', '--common-name', 'ngx.hosts.test', '--ttl', '40s', '--tls-dir', '/home/hosts-ngx/tls', '--out', '/home/hosts-ngx/agent', '--user', 'hosts-ngx', '--bao', '/usr/local/bin/bao', '--install'], { env: lab.vault().cliEnv() });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);

    // nginx in hosts-ngx's rootless Podman, mounting the TLS dir read-only
    await startRootlessNginx(host, 'hosts-ngx', 'hosts-ngx-web', port, '/home/hosts-ngx/tls');
    // each user's Podman lists only its own containers
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-ngx')).stdout.trim()).toBe('hosts-ngx-web');
    expect((await host.podman(['ps', '--format', '{{.Names}}'])).stdout.trim()).toBe('hosts-root-other');
    await waitUntil('nginx to serve the first leaf', 20_000, async () => (await served(host, port)) === (await currentFingerprint(host)));
    const first = await served(host, port);

    // the agent renews the 40 s leaf at about 90 % of its life; its hook reloads hosts-ngx-web
    const fingerprints = new Set([first]);
    await waitUntil('a rotation served by nginx', 150_000, async () => {
      const now = await served(host, port);
      if (now) fingerprints.add(now);
      return fingerprints.size >= 2 && now === (await currentFingerprint(host));
    }, 500);
    const events = (await host.sh('cat ~/.config/certwright/envs/test/events.jsonl', { user: 'hosts-ngx' })).trim().split('\n').map((l) => JSON.parse(l) as { event: string; container?: string });
    expect(events.filter((e) => e.event === 'rotated').length).toBeGreaterThanOrEqual(1);
    const reloaded = events.filter((e) => e.event === 'reloaded').map((e) => e.container);
    expect(reloaded.length).toBeGreaterThanOrEqual(1);
    expect(new Set(reloaded)).toEqual(new Set(['hosts-ngx-web']));
    expect(events.filter((e) => e.event === 'reload-failed')).toEqual([]);
    // root's tls=true container was never reloaded (its reload command would leave /reloaded)
    expect(await markerReloaded(host, 'hosts-root-other')).toBe(false);
    // the reload went through hosts-ngx's own Podman: the hook ran as hosts-ngx in its user unit
    expect(await host.journal('bao-agent-test-app-ngx.service', 400)).toMatch(/Reloaded hosts-ngx-web/);

    // root's hook: only root's containers that mount the swapped directory
    await host.sh('mkdir -p /srv/root-tls');
    await startRootMarker(host, 'hosts-root-mount', ['/srv/root-tls:/tls:ro']);
    const hook = await host.certwright(['hook', '--name', 'rootapp', '--payload', '/home/hosts-ngx/agent/payload.json', '--tls-dir', '/srv/root-tls', '--trust', '/home/hosts-ngx/agent/trust-root.pem', '--state-dir', '/root/cw-hook']);
    expect(hook.code, hook.stderr + hook.stdout).toBe(0);
    expect(hook.stderr).toMatch(/Not reloaded \(tls=true, but they do not mount \/srv\/root-tls\): hosts-root-other/);
    expect(hook.stderr).toMatch(/Reloaded hosts-root-mount/);
    expect(await markerReloaded(host, 'hosts-root-mount')).toBe(true);
    expect(await markerReloaded(host, 'hosts-root-other')).toBe(false);
    // and the dry run says so before anything happens
    const dry = await host.certwright(['hook', '--name', 'rootapp', '--payload', '/home/hosts-ngx/agent/payload.json', '--tls-dir', '/srv/root-tls2', '--trust', '/home/hosts-ngx/agent/trust-root.pem', '--state-dir', '/root/cw-hook', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/Reload the running containers labelled tls=true that mount \/srv\/root-tls2 \(root's Podman; other tls=true containers are left alone\)/);
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useHttpsVault } from './helpers/https-vault.js';
import { systemdHostAvailability, useSystemdHost, waitUntil, type SystemdHost } from './helpers/systemd-host.js';
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

const NGX_CONF = (port: number) => `user root;
worker_processes 1;
pid /ngx/logs/nginx.pid;
error_log /ngx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path /ngx/varlib/body;
  proxy_temp_path /ngx/varlib/proxy;
  fastcgi_temp_path /ngx/varlib/fastcgi;
  uwsgi_temp_path /ngx/varlib/uwsgi;
  scgi_temp_path /ngx/varlib/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate /tls/current/fullchain.pem;
    ssl_certificate_key /tls/current/key.pem;
    location / { return 200 "ok\\n"; }
  }
}
`;

async function served(host: SystemdHost, port: number): Promise<string> {
  const r = await host.exec(['sh', '-c', `openssl s_client -connect 127.0.0.1:${port} -servername ngx.hosts.test -CAfile /home/hosts-ngx/agent/trust-root.pem -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`]);
  return r.code === 0 ? r.stdout.trim().replace(/^.*=/, '') : '';
}

async function currentFingerprint(host: SystemdHost): Promise<string> {
  return (await host.sh('openssl x509 -in /home/hosts-ngx/tls/current/cert.pem -noout -fingerprint -sha256')).trim().replace(/^.*=/, '');
}

/** Root's own containers inside the host (nested rootful Podman needs crun without cgroups here). */
async function rootContainer(host: SystemdHost, name: string, mounts: string[]): Promise<void> {
  await host.sh(`podman run -d --runtime crun --cgroups=disabled --name ${name} --network host --label tls=true --label 'tls.reload=touch /reloaded' ${mounts.map((m) => `-v ${m}`).join(' ')} localhost/hosts-bb sleep 100000 >/dev/null`);
}

describe.skipIf(!HOST.ok)('reload scoping on a real host (issue 11, point 3)', () => {
  it('the service user\'s agent reloads only its own rootless nginx, which serves the renewed leaf; root\'s tls=true container is untouched; root\'s hook reloads only containers mounting the swapped dir', async () => {
    const host = sh.host();
    await host.addUser('hosts-ngx');
    await Promise.all([host.importBusybox('hosts-ngx'), host.importBusybox()]);
    const port = await freePort();
    // root's tls=true container that mounts nothing of hosts-ngx
    await rootContainer(host, 'hosts-root-other', []);

    // a short leaf so that the agent renews by itself while the test watches
    const inst = await host.certwright(['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'ngx', '--common-name', 'ngx.hosts.test', '--ttl', '40s', '--tls-dir', '/home/hosts-ngx/tls', '--out', '/home/hosts-ngx/agent', '--user', 'hosts-ngx', '--bao', '/usr/local/bin/bao', '--install'], { env: lab.vault().cliEnv() });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);

    // nginx in hosts-ngx's rootless Podman, mounting the TLS dir read-only
    await host.sh(`mkdir -p ~/ngx/conf ~/ngx/logs ~/ngx/varlib && cat > ~/ngx/conf/nginx.conf <<'EOF'\n${NGX_CONF(port)}EOF`, { user: 'hosts-ngx' });
    await host.sh(`podman run -d --name hosts-ngx-web --network host --label tls=true --label 'tls.reload=/usr/sbin/nginx -c /ngx/conf/nginx.conf -s reload' --label tls.check=127.0.0.1:${port} -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro -v $HOME/ngx:/ngx -v $HOME/tls:/tls:ro localhost/hosts-bb /usr/sbin/nginx -c /ngx/conf/nginx.conf -g 'daemon off;' >/dev/null`, { user: 'hosts-ngx' });
    // each user's Podman lists only its own containers
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-ngx')).stdout.trim()).toBe('hosts-ngx-web');
    expect((await host.podman(['ps', '--format', '{{.Names}}'])).stdout.trim()).toBe('hosts-root-other');
    await waitUntil('nginx to serve the first leaf', 20_000, async () => (await served(host, port)) === (await currentFingerprint(host)));
    const first = await served(host, port);

    // the agent renews the 40 s leaf at about 90 % of its life; its hook reloads hosts-ngx-web
    const fingerprints = new Set([first]);
    await waitUntil('a rotation served by nginx', 90_000, async () => {
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
    expect((await host.exec(['podman', 'exec', 'hosts-root-other', 'test', '-e', '/reloaded'])).code).not.toBe(0);
    // the reload went through hosts-ngx's own Podman: the hook ran as hosts-ngx in its user unit
    expect(await host.journal('bao-agent-test-app-ngx.service', 400)).toMatch(/Reloaded hosts-ngx-web/);

    // root's hook: only root's containers that mount the swapped directory
    await host.sh('mkdir -p /srv/root-tls');
    await rootContainer(host, 'hosts-root-mount', ['/srv/root-tls:/tls:ro']);
    const hook = await host.certwright(['hook', '--name', 'rootapp', '--payload', '/home/hosts-ngx/agent/payload.json', '--tls-dir', '/srv/root-tls', '--trust', '/home/hosts-ngx/agent/trust-root.pem', '--state-dir', '/root/cw-hook']);
    expect(hook.code, hook.stderr + hook.stdout).toBe(0);
    expect(hook.stderr).toMatch(/Not reloaded \(tls=true, but they do not mount \/srv\/root-tls\): hosts-root-other/);
    expect(hook.stderr).toMatch(/Reloaded hosts-root-mount/);
    expect((await host.exec(['podman', 'exec', 'hosts-root-mount', 'test', '-e', '/reloaded'])).code).toBe(0);
    expect((await host.exec(['podman', 'exec', 'hosts-root-other', 'test', '-e', '/reloaded'])).code).not.toBe(0);
    // and the dry run says so before anything happens
    const dry = await host.certwright(['hook', '--name', 'rootapp', '--payload', '/home/hosts-ngx/agent/payload.json', '--tls-dir', '/srv/root-tls2', '--trust', '/home/hosts-ngx/agent/trust-root.pem', '--state-dir', '/root/cw-hook', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/Reload the running containers labelled tls=true that mount \/srv\/root-tls2 \(root's Podman; other tls=true containers are left alone\)/);
  });
});

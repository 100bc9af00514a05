import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { handshake } from '../../source/status/handshake.js';

/**
 * Real rootful Podman for the status and doctor tests: a busybox image imported locally (no
 * registry is reachable), nginx from the host bind-mounted read-only, host network on 127.0.0.1.
 * The image is the same one issue 4's tests build (same name and content), so either builds it.
 */
export const IMAGE = 'localhost/certwright-test-busybox:1';

let probed: { ok: boolean; reason: string } | undefined;

export function podmanStatus(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const missing = ['/usr/sbin/nginx', '/usr/bin/busybox'].filter((f) => !fs.existsSync(f));
  if (missing.length) return (probed = { ok: false, reason: `${missing.join(', ')} missing (apt-get install -y nginx busybox-static)` });
  if (process.getuid?.() !== 0) return (probed = { ok: false, reason: 'the container tests need rootful podman (run as root)' });
  try {
    execFileSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (error) {
    const e = error as { code?: string; stderr?: Buffer; message: string };
    return (probed = { ok: false, reason: e.code === 'ENOENT' ? 'podman is not installed' : `podman cannot run here: ${String(e.stderr ?? e.message).trim().split('\n').pop()}` });
  }
  return (probed = { ok: true, reason: '' });
}

export async function ensureImage(): Promise<void> {
  if ((await execa('podman', ['image', 'exists', IMAGE], { reject: false })).exitCode === 0) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cw5-bb-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'usr', 'lib', 'lib64', 'var/lib', 'run', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.copyFileSync('/usr/bin/busybox', path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const c of ['sh', 'false', 'true', 'cat', 'ls', 'sleep', 'kill']) fs.symlinkSync('busybox', path.join(root, 'bin', c));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww-data:x:33:33::/var/www:/bin/false\n');
    fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\n');
    const tar = path.join(os.tmpdir(), `cw5-bb-${process.pid}.tar`);
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    try {
      await execa('podman', ['import', '-q', tar, IMAGE]);
    } catch (error) {
      if ((await execa('podman', ['image', 'exists', IMAGE], { reject: false })).exitCode !== 0) throw error;
    } finally {
      fs.rmSync(tar, { force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export interface Container {
  name: string;
  stop(): Promise<void>;
}

/** nginx serving TLSDIR/current/{fullchain,key}.pem on 127.0.0.1:port (the TLS dir mounted as a directory). */
export async function startNginx(options: { name: string; tlsDir: string; port: number; labels: Record<string, string>; work: string; certPath?: string; keyPath?: string }): Promise<Container> {
  const dir = path.join(options.work, `ngx-${options.name}`);
  for (const d of ['conf', 'logs', 'varlib']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'conf', 'nginx.conf'),
    `user root;
worker_processes 1;
pid /ngx/nginx.pid;
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
    listen 127.0.0.1:${options.port} ssl;
    ssl_certificate ${options.certPath ?? '/tls/current/fullchain.pem'};
    ssl_certificate_key ${options.keyPath ?? '/tls/current/key.pem'};
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const labels = Object.entries(options.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await execa('podman', ['rm', '-f', options.name], { reject: false });
  await execa('podman', ['run', '-d', '--name', options.name, ...labels, '--network', 'host', '-v', '/usr:/usr:ro', '-v', '/lib:/lib:ro', '-v', '/lib64:/lib64:ro', '-v', `${dir}:/ngx`, '-v', `${path.resolve(options.tlsDir)}:/tls:ro`, IMAGE, '/usr/sbin/nginx', '-c', '/ngx/conf/nginx.conf', '-g', 'daemon off;']);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await handshake('127.0.0.1', options.port, { timeoutMs: 1000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        const logs = await execa('podman', ['logs', options.name], { reject: false });
        throw new Error(`nginx in ${options.name} did not serve TLS on ${options.port}: ${(error as Error).message}\n${logs.stderr}${logs.stdout}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name: options.name, stop: async () => void (await execa('podman', ['rm', '-f', '-t', '0', options.name], { reject: false })) };
}

/** A container that only sleeps, as the user given, with a directory mounted. */
export async function startSleeper(options: { name: string; user: string; mount: string; labels: Record<string, string> }): Promise<Container> {
  const labels = Object.entries(options.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await execa('podman', ['rm', '-f', options.name], { reject: false });
  await execa('podman', ['run', '-d', '--name', options.name, '--user', options.user, ...labels, '-v', `${options.mount}:/tls:ro`, IMAGE, 'sleep', '600']);
  return { name: options.name, stop: async () => void (await execa('podman', ['rm', '-f', '-t', '0', options.name], { reject: false })) };
}

import { execFileSync, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { servedFingerprint } from '../../source/system/tls-probe.js';

const run = promisify(execFile);

/**
 * Real rootful Podman for the agent tests: a busybox image imported locally (no registry here),
 * nginx from the host bind-mounted read-only (/usr, /lib, /lib64), host network on 127.0.0.1.
 */
export const IMAGE = 'localhost/certwright-test-busybox:1';

let probed: { ok: boolean; reason: string } | undefined;

/** Can this machine run a container? Answers once, with the reason when not. */
export function podmanStatus(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const need = ['/usr/sbin/nginx', '/usr/bin/busybox'];
  const missing = need.filter((f) => !fs.existsSync(f));
  if (missing.length) return (probed = { ok: false, reason: `${missing.join(', ')} missing (scripts/install-tools.sh installs nginx and busybox-static)` });
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
  try {
    await run('podman', ['image', 'exists', IMAGE]);
    return;
  } catch {
    /* build it */
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bb-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'usr', 'lib', 'lib64', 'var/lib', 'run', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.copyFileSync('/usr/bin/busybox', path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const c of ['sh', 'false', 'true', 'cat', 'ls', 'sleep', 'kill']) fs.symlinkSync('busybox', path.join(root, 'bin', c));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww-data:x:33:33::/var/www:/bin/false\n');
    fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\n');
    const tar = path.join(os.tmpdir(), `cw-bb-${process.pid}.tar`);
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    try {
      await run('podman', ['import', '-q', tar, IMAGE]);
    } catch (error) {
      // Another test file may have imported it at the same moment.
      await run('podman', ['image', 'exists', IMAGE]).catch(() => {
        throw error;
      });
    } finally {
      fs.rmSync(tar, { force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * nginx.conf for a container: TLS on 127.0.0.1:port from the TLS dir mounted at /tls, pid, logs
 * and temp files under dir (default /ngx, a writable mount), `user root` (the container's root).
 */
export function nginxConf(port: number, certPath = '/tls/current/fullchain.pem', keyPath = '/tls/current/key.pem', dir = '/ngx'): string {
  return `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/varlib/body;
  proxy_temp_path ${dir}/varlib/proxy;
  fastcgi_temp_path ${dir}/varlib/fastcgi;
  uwsgi_temp_path ${dir}/varlib/uwsgi;
  scgi_temp_path ${dir}/varlib/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certPath};
    ssl_certificate_key ${keyPath};
    location / { return 200 "ok\\n"; }
  }
}
`;
}

export interface NginxContainer {
  name: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * nginx in a container, serving TLSDIR/current/{fullchain,key}.pem on 127.0.0.1:port. The TLS dir
 * is mounted as a directory (never single files: a rename would not reach a file bind mount).
 * `defaultConf` puts the config at /etc/nginx/nginx.conf, so a bare `nginx -s reload` works.
 */
export async function startNginx(options: { name: string; tlsDir: string; port: number; labels: Record<string, string>; work: string; defaultConf?: boolean; certPath?: string; keyPath?: string }): Promise<NginxContainer> {
  const dir = path.join(options.work, `ngx-${options.name}`);
  for (const d of ['conf', 'logs', 'varlib']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'conf', 'nginx.conf'), nginxConf(options.port, options.certPath, options.keyPath));
  const confArgs = options.defaultConf ? ['-v', `${path.join(dir, 'conf')}:/etc/nginx:ro`] : [];
  const labels = Object.entries(options.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await run('podman', ['rm', '-f', options.name]).catch(() => undefined);
  await run('podman', [
    'run', '-d', '--name', options.name, ...labels, '--network', 'host',
    '-v', '/usr:/usr:ro', '-v', '/lib:/lib:ro', '-v', '/lib64:/lib64:ro',
    '-v', `${dir}:/ngx`, '-v', `${path.resolve(options.tlsDir)}:/tls:ro`, ...confArgs,
    IMAGE, '/usr/sbin/nginx', '-c', options.defaultConf ? '/etc/nginx/nginx.conf' : '/ngx/conf/nginx.conf', '-g', 'daemon off;',
  ]);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await servedFingerprint('127.0.0.1', options.port, undefined, 1000);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        const logs = await run('podman', ['logs', options.name]).then((r) => r.stderr + r.stdout).catch(() => '');
        throw new Error(`nginx in ${options.name} did not serve TLS on ${options.port}: ${(error as Error).message}\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name: options.name,
    port: options.port,
    dir,
    stop: async () => {
      await run('podman', ['rm', '-f', '-t', '0', options.name]).catch(() => undefined);
    },
  };
}

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from './env.js';
import { nginxConf } from './podman.js';

/**
 * A real host with a real systemd, for the tests of issue 11: systemd as PID 1 in a rootful
 * Podman container (logind, lingering, `systemctl --user -M USER@`, journald, rootless Podman for
 * the service users inside). The image is built once by scripts/systemd-host-image.sh (mmdebstrap
 * from apt's own mirror) and reused while its recipe is unchanged; each test file boots its own
 * container `hosts-<pid>-<n>` and removes it afterwards.
 *
 * Mounted read-only: the project tree at /opt/certwright (built/, node_modules, bin), the pinned
 * Node 24 binary at /usr/local/bin/node and the pinned bao at /usr/local/bin/bao. Directories the
 * test names in `mounts` appear at the same path inside (the HTTPS Vault's state, say), read-write.
 * The container shares the host's network, so a Vault on the host's loopback is reachable.
 *
 *   const sh = useSystemdHost({ mounts: () => [vault().home] });
 *   it.skipIf(!HOST.ok)('...', async () => { const svc = await sh.host().addUser('hosts-svc'); ... });
 */

export const HOST_TREE = '/opt/certwright';
export const HOST_BIN = `${HOST_TREE}/bin/certwright.mjs`;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HostUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** XDG_RUNTIME_DIR of the user's manager. */
  runtimeDir: string;
}

export interface ExecOptions {
  user?: string | undefined;
  env?: Record<string, string> | undefined;
  input?: string | undefined;
  timeoutMs?: number | undefined;
}

function realFile(p: string): string {
  return fs.realpathSync(p);
}

/** The real binaries behind the .tools wrappers (node24 is a shell wrapper around the binary). */
function toolBinaries(): { node: string; bao: string } | { why: string } {
  const tools = path.join(ROOT, '.tools');
  const wrapper = path.join(tools, 'bin', 'node24');
  if (!fs.existsSync(wrapper)) return { why: `${wrapper} is missing (npm test installs it: scripts/install-tools.sh)` };
  const node = execFileSync(wrapper, ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
  const baoLink = path.join(tools, 'bin', 'bao');
  if (!fs.existsSync(baoLink)) return { why: `${baoLink} is missing (scripts/install-tools.sh installs it)` };
  return { node: realFile(node), bao: realFile(baoLink) };
}

let availability: { ok: true; image: string; buildMs: number } | { ok: false; reason: string } | undefined;

/**
 * Can this machine give a systemd host? Builds (or finds) the image once per process. Answers with
 * the reason when not: no Podman, not root, no built tree, or the image cannot be built.
 */
export function systemdHostAvailability(): { ok: true; image: string; buildMs: number } | { ok: false; reason: string } {
  if (availability) return availability;
  if (process.getuid?.() !== 0) return (availability = { ok: false, reason: 'the systemd host needs rootful Podman (run the tests as root)' });
  if (!fs.existsSync(path.join(ROOT, 'build', 'source', 'cli.js'))) return (availability = { ok: false, reason: 'build/ is missing: run the TypeScript build first' });
  const tools = toolBinaries();
  if ('why' in tools) return (availability = { ok: false, reason: tools.why });
  const started = Date.now();
  try {
    const image = execFileSync('bash', [path.join(ROOT, 'scripts', 'systemd-host-image.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 }).trim();
    availability = { ok: true, image, buildMs: Date.now() - started };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    availability = { ok: false, reason: `the systemd host image cannot be had: ${String(e.stderr || e.message).trim().split('\n').slice(-2).join(' ')}` };
  }
  if (!availability.ok) console.warn(`[systemd-host] skipped: ${availability.reason}`);
  else console.info(`[systemd-host] image ${availability.image} ready in ${availability.buildMs} ms`);
  return availability;
}

function run(file: string, args: string[], options: { input?: string | undefined; timeoutMs?: number | undefined } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(options.input ?? '');
  });
}

let counter = 0;

export class SystemdHost {
  readonly users = new Map<string, HostUser>();

  constructor(readonly name: string) {}

  /** Runs argv inside the host, as root or as a service user (with its XDG_RUNTIME_DIR and HOME). */
  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const args = ['exec', '-i'];
    const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...options.env };
    if (options.user) {
      const u = this.users.get(options.user);
      args.push('--user', options.user, '--workdir', u?.home ?? '/');
      if (u) Object.assign(env, { HOME: u.home, USER: u.name, XDG_RUNTIME_DIR: u.runtimeDir, ...options.env });
    }
    for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
    return run('podman', [...args, this.name, ...argv], { input: options.input, timeoutMs: options.timeoutMs });
  }

  /** sh -c SCRIPT inside the host; throws with its output when it fails. */
  async sh(script: string, options: ExecOptions = {}): Promise<string> {
    const r = await this.exec(['sh', '-c', script], options);
    if (r.code !== 0) throw new Error(`in ${this.name}${options.user ? ` as ${options.user}` : ''}: ${script}\nexit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** The mounted certwright (built tree, mounted Node 24) inside the host. */
  async certwright(args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['/usr/local/bin/node', HOST_BIN, ...args], { ...options, env: { CI: 'true', NO_COLOR: '1', ...options.env } });
  }

  /** `useradd -m`, `loginctl enable-linger`, then waits until the user's manager runs. */
  async addUser(name: string): Promise<HostUser> {
    if (!name.startsWith('hosts-')) throw new Error(`service users of the systemd host are named hosts-*, not ${name}`);
    await this.sh(`id -u ${name} >/dev/null 2>&1 || useradd -m -s /bin/sh ${name}; loginctl enable-linger ${name}`);
    const [uid, gid, home] = (await this.sh(`printf '%s %s %s' "$(id -u ${name})" "$(id -g ${name})" "$(getent passwd ${name} | cut -d: -f6)"`)).split(' ');
    const user: HostUser = { name, uid: Number(uid), gid: Number(gid), home: home!, runtimeDir: `/run/user/${uid}` };
    this.users.set(name, user);
    await waitUntil(`${name}'s user manager to run`, 30_000, async () => {
      const r = await this.exec(['systemctl', '--user', '-M', `${name}@`, 'is-system-running']);
      return /^(running|degraded)/.test(r.stdout.trim());
    });
    return user;
  }

  /** `systemctl --user -M USER@ ARGS` run as root: the independent view of a user's manager. */
  systemctlUser(user: string, args: string[]): Promise<ExecResult> {
    return this.exec(['systemctl', '--user', '-M', `${user}@`, ...args]);
  }

  /** `systemctl --user -M USER@ show UNIT -p P...` as a record. */
  async showUnit(user: string, unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.systemctlUser(user, ['show', unit, ...props.map((p) => `--property=${p}`)]);
    if (r.code !== 0) throw new Error(`systemctl show ${unit} for ${user}: ${r.stderr}`);
    return Object.fromEntries(r.stdout.trim().split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** The unit's journal as root reads it (journald of the host): its output and systemd's words about it. */
  async journal(unit: string, lines = 200): Promise<string> {
    const r = await this.exec(['journalctl', '--no-pager', '-o', 'cat', '-n', String(lines), `_SYSTEMD_USER_UNIT=${unit}`, '+', `USER_UNIT=${unit}`]);
    return r.stdout;
  }

  /** podman as USER (rootless) or root inside the host. */
  podman(args: string[], user?: string): Promise<ExecResult> {
    return this.exec(['podman', ...args], { user });
  }

  /**
   * A busybox image in USER's (or root's) own Podman storage: no registry here, so a tiny root
   * filesystem is imported; programs such as nginx come from the host's /usr mounted read-only.
   */
  async importBusybox(user?: string, image = 'localhost/hosts-bb'): Promise<string> {
    const script = [
      'set -e',
      `podman image exists ${image} && exit 0`,
      'r=$(mktemp -d)',
      'cd "$r" && mkdir -p bin etc tmp usr lib lib64 var/lib run proc sys dev',
      'cp /bin/busybox bin/busybox && for c in sh cat ls sleep kill true false touch test mkdir rm; do ln -s busybox bin/$c; done',
      `printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\\n' > etc/passwd`,
      `printf 'root:x:0:\\nnogroup:x:65534:\\n' > etc/group`,
      `tar -cf - . | podman import -q - ${image} >/dev/null`,
      'cd / && rm -rf "$r"',
    ].join('\n');
    await this.sh(script, { user });
    return image;
  }

  /**
   * sshd on 127.0.0.1:port (the hosts share the machine's network, so each gets its own port),
   * root's login by this public key only, host keys made on this host: what Ansible's ssh
   * connection reaches. The image installs sshd but does not start it.
   */
  async startSsh(port: number, authorizedKey: string): Promise<void> {
    const conf = [`Port ${port}`, 'ListenAddress 127.0.0.1', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', ''].join('\n');
    await this.exec(['sh', '-c', 'cat > /etc/ssh/sshd_config.d/test-port.conf'], { input: conf });
    await this.exec(['sh', '-c', 'install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys'], { input: authorizedKey });
    await this.sh('ssh-keygen -A >/dev/null && systemctl start ssh.service');
    await waitUntil(`sshd in ${this.name} on port ${port}`, 30_000, async () => (await this.exec(['sh', '-c', `ss -Hltn 'sport = :${port}' | grep -q LISTEN`])).code === 0);
  }

  async stop(): Promise<void> {
    await run('podman', ['rm', '-f', '-t', '5', this.name], { timeoutMs: 60_000 });
  }
}

/**
 * nginx in USER's rootless Podman (image from importBusybox, the host's /usr mounted read-only),
 * labelled tls=true with its reload command and tls.check, serving ~/TLSDIR on 127.0.0.1:port.
 */
export async function startRootlessNginx(host: SystemdHost, user: string, name: string, port: number, tlsDir: string): Promise<void> {
  await host.sh(`mkdir -p ~/ngx/conf ~/ngx/logs ~/ngx/varlib && cat > ~/ngx/conf/nginx.conf <<'EOF'\n${nginxConf(port)}EOF`, { user });
  await host.sh(`podman run -d --name ${name} --network host --label tls=true --label 'tls.reload=/usr/sbin/nginx -c /ngx/conf/nginx.conf -s reload' --label tls.check=127.0.0.1:${port} -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro -v $HOME/ngx:/ngx -v ${tlsDir}:/tls:ro localhost/hosts-bb /usr/sbin/nginx -c /ngx/conf/nginx.conf -g 'daemon off;' >/dev/null`, { user });
}

/**
 * A tls=true container in root's Podman inside the host (nested rootful Podman needs crun without
 * cgroups here) whose reload command leaves /reloaded: proof of whether a hook touched it.
 */
export async function startRootMarker(host: SystemdHost, name: string, mounts: string[] = []): Promise<void> {
  await host.sh(`podman run -d --runtime crun --cgroups=disabled --name ${name} --network host --label tls=true --label 'tls.reload=touch /reloaded' ${mounts.map((m) => `-v ${m}`).join(' ')} localhost/hosts-bb sleep 100000 >/dev/null`);
}

/** Was the marker container reloaded? */
export async function markerReloaded(host: SystemdHost, name: string): Promise<boolean> {
  return (await host.exec(['podman', 'exec', name, 'test', '-e', '/reloaded'])).code === 0;
}

/** SHA-256 fingerprint nginx serves on 127.0.0.1:port, verified against CAFILE ('' when it does not verify). */
export async function servedFingerprint(host: SystemdHost, port: number, servername: string, caFile: string): Promise<string> {
  const r = await host.exec(['sh', '-c', `openssl s_client -connect 127.0.0.1:${port} -servername ${servername} -CAfile ${caFile} -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`]);
  return r.code === 0 ? r.stdout.trim().replace(/^.*=/, '') : '';
}

/** SHA-256 fingerprint of a certificate file inside the host. */
export async function fileFingerprint(host: SystemdHost, file: string): Promise<string> {
  return (await host.sh(`openssl x509 -in ${file} -noout -fingerprint -sha256`)).trim().replace(/^.*=/, '');
}

/** Boots one host (systemd as PID 1) and waits until systemd reports running. */
export async function startSystemdHost(options: { mounts?: string[]; name?: string } = {}): Promise<SystemdHost> {
  const avail = systemdHostAvailability();
  if (!avail.ok) throw new Error(avail.reason);
  const tools = toolBinaries();
  if ('why' in tools) throw new Error(tools.why);
  counter += 1;
  // A caller may name it (another area's prefix, e.g. ansible-*); the default is hosts-PID-N.
  const name = options.name ?? `hosts-${process.pid}-${counter}`;
  const mounts = [`${ROOT}:${HOST_TREE}:ro`, `${tools.node}:/usr/local/bin/node:ro`, `${tools.bao}:/usr/local/bin/bao:ro`, ...(options.mounts ?? []).map((m) => `${m}:${m}`)];
  // --privileged only for the rootless Podman nested inside (user namespaces, /dev/fuse).
  const args = ['run', '-d', '--name', name, '--hostname', name, '--privileged', '--systemd=always', '--network', 'host', '--label', 'hosts.test=1', ...mounts.flatMap((m) => ['-v', m]), avail.image, '/lib/systemd/systemd'];
  const started = await run('podman', args, { timeoutMs: 60_000 });
  if (started.code !== 0) throw new Error(`podman run ${name} failed: ${started.stderr}`);
  const host = new SystemdHost(name);
  try {
    await waitUntil(`systemd in ${name} to be running`, 60_000, async () => /^(running|degraded)/.test((await host.exec(['systemctl', 'is-system-running'])).stdout.trim()));
  } catch (error) {
    await host.stop();
    throw error;
  }
  return host;
}

export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** One host for the whole test file, booted after `mounts()` is known (beforeAll order). */
export function useSystemdHost(options: { mounts?: () => string[] } = {}): { host: () => SystemdHost; bootMs: () => number } {
  let host: SystemdHost | undefined;
  let bootMs = 0;
  beforeAll(async () => {
    if (!systemdHostAvailability().ok) return;
    const t = Date.now();
    host = await startSystemdHost({ mounts: options.mounts?.() ?? [] });
    bootMs = Date.now() - t;
    console.info(`[systemd-host] ${host.name} booted in ${bootMs} ms`);
  }, 16 * 60_000);
  afterAll(async () => {
    await host?.stop();
  }, 60_000);
  return {
    host: () => {
      if (!host) throw new Error('the systemd host did not start');
      return host;
    },
    bootMs: () => bootMs,
  };
}

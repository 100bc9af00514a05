/**
 * The environment's own Vault as a Podman container (vault.runtime: podman): `apply --file F
 * --one-machine` starts it on loopback HTTP with DIR/data bind-mounted, installs the PKI into it,
 * and vault-https recreates that same container on TLS with the same data mount. Real rootful
 * Podman and the pinned OpenBao: the tests' local busybox image (no registry here) with the
 * .tools bao binary bind-mounted, so nothing is pulled. Two runs are SIGKILLed at the delicate
 * points (server unsealed but not recorded; HTTP container removed, TLS one not started yet) and
 * the next apply converges. Judged by openssl and curl trusting only the root, `podman inspect`,
 * the raft database's inode, `status --json`, and a second apply that changes nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, BAO, BIN } from './helpers/env.js';
import { ensureImage, podmanStatus, IMAGE } from './helpers/podman.js';
import { freePortPair } from '../source/system/openbao.js';
import { parseEstate } from '../source/estate/load.js';

const podman = podmanStatus();
if (!podman.ok) console.warn(`[podman-managed-vault] SKIPPED: ${podman.reason}`);

const NAME = `podvault-${process.pid}`;

async function inspect(format: string): Promise<string> {
  return (await execa('podman', ['inspect', '--type', 'container', '--format', format, NAME])).stdout.trim();
}

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      // Vault's own storage and logs change with every request; Node's compile cache with every run.
      if (e.name === '.cache' || e.name === 'data' || e.name === 'audit' || e.name.endsWith('.log')) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Runs apply and SIGKILLs it as soon as its stderr shows `marker`; returns the signal (or why it ended otherwise). */
async function killAt(args: string[], cwd: string, env: NodeJS.ProcessEnv, marker: string): Promise<string> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let seen = '';
  return new Promise((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(marker) && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}: ${seen.slice(-1500)}`));
  });
}

describe('vault.runtime: podman in an estate file', () => {
  it('image: and container: are for the podman runtime, and runtime: is for a Vault certwright runs; each error at its key', () => {
    const base = 'environment: e\nroot: { dir: ./r, cn: R }\nintermediate: { cn: I }\n';
    expect(() => parseEstate(`${base}vault: { listen: 127.0.0.1:8300, image: localhost/x }\n`, 'e.yaml')).toThrow(/e\.yaml:4:34: image: is for runtime: podman/);
    expect(() => parseEstate(`${base}vault: { listen: 127.0.0.1:8300, runtime: process, container: c }\n`, 'e.yaml')).toThrow(/container: is for runtime: podman/);
    expect(() => parseEstate(`${base}vault: { address: https://v:8200, runtime: podman }\n`, 'e.yaml')).toThrow(/a Vault you run yourself \(address:\) has none/);
    expect(parseEstate(`${base}vault: { listen: 127.0.0.1:8300, runtime: podman, image: localhost/x, container: c }\n`, 'e.yaml').spec.vault).toMatchObject({ runtime: 'podman', image: 'localhost/x', container: 'c' });
  });
});

describe.skipIf(!podman.ok)('the managed Vault as a Podman container', () => {
  beforeAll(async () => {
    await ensureImage();
  }, 120_000);
  afterAll(async () => {
    await execa('podman', ['rm', '-f', '-t', '2', NAME], { reject: false });
    await execa('podman', ['rm', '-f', '-t', '0', `${NAME}-dry`], { reject: false });
  }, 60_000);

  it('refuses what the podman runtime cannot do, and --dry-run plans the container (and the pull) without making anything', async () => {
    const work = tempDir('cw-podvault-dry-');
    const env = { CERTWRIGHT_HOME: path.join(work, 'home') };
    const port = await freePortPair();
    const out = path.join(work, 'vault');
    const base = ['vault-server', '--env', 'pvdry', '--out', out, '--listen', `127.0.0.1:${port}`];
    const cluster = await cli([...base, '--runtime', 'podman', '--nodes', '3'], { env });
    expect(cluster.exitCode).toBe(2);
    expect(cluster.stderr).toMatch(/raft cluster .* host processes/);
    const image = await cli([...base, '--image', IMAGE], { env });
    expect(image.exitCode).toBe(2);
    expect(image.stderr).toContain('--image is for --runtime podman');
    const absent = `localhost/podvault-absent-${process.pid}`;
    const dry = await cli([...base, '--runtime', 'podman', '--image', absent, '--name', `${NAME}-dry`, '--dry-run'], { env });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`Pull the image ${absent}: it is not on this machine`);
    expect(dry.stderr).toContain(`Start container ${NAME}-dry (podman run, port published on 127.0.0.1:${port} only)`);
    expect(dry.stderr).toContain('Dry run: nothing was changed.');
    expect(fs.existsSync(out)).toBe(false);
    expect((await execa('podman', ['container', 'exists', `${NAME}-dry`], { reject: false })).exitCode).toBe(1);
  });

  it('apply --file --one-machine (killed three times on the way) runs it in a container, moves that container to TLS on the same data, green status, second apply changes nothing', async () => {
    const work = tempDir('cw-podvault-');
    const port = await freePortPair();
    const pass = writePassphrase(work);
    const file = path.join(work, 'estate.yaml');
    fs.writeFileSync(
      file,
      [
        'environment: podvault',
        'root:         { dir: ./root, cn: "Podvault Root CA", key_type: ec-p384, ttl: 10y, path_len: 1 }',
        `vault:        { listen: 127.0.0.1:${port}, data_dir: ./vault, runtime: podman, image: ${IMAGE}, container: ${NAME}, bao: ${BAO}, key_shares: 1, key_threshold: 1 }`,
        'intermediate: { mount: pki_int, cn: "Podvault Issuing CA", key_type: ec-p256 }',
        'vault_cert:   { role: vault-server, dns: [localhost], ip: [127.0.0.1], dir: ./vault-tls }',
        `urls:         { base: https://127.0.0.1:${port} }`,
        '',
      ].join('\n'),
    );
    const home = path.join(work, 'home');
    const keys = path.join(work, 'secrets', 'vault-keys.json');
    const args = [BIN, 'apply', '--file', file, '--one-machine', '--passphrase-file', pass, '--keys-out', keys, '--yes'];
    const env = { PATH: process.env.PATH, HOME: work, CI: 'true', CERTWRIGHT_HOME: home };
    const root = path.join(work, 'root', 'root-ca.pem');
    const addr = `https://127.0.0.1:${port}`;
    const data = path.join(work, 'vault', 'data');

    // 1. Killed once the container's Vault is unsealed, before the step is recorded.
    expect(await killAt(args, work, env, `Vault at http://127.0.0.1:${port} is unsealed`)).toBe('SIGKILL');
    expect(fs.statSync(keys).mode & 0o777).toBe(0o600);
    // The container runs the loopback-HTTP configuration, with DIR/data mounted read-write, published on loopback only.
    const mountsBefore = await inspect('{{range .Mounts}}{{.Destination}}={{.Source}}:{{.RW}} {{end}}');
    expect(mountsBefore).toContain(`/openbao/file=${data}:true`);
    expect(mountsBefore).toContain(`/openbao/config/vault.hcl=${path.join(work, 'vault', 'vault-bootstrap.hcl')}:false`);
    expect(await inspect('{{json .HostConfig.PortBindings}}')).toContain(`"HostIp":"127.0.0.1","HostPort":"${port}"`);
    const plainBefore = await execa('curl', ['-sS', `http://127.0.0.1:${port}/v1/sys/health`], { reject: false });
    expect(plainBefore.stdout).toMatch(/"initialized":true/);
    const stat = fs.statSync(data);
    expect([stat.uid, stat.mode & 0o777]).toEqual([process.getuid!(), 0o700]);

    // 2. Killed between removing the HTTP container and starting the TLS one: no container at all.
    expect(await killAt(args, work, env, `Removed the container ${NAME} of the old configuration`)).toBe('SIGKILL');
    const raftDb = path.join(data, 'raft', 'raft.db');
    const inodeBefore = fs.statSync(raftDb).ino;

    // 3. Killed once the TLS container answers, before vault-https records the move: the next run
    // starts it again on the loopback-HTTP configuration (the state's address), then moves it again.
    expect(await killAt(args, work, env, `Vault answers over HTTPS at ${addr}`)).toBe('SIGKILL');

    // The kill races vault-https's record of the move; when it lands first, the TLS container is unrecorded.
    const stateFile = path.join(home, 'envs', 'podvault', 'state.json');
    const movedRecorded = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { steps: Record<string, { status: string }> }).steps['vault-https']?.status === 'done';

    // 4. The next apply converges: the container on its storage, on TLS, unsealed, recorded.
    const last = await execa(process.execPath, args, { cwd: work, env, extendEnv: false, reject: false, all: true });
    if (!movedRecorded) expect(last.all).toContain(`Removed the container ${NAME} of vault-https's unrecorded TLS configuration`);
    expect(last.exitCode, last.all).toBe(0);
    expect(last.all).toMatch(/every step of .* is done/);
    const mountsAfter = await inspect('{{range .Mounts}}{{.Destination}}={{.Source}}:{{.RW}} {{end}}');
    expect(mountsAfter).toContain(`/openbao/file=${data}:true`);
    expect(mountsAfter).toContain(`/openbao/config=${path.join(work, 'vault', 'config')}:false`);
    expect(mountsAfter).not.toContain('vault-bootstrap.hcl');
    expect(fs.statSync(raftDb).ino).toBe(inodeBefore);
    // The same network and loopback-only publishing as the container vault-server started.
    expect(await inspect('{{json .HostConfig.PortBindings}}')).toContain(`"HostIp":"127.0.0.1","HostPort":"${port}"`);

    // Independent judges, trusting only the root: openssl and curl reach the container over TLS...
    const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', root, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
    const get = async (p: string, method = 'GET') => JSON.parse((await execa('curl', ['-sS', '--fail', '-X', method, '--cacert', root, '-H', `X-Vault-Token: ${token}`, `${addr}/v1/${p}`])).stdout).data;
    // ...and it serves the PKI installed over HTTP before the move: the same storage.
    expect((await execa('curl', ['-sS', '--fail', '--cacert', root, `${addr}/v1/pki_int/ca/pem`])).stdout).toMatch(/BEGIN CERTIFICATE/);
    expect((await get('pki_int/keys', 'LIST')).keys).toHaveLength(1);
    expect((await get('pki_int/config/urls')).issuing_certificates).toEqual([`${addr}/v1/pki_int/ca`]);
    // The loopback HTTP listener is gone.
    const plain = await execa('curl', ['-sS', `http://127.0.0.1:${port}/v1/sys/health`], { reject: false });
    expect(plain.stdout).not.toMatch(/"initialized"/);
    // Vault's audit device kept across the recreate: written by the container user, 0600.
    const audit = fs.statSync(path.join(work, 'vault', 'audit', 'audit.log'));
    expect(audit.mode & 0o777).toBe(0o600);

    const status = await cli(['status', '--env', 'podvault', '--json', '--select', `cw-none=${process.pid}`], { env: { CERTWRIGHT_HOME: home, VAULT_TOKEN: token } });
    expect(JSON.parse(status.stdout).problems).toEqual([]);
    expect(status.exitCode, status.stdout).toBe(0);

    // A second apply changes nothing: no step runs, no file changes, the same container.
    const id = await inspect('{{.Id}}');
    const before = hashes(work);
    const again = await execa(process.execPath, args, { cwd: work, env, extendEnv: false, reject: false, all: true });
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toContain('Nothing to do');
    expect(hashes(work)).toEqual(before);
    expect(await inspect('{{.Id}}')).toBe(id);
  }, 240_000);
});

/**
 * Rootless Podman: certwright run by a user with subordinate id ranges. Container root (0:0) is that
 * user on the host, so DIR/data and DIR/audit are created owned by the user and nothing in the
 * container chowns; `--network host` because rootless bridge networking needs slirp4netns and a
 * usable /dev/net/tun. vault-https keeps that network, user and data mount.
 */
function rootlessProblem(): string | undefined {
  if (!podman.ok) return podman.reason;
  for (const tool of ['newuidmap', 'setpriv', 'useradd']) {
    if (!(process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, tool)))) return `${tool} is missing (apt-get install -y uidmap)`;
  }
  return undefined;
}
const rootless = rootlessProblem();
if (rootless) console.warn(`[podman-managed-vault] SKIPPED the rootless case: ${rootless}`);

describe.skipIf(Boolean(rootless))('the managed Vault in a user\'s rootless Podman', () => {
  const user = `podvault-rl${process.pid % 100000}`;
  let uid = 0;
  let gid = 0;
  const home = `/home/${user}`;
  const asUser = (argv: string[], extra: string[] = []) =>
    execa('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, 'PATH=/usr/local/bin:/usr/bin:/bin', ...extra, ...argv], { cwd: home, reject: false, all: true });
  beforeAll(async () => {
    await execa('useradd', ['-m', user]);
    uid = Number((await execa('id', ['-u', user])).stdout);
    gid = Number((await execa('id', ['-g', user])).stdout);
    fs.mkdirSync(`/run/user/${uid}`, { recursive: true, mode: 0o700 });
    fs.chownSync(`/run/user/${uid}`, uid, gid);
    // The user's own image store: static busybox and a root entry (no registry here).
    const rootfs = path.join(home, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    fs.copyFileSync(fs.realpathSync('/usr/bin/busybox'), path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\n');
    await execa('chown', ['-R', `${uid}:${gid}`, rootfs]);
    await execa('tar', ['-C', rootfs, '-cf', path.join(home, 'rootfs.tar'), '.']);
    fs.chownSync(path.join(home, 'rootfs.tar'), uid, gid);
    const imported = await asUser(['podman', 'import', '-q', path.join(home, 'rootfs.tar'), 'localhost/podvault-rl']);
    expect(imported.exitCode, imported.all).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (!uid) return;
    await asUser(['podman', 'rm', '-f', '-t', '2', 'podvault-rl']);
    await asUser(['podman', 'system', 'reset', '-f']);
    // Rootless Podman leaves its pause process; stop the user's processes by PID, then the user.
    const pids = (await execa('ps', ['-o', 'pid=', '-u', String(uid)], { reject: false })).stdout.split('\n').map((p) => Number(p.trim())).filter((p) => p > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await execa('userdel', ['-r', user], { reject: false });
    fs.rmSync(`/run/user/${uid}`, { recursive: true, force: true });
  }, 60_000);

  it('vault-server --runtime podman --network host runs as container root = the user, vault-https moves it to TLS on the same data', async () => {
    const port = await freePortPair();
    const w = path.join(home, 'w');
    const pass = path.join(home, 'pass');
    fs.writeFileSync(pass, 'a long rootless passphrase\n', { mode: 0o600 });
    fs.chownSync(pass, uid, gid);
    const keys = path.join(w, 'keys.json');
    const cw = (args: string[], token?: string) => asUser([process.execPath, BIN, ...args], [`CERTWRIGHT_HOME=${path.join(w, 'home')}`, ...(token ? [`VAULT_TOKEN=${token}`] : [])]);
    const must = async (args: string[], token?: string) => {
      const r = await cw(args, token);
      expect(r.exitCode, `certwright ${args.join(' ')}\n${r.all}`).toBe(0);
      return r.all ?? '';
    };
    await must(['root', 'create', '--env', 'rl', '--out', path.join(w, 'root'), '--cn', 'RL Root', '--passphrase-file', pass]);
    const started = await must(['vault-server', '--env', 'rl', '--out', path.join(w, 'vault'), '--listen', `127.0.0.1:${port}`, '--keys-out', keys, '--key-shares', '1', '--key-threshold', '1', '--runtime', 'podman', '--network', 'host', '--image', 'localhost/podvault-rl', '--bao', BAO, '--name', 'podvault-rl']);
    expect(started).toContain(`Runs as           0:0 in ${user}'s rootless Podman = host ${uid}:${gid}`);
    for (const d of ['data', 'audit']) {
      const st = fs.statSync(path.join(w, 'vault', d));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([uid, gid, 0o700]);
    }
    // Vault wrote its raft storage as container root, which is the user on the host.
    expect(fs.statSync(path.join(w, 'vault', 'data', 'vault.db')).uid).toBe(uid);
    const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
    await must(['intermediate', '--env', 'rl', '--cn', 'RL Int', '--root-dir', path.join(w, 'root'), '--passphrase-file', pass], token);
    await must(['vault-cert', '--env', 'rl', '--out', path.join(w, 'tls')], token);
    const moved = await must(['vault-https', '--env', 'rl', '--tls-dir', path.join(w, 'tls'), '--key-file', keys], token);
    expect(moved).toContain('Container    podvault-rl (network host)');
    const inspected = await asUser(['podman', 'inspect', '--format', '{{.Config.User}} {{.HostConfig.NetworkMode}} {{range .Mounts}}{{.Destination}}={{.Source}} {{end}}', 'podvault-rl']);
    expect(inspected.stdout).toMatch(/^0:0 host /);
    expect(inspected.stdout).toContain(`/openbao/file=${path.join(w, 'vault', 'data')}`);
    const root = path.join(w, 'root', 'root-ca.pem');
    const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', root, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
    expect(s.exitCode, s.stderr).toBe(0);
    expect((await execa('curl', ['-sS', '--fail', '--cacert', root, `https://127.0.0.1:${port}/v1/pki_int/ca/pem`])).stdout).toMatch(/BEGIN CERTIFICATE/);
    expect((await execa('curl', ['-sS', `http://127.0.0.1:${port}/v1/sys/health`], { reject: false })).stdout).not.toMatch(/"initialized"/);
  }, 180_000);
});

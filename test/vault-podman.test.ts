import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, openssl, useOpenBao, vaultEnv, writePassphrase, modeOf, BAO } from './helpers/env.js';
import { freePort } from '../source/system/openbao.js';

/**
 * The same Vault over HTTPS, in a real Podman container started from the generated compose file:
 * a locally imported busybox image with the bao binary bind-mounted (no registry here), running as
 * uid 100:1000 — the owner certwright gave the TLS files and the data directory.
 */
function podmanProblem(): string | undefined {
  const run = (cmd: string, args: string[]): { code: number; out: string } => {
    try {
      return { code: 0, out: execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }) };
    } catch (error) {
      const e = error as { status?: number; stderr?: string; message: string };
      return { code: e.status ?? 127, out: e.stderr || e.message };
    }
  };
  const info = run('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}']);
  if (info.code !== 0) return `podman does not work here: ${info.out.trim().split('\n').at(-1)}`;
  if (run('busybox', ['true']).code !== 0) return 'busybox (busybox-static) is not installed';
  return undefined;
}

const why = podmanProblem();
if (why) console.warn(`[vault-podman] SKIPPED: the Podman container test cannot run: ${why}. Install podman, runc, podman-compose and busybox-static (scripts/install-tools.sh) and write /etc/containers/containers.conf (test-environment.md).`);

const IMAGE = `localhost/certwright-bao-test-${process.pid}`;
const NAME = `certwright-vault-test-${process.pid}`;
const bao = useOpenBao();

describe.skipIf(Boolean(why))('Vault over HTTPS in a Podman container', () => {
  let work: string;
  beforeAll(async () => {
    // A minimal root filesystem: static busybox, passwd/group with the uid the container runs as.
    work = tempDir('cw-podman-');
    const rootfs = path.join(work, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'usr/local/bin', 'openbao']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    fs.copyFileSync(fs.realpathSync('/usr/bin/busybox'), path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const c of ['sh', 'id', 'ls', 'cat']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', c));
    fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nopenbao:x:100:1000::/openbao:/bin/sh\n');
    fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nopenbao:x:1000:\n');
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    const file = path.join(work, 'rootfs.tar');
    await execa('tar', ['-C', rootfs, '-cf', file, '.']);
    await execa('podman', ['import', file, IMAGE]);
  }, 120_000);
  afterAll(async () => {
    await execa('podman', ['rm', '-f', '-t', '2', NAME], { reject: false });
    await execa('podman', ['rmi', '-f', IMAGE], { reject: false });
    // podman-compose made the project's network for the bridge-mode service
    await execa('podman', ['network', 'rm', 'certwright-pod_default'], { reject: false });
  }, 60_000);

  it('starts from the generated compose file as the files\' owner, answers over HTTPS, inits, unseals and rotates via SIGHUP', async () => {
    const dev = bao.server();
    const home = path.join(work, 'home');
    const rootDir = path.join(work, 'root');
    fs.mkdirSync(rootDir);
    const pass = writePassphrase(work);
    const env = vaultEnv(dev, home);
    expect((await cli(['root', 'create', '--env', 'pod', '--out', rootDir, '--cn', 'Pod Root', '--passphrase-file', pass], { env })).exitCode).toBe(0);
    expect((await cli(['intermediate', '--env', 'pod', '--mount', 'pki_int', '--cn', 'Pod Int', '--root-dir', rootDir, '--passphrase-file', pass], { env })).exitCode).toBe(0);
    // TLS files for the container user 100:1000: nothing in the container has to chown
    const tlsDir = path.join(work, 'tls');
    const cert = await cli(['vault-cert', '--env', 'pod', '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', tlsDir, '--owner', '100:1000'], { env });
    expect(cert.exitCode, cert.stderr).toBe(0);
    for (const f of ['server.key', 'server.crt', 'fullchain.pem', 'ca-chain.pem', '.']) {
      const st = fs.statSync(path.join(tlsDir, f));
      expect([st.uid, st.gid]).toEqual([100, 1000]);
    }
    expect(modeOf(path.join(tlsDir, 'server.key'))).toBe(0o600);
    // Render + start with the compose file (podman-compose when installed, else podman run)
    let port = await freePort();
    while (port > 65000) port = await freePort();
    const out = path.join(work, 'server');
    const start = await cli(['vault-https', '--env', 'pod', '--tls-dir', tlsDir, '--out', out, '--listen', `127.0.0.1:${port}`, '--image', IMAGE, '--bao-binary', BAO, '--name', NAME, '--start', '--wait', '60'], { env: { CERTWRIGHT_HOME: home } });
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/Started container .* with podman-compose/);
    expect(start.stderr).toMatch(/Vault answers over HTTPS at https:\/\/127\.0\.0\.1:\d+ \(TLSv1\.[23]; not initialised yet/);
    const compose = fs.readFileSync(path.join(out, 'compose.yaml'), 'utf8');
    expect(compose).toContain('user: "100:1000"');
    expect(compose).toContain(`"${tlsDir}:/openbao/tls:ro"`);
    expect(compose).toContain(`"${path.join(out, 'config')}:/openbao/config:ro"`);
    expect(compose).toContain('SKIP_CHOWN: "true"');
    expect(compose.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n')).not.toMatch(/keep-id|userns|cap_add|privileged/);
    const data = fs.statSync(path.join(out, 'data'));
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([100, 1000, 0o700]);
    // The container really runs as 100:1000, with TLS mounted read-only
    expect(compose).toContain(`"127.0.0.1:${port}:${port}"`);
    expect(fs.readFileSync(path.join(out, 'config', 'vault.hcl'), 'utf8')).toContain(`address         = "0.0.0.0:${port}"`);
    const inspect = await execa('podman', ['inspect', '--format', '{{.Config.User}} {{range .Mounts}}{{.Destination}}={{.RW}} {{end}}', NAME]);
    expect(inspect.stdout).toMatch(/^100:1000 /);
    expect(inspect.stdout).toContain('/openbao/tls=false');
    expect(inspect.stdout).toContain('/openbao/file=true');
    const id = await execa('podman', ['exec', NAME, '/bin/id', '-u']);
    expect(id.stdout.trim()).toBe('100');
    // vault-init without --keys-out: the keys appear once, on stdout; --unseal uses them right away
    const init = await cli(['vault-init', '--env', 'pod', '--key-shares', '1', '--key-threshold', '1', '--unseal'], { env: { CERTWRIGHT_HOME: home } });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout.match(/Unseal key \d: /g)).toHaveLength(1);
    const token = /Root token: (\S+)/.exec(init.stdout)![1]!;
    expect(init.stderr).not.toContain(token);
    expect(fs.readFileSync(path.join(home, 'envs', 'pod', 'state.json'), 'utf8')).not.toContain(token);
    expect(init.stderr).toMatch(/is unsealed/);
    // openssl, trusting only the root
    const caFile = path.join(rootDir, 'root-ca.pem');
    const s = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error', '-verify_ip', '127.0.0.1', '-showcerts'], 'Q\n');
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    // Rotation: --renew + SIGHUP to the container; the new leaf is on the wire, Vault stays unsealed
    const oldFp = new X509Certificate(fs.readFileSync(path.join(tlsDir, 'server.crt'))).fingerprint256;
    const rot = await cli(['vault-cert', '--env', 'pod', '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', tlsDir, '--renew', '--reload-container', NAME], { env });
    expect(rot.exitCode, rot.stderr).toBe(0);
    const newFp = new X509Certificate(fs.readFileSync(path.join(tlsDir, 'server.crt'))).fingerprint256;
    expect(newFp).not.toBe(oldFp);
    expect(fs.statSync(path.join(tlsDir, 'server.key')).uid).toBe(100); // --owner was remembered
    expect(rot.stderr).toContain(`now presents the new certificate (${newFp})`);
    const onWire = await new Promise<string>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(caFile), servername: 'localhost' }, () => {
        resolve(sock.getPeerX509Certificate()!.fingerprint256);
        sock.end();
      });
      sock.on('error', reject);
    });
    expect(onWire).toBe(newFp);
    const health = await fetchHealth(port, caFile);
    expect(health.sealed).toBe(false);
    // Re-running --start with nothing changed leaves the container alone
    const again = await cli(['vault-https', '--env', 'pod', '--tls-dir', tlsDir, '--out', out, '--listen', `127.0.0.1:${port}`, '--image', IMAGE, '--bao-binary', BAO, '--name', NAME, '--start'], { env: { CERTWRIGHT_HOME: home } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already runs with this configuration/);
  });

  it('refuses to start a container whose user cannot read the key, before anything starts', async () => {
    const dev = bao.server();
    const home = path.join(work, 'home2');
    const rootDir = path.join(work, 'root2');
    fs.mkdirSync(rootDir);
    const pass = writePassphrase(work, 'another long passphrase');
    const env = vaultEnv(dev, home);
    expect((await cli(['root', 'create', '--env', 'pod2', '--out', rootDir, '--cn', 'Pod2 Root', '--passphrase-file', pass], { env })).exitCode).toBe(0);
    expect((await cli(['intermediate', '--env', 'pod2', '--mount', 'pki_pod2', '--cn', 'Pod2 Int', '--root-dir', rootDir, '--passphrase-file', pass], { env })).exitCode).toBe(0);
    const tlsDir = path.join(work, 'tls2');
    expect((await cli(['vault-cert', '--env', 'pod2', '--mount', 'pki_pod2', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', tlsDir], { env })).exitCode).toBe(0);
    const out = path.join(work, 'server2');
    const r = await cli(['vault-https', '--env', 'pod2', '--tls-dir', tlsDir, '--out', out, '--listen', '127.0.0.1:8299', '--image', IMAGE, '--bao-binary', BAO, '--name', `${NAME}-2`, '--user', '100:1000', '--start'], { env: { CERTWRIGHT_HOME: home } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Vault, running as 100:1000, cannot read .*server\.key \(owner 0:0, mode 0600\)/);
    expect(r.stderr).toMatch(/Fix: Issue the files for that user: certwright vault-cert \.\.\. --owner 100:1000 --renew/);
    expect(fs.existsSync(out)).toBe(false);
    expect((await execa('podman', ['container', 'exists', `${NAME}-2`], { reject: false })).exitCode).toBe(1);
  });
});

async function fetchHealth(port: number, caFile: string): Promise<{ sealed: boolean }> {
  const { VaultClient } = await import('../source/vault/client.js');
  return new VaultClient({ addr: `https://127.0.0.1:${port}`, ca: fs.readFileSync(caFile, 'utf8') }).health();
}

/**
 * The whole pipeline from one estate file on one machine, against one real OpenBao that certwright
 * runs itself: `apply --file F --one-machine` builds the root, starts the environment's Vault,
 * installs the intermediate into it, issues Vault's certificate, moves that same server to HTTPS,
 * switches the AIA/CRL URLs and writes the agents. Judged independently: openssl s_client and curl
 * trusting only the root, the mount's URLs read back, a real `bao agent` rendering over HTTPS with
 * the hook swapping the leaf (openssl verifies it to the root), `status --json` exiting 0, and a
 * second apply that changes nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, BAO, BIN } from './helpers/env.js';
import { canUnshareNetwork, run as runMaybeOffline } from './helpers/offline.js';
import { freePortPair } from '../source/system/openbao.js';

const children: ChildProcess[] = [];
let serverPidFile: string | undefined;
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  if (serverPidFile && fs.existsSync(serverPidFile)) {
    try {
      process.kill(Number(fs.readFileSync(serverPidFile, 'utf8')), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
});

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      // Node's compile cache (HOME is the work dir here) is written by every certwright run, not by a step.
      if (e.name === '.cache') continue;
      if (p.includes(`${path.sep}data${path.sep}`) || /\.(log)$/.test(e.name) || e.name === 'vault.pid') continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function until(probe: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!probe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return probe();
}

function estateFile(work: string, port: number): string {
  const file = path.join(work, 'estate.yaml');
  fs.writeFileSync(
    file,
    [
      'environment: one',
      'root:         { dir: ./root, cn: "One Root CA", key_type: ec-p384, ttl: 10y, path_len: 1 }',
      `vault:        { listen: 127.0.0.1:${port}, data_dir: ./vault, runtime: process, key_shares: 1, key_threshold: 1 }`,
      'intermediate: { mount: pki_int, cn: "One Issuing CA", key_type: ec-p256 }',
      'vault_cert:   { role: vault-server, dns: [localhost], ip: [127.0.0.1], dir: ./vault-tls }',
      `urls:         { base: https://127.0.0.1:${port} }`,
      'agents:',
      '  - { kind: app,   name: web,  common_name: web.example.internal, ttl: 72h, tls_dir: ./web-tls, out: ./agent-web }',
      '  - { kind: proxy, name: edge, ca_out: ./edge/ca.pem, out: ./agent-edge }',
      '',
    ].join('\n'),
  );
  return file;
}

const NETNS = canUnshareNetwork();
if (!NETNS) console.warn('SKIPPED the air-gap split of apply --file: `unshare -n` does not work here (needs root or user namespaces).');

describe.skipIf(!NETNS)('apply --file split at the air gap (offline halves under unshare -n)', () => {
  it('offline root, online Vault + CSR, offline signing, online install to the end; then nothing to do on either side', async () => {
    const work = tempDir('cw-estate-gap-');
    const port = await freePortPair();
    const pass = writePassphrase(work);
    const file = estateFile(work, port);
    const keys = path.join(work, 'secrets', 'vault-keys.json');
    const online = { PATH: process.env.PATH ?? '', HOME: work, CERTWRIGHT_HOME: path.join(work, 'home-online'), NO_COLOR: '1' };
    const offline = { PATH: process.env.PATH ?? '', HOME: work, CERTWRIGHT_HOME: path.join(work, 'home-ceremony'), NO_COLOR: '1' };
    const apply = (env: Record<string, string>, isOffline: boolean, extra: string[]) => runMaybeOffline(['node', BIN, 'apply', '--file', file, '--yes', ...extra], { cwd: work, env, offline: isOffline });
    const stops: string[] = [];
    const expectStop = (r: { exitCode: number; stdout: string; stderr: string }, next: string) => {
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Air gap: the next step, ${next}`);
      stops.push(next);
    };
    try {
      // 1. The ceremony machine (no network at all): the root. It stops before the Vault.
      expectStop(await apply(offline, true, ['--offline', '--passphrase-file', pass]), 'vault-server');
      expect(fs.existsSync(path.join(work, 'root', 'root-ca.key'))).toBe(true);
      // 2. The online machine: its own Vault and the CSR made inside it. It stops before signing.
      expectStop(await apply(online, false, ['--keys-out', keys]), 'intermediate-sign');
      // 3. The ceremony machine again: the root signs the CSR.
      expectStop(await apply(offline, true, ['--offline', '--passphrase-file', pass]), 'intermediate-install');
      // 4. The online machine: install, Vault's certificate, HTTPS, the URL switch, the agents.
      const last = await apply(online, false, ['--keys-out', keys]);
      expect(last.exitCode, `${last.stdout}\n${last.stderr}`).toBe(0);
      expect(last.stdout).toMatch(/every step of .* is done/);
      const root = path.join(work, 'root', 'root-ca.pem');
      const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', root, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
      expect(s.exitCode, s.stderr).toBe(0);
      // Nothing to do on the online side; the ceremony side has nothing of its own left either.
      expect((await apply(online, false, ['--keys-out', keys])).stdout).toContain('Nothing to do');
      const again = await apply(offline, true, ['--offline', '--passphrase-file', pass]);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/Applied [1-9]/);
      expect(stops).toEqual(['vault-server', 'intermediate-sign', 'intermediate-install']);
    } finally {
      const pidFile = path.join(work, 'vault', 'vault.pid');
      if (fs.existsSync(pidFile)) {
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
  }, 300_000);
});

describe('apply --file --one-machine, one Vault from the root ceremony to a green status', () => {
  it('builds the estate, serves it over HTTPS, renders leaves through a real agent, and a second apply changes nothing', async () => {
    const work = tempDir('cw-estate-one-');
    const port = await freePortPair();
    const pass = writePassphrase(work);
    const file = estateFile(work, port);
    serverPidFile = path.join(work, 'vault', 'vault.pid');
    const home = path.join(work, 'home');
    const keys = path.join(work, 'secrets', 'vault-keys.json');
    const env = { CERTWRIGHT_HOME: home };
    const args = ['apply', '--file', file, '--one-machine', '--passphrase-file', pass, '--keys-out', keys, '--yes'];
    const first = await cli(args, { env, cwd: work });
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(fs.statSync(keys).mode & 0o777).toBe(0o600);
    const addr = `https://127.0.0.1:${port}`;
    const root = path.join(work, 'root', 'root-ca.pem');
    const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;

    // openssl and curl reach that server over HTTPS, trusting only the root.
    const s = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', root, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
    expect(s.exitCode, s.stderr).toBe(0);
    const urls = await execa('curl', ['-sS', '--fail', '--cacert', root, '-H', `X-Vault-Token: ${token}`, `${addr}/v1/pki_int/config/urls`]);
    expect(JSON.parse(urls.stdout).data).toMatchObject({ issuing_certificates: [`${addr}/v1/pki_int/ca`], crl_distribution_points: [`${addr}/v1/pki_int/crl`] });

    // Real agents over HTTPS: the app's leaf is rendered and swapped in by the hook; the proxy's chain written.
    for (const name of ['agent-web', 'agent-edge']) {
      const hcl = path.join(work, name, 'agent.hcl');
      expect(fs.readFileSync(hcl, 'utf8')).toContain(`address = "${addr}"`);
      const log = fs.openSync(path.join(work, `${name}.log`), 'a');
      // CERTWRIGHT_PODMAN names no binary: the hook would otherwise reload other test files' tls=true containers.
      children.push(spawn(BAO, ['agent', `-config=${hcl}`], { stdio: ['ignore', log, log], env: { PATH: process.env.PATH, HOME: work, CERTWRIGHT_PODMAN: path.join(work, 'no-podman') } }));
    }
    const leafFile = path.join(work, 'web-tls', 'current', 'cert.pem');
    expect(await until(() => fs.existsSync(leafFile) && fs.existsSync(path.join(work, 'edge', 'ca.pem')), 60_000), fs.readFileSync(path.join(work, 'agent-web.log'), 'utf8').slice(-1500)).toBe(true);
    const v = await execa('openssl', ['verify', '-CAfile', root, '-untrusted', path.join(work, 'web-tls', 'current', 'chain.pem'), leafFile], { reject: false });
    expect(v.stdout).toMatch(/OK$/);

    // Other test files run tls=true containers at the same time; this estate has none of its own.
    const status = await cli(['status', '--env', 'one', '--json', '--select', `cw-none=${process.pid}`], { env: { ...env, VAULT_TOKEN: token } });
    const json = JSON.parse(status.stdout);
    expect(json.problems).toEqual([]);
    expect(status.exitCode).toBe(0);

    // A second apply changes nothing: no step runs, no file changes.
    const before = hashes(work);
    const second = await cli(args, { env, cwd: work });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain('Nothing to do');
    expect(hashes(work)).toEqual(before);
  }, 300_000);

  it('SIGKILL of apply at the managed Vault\'s delicate points (server just started, keys written, HTTP stopped before TLS, on TLS before vault-https records it, mid URL switch), then apply again converges', async () => {
    const work = tempDir('cw-estate-kill-');
    const port = await freePortPair();
    const pass = writePassphrase(work);
    const file = estateFile(work, port);
    const pidFile = path.join(work, 'vault', 'vault.pid');
    const home = path.join(work, 'home');
    const keys = path.join(work, 'secrets', 'vault-keys.json');
    const args = [BIN, 'apply', '--file', file, '--one-machine', '--passphrase-file', pass, '--keys-out', keys, '--yes'];
    const env = { PATH: process.env.PATH, HOME: work, CI: 'true', CERTWRIGHT_HOME: home, CERTWRIGHT_PODMAN: path.join(work, 'no-podman') };
    const signals: Array<string | null> = [];
    try {
      // Each run is killed as soon as it says it reached the point; the server it runs is detached and lives on.
      for (const marker of ['Started bao server', 'Unseal keys and root token written', 'Stopped PID', 'Vault answers over HTTPS at', '] switch-urls\n']) {
        const child = spawn(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let seen = '';
        await new Promise<void>((resolve) => {
          child.stderr!.on('data', (d: Buffer) => {
            seen += d.toString();
            if (seen.includes(marker) && child.exitCode === null) child.kill('SIGKILL');
          });
          child.on('exit', (code, signal) => {
            signals.push(signal ?? `exit ${code}: ${seen.slice(-1500)}`);
            resolve();
          });
        });
      }
      expect(signals).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL']);
      const last = await execa(process.execPath, args, { cwd: work, env, extendEnv: false, reject: false, all: true });
      expect(last.exitCode, last.all).toBe(0);
      const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
      const root = path.join(work, 'root', 'root-ca.pem');
      const addr = `https://127.0.0.1:${port}`;
      const get = async (p: string, method = 'GET') => JSON.parse((await execa('curl', ['-sS', '--fail', '-X', method, '--cacert', root, '-H', `X-Vault-Token: ${token}`, `${addr}/v1/${p}`])).stdout).data;
      // One key, one default issuer, the HTTPS URLs, the loopback HTTP listener gone, the transcript whole.
      expect((await get('pki_int/keys', 'LIST')).keys).toHaveLength(1);
      const issuers = (await get('pki_int/issuers', 'LIST')).key_info as Record<string, unknown>;
      expect(Object.keys(issuers)).toHaveLength(2);
      expect((await get('pki_int/config/urls')).issuing_certificates).toEqual([`${addr}/v1/pki_int/ca`]);
      const plain = await execa('curl', ['-sS', `http://127.0.0.1:${port}/v1/sys/health`], { reject: false });
      expect(plain.stdout).not.toMatch(/"initialized"/);
      const transcript = await cli(['transcript', 'verify', '--env', 'one'], { env: { CERTWRIGHT_HOME: home } });
      expect(transcript.exitCode, transcript.stderr).toBe(0);
      const again = await execa(process.execPath, args, { cwd: work, env, extendEnv: false, reject: false, all: true });
      expect(again.all).toContain('Nothing to do');
    } finally {
      if (fs.existsSync(pidFile)) {
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
  }, 300_000);
});

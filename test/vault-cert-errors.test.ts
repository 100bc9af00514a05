import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, listing, modeOf, useOpenBao, vaultEnv, writePassphrase, alive } from './helpers/env.js';
import { freePort } from '../source/system/openbao.js';

// The environment's PKI on a dev server; each test writes into its own directories.
const bao = useOpenBao();
let home: string;
let rootDir: string;
const started: number[] = [];

beforeAll(async () => {
  const work = tempDir('cw-errors-');
  home = path.join(work, 'home');
  rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  const env = vaultEnv(bao.server(), home);
  expect((await cli(['root', 'create', '--env', 'e', '--out', rootDir, '--cn', 'E Root', '--passphrase-file', pass], { env })).exitCode).toBe(0);
  const inter = await cli(['intermediate', '--env', 'e', '--mount', 'pki_int', '--cn', 'E Int', '--root-dir', rootDir, '--passphrase-file', pass], { env });
  expect(inter.exitCode, inter.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  // bao servers started by `vault-https --start --runtime process`, stopped by their PID
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

const env = () => vaultEnv(bao.server(), home);
const issue = (out: string, extra: string[] = []) => cli(['vault-cert', '--env', 'e', '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', out, ...extra], { env: env() });

describe('vault-cert and vault-https refuse bad input, leaving nothing half-written', () => {
  it('refuses a key with a wrong mode or owner (nothing changes), and --renew writes it right', async () => {
    const out = path.join(tempDir(), 'tls');
    const first = await issue(out, ['--owner', '100:1000']);
    expect(first.exitCode, first.stderr).toBe(0);
    const key = path.join(out, 'server.key');
    const stateFile = path.join(home, 'envs', 'e', 'state.json');
    // Mode 0644: readable by everyone
    fs.chmodSync(key, 0o644);
    let before = listing(out);
    let stateBefore = fs.readFileSync(stateFile, 'utf8');
    const loose = await issue(out);
    expect(loose.exitCode).toBe(1);
    expect(loose.stderr).toMatch(/server\.key is readable by others \(owner 100:1000, mode 0644\); a server key must be 0600\. Nothing was changed\./);
    expect(loose.stderr).toMatch(/Fix: Re-issue with fresh files owned by the Vault user: certwright vault-cert \.\.\. --owner 100:1000 --renew/);
    expect(listing(out)).toEqual(before);
    expect(fs.readFileSync(stateFile, 'utf8')).toBe(stateBefore);
    // vault-https refuses it too, before writing anything
    const server = path.join(tempDir(), 'server');
    const https = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server], { env: { CERTWRIGHT_HOME: home } });
    expect(https.exitCode).toBe(1);
    expect(https.stderr).toMatch(/server\.key is readable by others[\s\S]*Fix: chmod 600/);
    expect(fs.existsSync(server)).toBe(false);
    // Owner 0:0 while the Vault user (recorded from --owner) is 100:1000
    fs.chmodSync(key, 0o600);
    fs.chownSync(key, 0, 0);
    before = listing(out);
    stateBefore = fs.readFileSync(stateFile, 'utf8');
    const owned = await issue(out);
    expect(owned.exitCode).toBe(1);
    expect(owned.stderr).toMatch(/belongs to 0:0, not to the Vault user 100:1000/);
    expect(listing(out)).toEqual(before);
    expect(fs.readFileSync(stateFile, 'utf8')).toBe(stateBefore);
    const https2 = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--user', '100:1000'], { env: { CERTWRIGHT_HOME: home } });
    expect(https2.stderr).toMatch(/Vault, running as 100:1000, cannot read .*server\.key \(owner 0:0, mode 0600\)/);
    // --renew: a fresh key, 0600, owned by the Vault user; no temp files left behind
    const renewed = await issue(out, ['--renew']);
    expect(renewed.exitCode, renewed.stderr).toBe(0);
    expect(modeOf(key)).toBe(0o600);
    expect([fs.statSync(key).uid, fs.statSync(key).gid]).toEqual([100, 1000]);
    expect(fs.readdirSync(out).sort()).toEqual(['ca-chain.pem', 'fullchain.pem', 'server.crt', 'server.key']);
  });

  it('rejects bad names, owners and reload targets before issuing anything', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'tls');
    const cases: Array<[string[], number, RegExp]> = [
      [['--dns', 'bad_name!'], 2, /--dns "bad_name!" is not a host name/],
      [['--ip', '999.1.1.1'], 2, /--ip "999.1.1.1" is not an IP address/],
      [['--owner', 'vault'], 2, /--owner "vault" is not UID:GID/],
      [['--ttl', 'soon'], 2, /--ttl "soon" is not a duration/],
      [['--reload-pid', '999999'], 1, /There is no process with PID 999999 to reload/],
      [['--reload-pid', String(process.pid)], 1, new RegExp(`PID ${process.pid} is not a Vault server`)],
      [['--reload-pid', '1', '--reload-container', 'x'], 2, /pass one/],
    ];
    for (const [extra, code, message] of cases) {
      const base = ['vault-cert', '--env', 'e', '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--out', out];
      // later flags win for single-value options, so a bad --dns replaces the good one
      const r = await cli([...base, ...extra], { env: env() });
      expect(r.exitCode, `${extra.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Fix: /);
    }
    expect(fs.existsSync(out)).toBe(false);
    const noMount = await cli(['vault-cert', '--env', 'e', '--mount', 'pki_nowhere', '--role', 'r', '--dns', 'localhost', '--out', out], { env: env() });
    expect(noMount.stderr).toMatch(/There is no PKI mount at pki_nowhere\//);
    const down = await cli(['vault-cert', '--env', 'e', '--mount', 'pki_int', '--role', 'r', '--dns', 'localhost', '--out', out], { env: { ...env(), VAULT_ADDR: `http://127.0.0.1:${await freePort()}` } });
    expect(down.exitCode).toBe(3);
    expect(down.stderr).toMatch(/Cannot reach Vault at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('vault-https refuses an address the certificate does not name, and a port in use, writing nothing', async () => {
    const out = path.join(tempDir(), 'tls');
    expect((await issue(out)).exitCode).toBe(0);
    const server = path.join(tempDir(), 'server');
    const port = await freePort();
    const names = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', `127.0.0.2:${port}`], { env: { CERTWRIGHT_HOME: home } });
    expect(names.exitCode).toBe(1);
    expect(names.stderr).toMatch(/Clients will reach Vault at https:\/\/127\.0\.0\.2:\d+, but its certificate names only DNS:localhost, IP Address:127\.0\.0\.1/);
    expect(names.stderr).toMatch(/Fix: Re-issue with that name: certwright vault-cert \.\.\. --ip 127\.0\.0\.2 --renew/);
    const apiName = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--api-addr', 'https://vault.example:8200'], { env: { CERTWRIGHT_HOME: home } });
    expect(apiName.stderr).toMatch(/--dns vault\.example --renew/);
    expect(fs.existsSync(server)).toBe(false);
    // A port somebody else holds: named, with the holder's PID
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', () => resolve()));
    try {
      const busy = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', `127.0.0.1:${port}`, '--start', '--runtime', 'process'], { env: { CERTWRIGHT_HOME: home } });
      expect(busy.exitCode).toBe(1);
      expect(busy.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use by PID ${process.pid}`));
      expect(busy.stderr).toMatch(/Fix: Stop what listens there, or pass another --listen/);
      expect(fs.existsSync(server)).toBe(false);
    } finally {
      holder.close();
    }
    // OpenBao 2.7 has no file storage: refused up front, with the alternative
    const fileStorage = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', `127.0.0.1:${port}`, '--storage', 'file', '--runtime', 'process'], { env: { CERTWRIGHT_HOME: home } });
    expect(fileStorage.exitCode).toBe(1);
    expect(fileStorage.stderr).toMatch(/OpenBao 2\.7\.\d+ .* has no file storage backend \(removed in OpenBao 2\.7\)\.\nFix: Use --storage raft/);
    expect(fs.existsSync(server)).toBe(false);
    const badListen = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', '127.0.0.1'], { env: { CERTWRIGHT_HOME: home } });
    expect(badListen.exitCode).toBe(2);
    expect(badListen.stderr).toMatch(/--listen "127.0.0.1" is not HOST:PORT/);
    const noTls = await cli(['vault-https', '--env', 'e', '--tls-dir', tempDir(), '--out', server], { env: { CERTWRIGHT_HOME: home } });
    expect(noTls.stderr).toMatch(/server\.key does not exist[\s\S]*Fix: Write the server certificate first: certwright vault-cert/);
  });

  it('--start --runtime process runs bao over HTTPS; vault-init shows the keys exactly once; the printed shares unseal it', async () => {
    const out = path.join(tempDir(), 'tls');
    expect((await issue(out)).exitCode).toBe(0);
    const server = path.join(tempDir(), 'server');
    let port = await freePort();
    while (port > 65000) port = await freePort();
    const start = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', `127.0.0.1:${port}`, '--start', '--runtime', 'process'], { env: { CERTWRIGHT_HOME: home } });
    const pidFile = path.join(server, 'vault.pid');
    if (fs.existsSync(pidFile)) started.push(Number(fs.readFileSync(pidFile, 'utf8')));
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/Started bao server \(PID \d+/);
    expect(start.stderr).toMatch(/Vault answers over HTTPS at https:\/\/127\.0\.0\.1:\d+ \(TLSv1\.3; not initialised yet/);
    const state = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'e', 'state.json'), 'utf8'));
    expect(state.vault).toEqual({ addr: `https://127.0.0.1:${port}`, caFile: path.join(rootDir, 'root-ca.pem') });
    // Init without --keys-out: the shares and token are printed once, on stdout only
    const init = await cli(['vault-init', '--env', 'e', '--key-shares', '3', '--key-threshold', '2'], { env: { CERTWRIGHT_HOME: home } });
    expect(init.exitCode, init.stderr).toBe(0);
    const shares = [...init.stdout.matchAll(/Unseal key \d: (\S+)/g)].map((m) => m[1]!);
    const token = /Root token: (\S+)/.exec(init.stdout)![1]!;
    expect(shares).toHaveLength(3);
    expect(init.stdout).toMatch(/shown this once and stored nowhere/);
    for (const secret of [token, ...shares]) {
      expect(init.stderr).not.toContain(secret);
      for (const f of ['state.json', 'transcript.jsonl']) expect(fs.readFileSync(path.join(home, 'envs', 'e', f), 'utf8')).not.toContain(secret);
    }
    const again = await cli(['vault-init', '--env', 'e'], { env: { CERTWRIGHT_HOME: home } });
    expect(again.stdout).toMatch(/already initialised/);
    expect(again.stdout).not.toMatch(/Unseal key/);
    // A share that belongs to no Vault is rejected by name; then two printed shares unseal it
    const work = tempDir();
    const wrong = path.join(work, 'wrong');
    fs.writeFileSync(wrong, `${Buffer.alloc(33, 7).toString('base64')}\n`, { mode: 0o600 });
    const bad = await cli(['vault-unseal', '--env', 'e', '--key-file', wrong], { env: { CERTWRIGHT_HOME: home } });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toMatch(/still sealed: 1 of 2 key shares given/);
    const file = path.join(work, 'shares');
    fs.writeFileSync(file, `${shares[0]}\n${shares[2]}\n`, { mode: 0o600 });
    // The wrong share still counts in this round: Vault rejects the round, and says why
    const poisoned = await cli(['vault-unseal', '--env', 'e', '--key-file', file], { env: { CERTWRIGHT_HOME: home } });
    expect(poisoned.exitCode).toBe(1);
    expect(poisoned.stderr).toMatch(/1 of 2 share\(s\) were given earlier[\s\S]*--reset/);
    expect(poisoned.stderr).toMatch(/Vault rejected the unseal key shares of this round/);
    await cli(['vault-unseal', '--env', 'e', '--key-file', wrong], { env: { CERTWRIGHT_HOME: home } });
    const unseal = await cli(['vault-unseal', '--env', 'e', '--key-file', file, '--reset'], { env: { CERTWRIGHT_HOME: home } });
    expect(unseal.exitCode, unseal.stderr).toBe(0);
    expect(unseal.stderr).toMatch(/Discarded the 1 share\(s\) given earlier/);
    // --start again: already running with this configuration, nothing restarted
    const twice = await cli(['vault-https', '--env', 'e', '--tls-dir', out, '--out', server, '--listen', `127.0.0.1:${port}`, '--start', '--runtime', 'process'], { env: { CERTWRIGHT_HOME: home } });
    expect(twice.exitCode, twice.stderr).toBe(0);
    expect(twice.stderr).toMatch(/already runs with this configuration/);
    expect(twice.stderr).toMatch(/unsealed/);
  });
});


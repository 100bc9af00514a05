import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli, tempDir, openssl, writePassphrase, listing, useOpenBao, uniqueMount, vaultEnv, bao, BIN, ROOT } from './helpers/env.js';
import { VaultClient } from '../source/vault/client.js';

const vault = useOpenBao();

interface Ceremony {
  work: string;
  home: string;
  rootDir: string;
  pass: string;
  env: Record<string, string>;
}

async function ceremony(keyType = 'ec-p384', pathLen = '1'): Promise<Ceremony> {
  const work = tempDir();
  const home = path.join(work, 'home');
  const rootDir = path.join(work, 'offline-root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  const env = vaultEnv(vault.server(), home);
  const root = await cli(['root', 'create', '--env', 'test', '--out', rootDir, '--cn', 'Test Root CA', '--key-type', keyType, '--path-len', pathLen, '--passphrase-file', pass], { env });
  expect(root.exitCode, root.stderr).toBe(0);
  return { work, home, rootDir, pass, env };
}

async function keysAndIssuers(mount: string): Promise<{ keys: number; issuers: number }> {
  const list = async (p: string) => {
    try {
      return JSON.parse(await bao(vault.server(), ['list', '-format=json', p])).length as number;
    } catch {
      return 0;
    }
  };
  return { keys: await list(`${mount}/keys`), issuers: await list(`${mount}/issuers`) };
}

/** Issues a leaf from the mount and checks it with openssl against the offline root. */
async function issueAndVerifyLeaf(c: Ceremony, mount: string): Promise<void> {
  const s = vault.server();
  await bao(s, ['write', `${mount}/roles/web`, 'allowed_domains=example.test', 'allow_subdomains=true', 'max_ttl=24h', 'key_type=ec', 'key_bits=256']);
  const issued = JSON.parse(await bao(s, ['write', '-format=json', `${mount}/issue/web`, 'common_name=www.example.test', 'ttl=1h'])).data;
  const leaf = path.join(c.work, `${mount}-leaf.pem`);
  const chain = path.join(c.work, `${mount}-chain.pem`);
  fs.writeFileSync(leaf, `${issued.certificate}\n`);
  fs.writeFileSync(chain, `${issued.ca_chain.join('\n')}\n`);
  // Vault's chain includes the root, because install imported it next to the intermediate.
  expect(issued.ca_chain).toHaveLength(2);
  const verify = await openssl(['verify', '-CAfile', path.join(c.rootDir, 'root-ca.pem'), '-untrusted', chain, leaf]);
  expect(verify.stdout + verify.stderr).toMatch(/OK/);
  expect(verify.exitCode).toBe(0);
}

describe('intermediate: air-gap split (request / sign / install)', () => {
  it('produces an intermediate that openssl verifies, with the key type and pathlen asked for', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const csr = path.join(c.work, 'int.csr');
    const cert = path.join(c.work, 'int.pem');
    const tlsDir = path.join(c.work, 'vault-tls');
    fs.mkdirSync(tlsDir);

    // Online: request
    const req = await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'Test Intermediate', '--key-type', 'ec-p384', '--csr-out', csr], { env: c.env });
    expect(req.exitCode, req.stderr).toBe(0);
    expect((await openssl(['req', '-in', csr, '-noout', '-verify'])).stderr + (await openssl(['req', '-in', csr, '-noout', '-verify'])).stdout).toMatch(/verify OK/i);
    // The mount was tuned before the key was made: max TTL 5y, not Vault's silent 32 days
    const tune = JSON.parse(await bao(vault.server(), ['read', '-format=json', `sys/mounts/${mount}/tune`])).data;
    expect(tune.max_lease_ttl).toBe(43800 * 3600);

    // Offline: sign, with no Vault in the environment at all
    const sign = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', csr, '--out', cert, '--ttl', '3y'], { env: { CERTWRIGHT_HOME: c.home } });
    expect(sign.exitCode, sign.stderr).toBe(0);
    expect(sign.stderr).toMatch(/Subject\s+CN=Test Intermediate/);
    expect(sign.stderr).toMatch(/Key\s+EC P-384/);

    // Online: install
    const inst = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', cert, '--root', path.join(c.rootDir, 'root-ca.pem'), '--aia-base', 'http://vault.example.test:8200', '--vault-tls-dir', tlsDir], { env: c.env });
    expect(inst.exitCode, inst.stderr).toBe(0);

    // openssl, independently: chain, key type, pathlen, validity inside the root's
    const rootPem = path.join(c.rootDir, 'root-ca.pem');
    expect((await openssl(['verify', '-CAfile', rootPem, cert])).exitCode).toBe(0);
    const text = (await openssl(['x509', '-in', cert, '-noout', '-text'])).stdout;
    expect(text).toMatch(/ASN1 OID: secp384r1/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    const end = new Date((await openssl(['x509', '-in', cert, '-noout', '-enddate'])).stdout.split('=')[1]!);
    const rootEnd = new Date((await openssl(['x509', '-in', rootPem, '-noout', '-enddate'])).stdout.split('=')[1]!);
    expect(end.getTime()).toBeLessThan(rootEnd.getTime());
    expect(end.getUTCFullYear()).toBe(new Date().getUTCFullYear() + 3);
    // Vault: the signed intermediate is the default issuer, with its key; URLs set; root copied
    const defaults = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/config/issuers`])).data;
    const issuer = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/issuer/${defaults.default}`])).data;
    expect(issuer.key_id).not.toBe('');
    expect(issuer.certificate.trim()).toBe(fs.readFileSync(cert, 'utf8').trim());
    const urls = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/config/urls`])).data;
    expect(urls.issuing_certificates).toEqual([`http://vault.example.test:8200/v1/${mount}/ca`]);
    expect(urls.crl_distribution_points).toEqual([`http://vault.example.test:8200/v1/${mount}/crl`]);
    expect(fs.readFileSync(path.join(tlsDir, 'root-ca.pem'), 'utf8')).toBe(fs.readFileSync(rootPem, 'utf8'));
    expect(fs.statSync(path.join(tlsDir, 'root-ca.pem')).mode & 0o777).toBe(0o644);
    await issueAndVerifyLeaf(c, mount);

    // Transcript: root-create then intermediate-sign, chained
    const transcript = await cli(['transcript', 'verify', '--env', 'test'], { env: { CERTWRIGHT_HOME: c.home } });
    expect(transcript.stdout).toMatch(/2 entries, hash chain intact/);
  });

  it('is idempotent: repeating each step adds no key and no issuer', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const csr = path.join(c.work, 'int.csr');
    const cert = path.join(c.work, 'int.pem');
    const rootPem = path.join(c.rootDir, 'root-ca.pem');
    expect((await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'I', '--csr-out', csr], { env: c.env })).exitCode).toBe(0);
    const again = await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'I', '--csr-out', csr], { env: c.env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/pending key reused/);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 0 });
    expect((await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', csr, '--out', cert], { env: { CERTWRIGHT_HOME: c.home } })).exitCode).toBe(0);
    const certBefore = fs.readFileSync(cert, 'utf8');
    const signAgain = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', csr, '--out', cert], { env: { CERTWRIGHT_HOME: c.home } });
    expect(signAgain.exitCode).toBe(0);
    expect(signAgain.stdout).toMatch(/already signed/);
    expect(fs.readFileSync(cert, 'utf8')).toBe(certBefore);
    for (let i = 0; i < 2; i += 1) {
      const inst = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', cert, '--root', rootPem], { env: c.env });
      expect(inst.exitCode, inst.stderr).toBe(0);
      expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 2 });
    }
    const dry = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', cert, '--root', rootPem, '--dry-run'], { env: c.env });
    expect(dry.stderr).toMatch(/Nothing to do/);
    // The one-machine flow on an installed mount changes nothing either
    const oneGo = await cli(['intermediate', '--env', 'test', '--mount', mount, '--cn', 'I', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
    expect(oneGo.exitCode, oneGo.stderr).toBe(0);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 2 });
  });

  it('one-machine flow supports RSA keys and a pathlen-1 intermediate with name constraints', async () => {
    const c = await ceremony('rsa-3072', '2');
    const mount = uniqueMount();
    const run = await cli(['intermediate', '--env', 'test', '--mount', mount, '--cn', 'RSA Int', '--key-type', 'rsa-2048', '--path-len', '1', '--permitted-dns', 'example.test', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
    expect(run.exitCode, run.stderr).toBe(0);
    const cert = path.join(c.home, 'envs', 'test', 'artefacts', `${mount}-intermediate.pem`);
    const text = (await openssl(['x509', '-in', cert, '-noout', '-text'])).stdout;
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toMatch(/sha256WithRSAEncryption/);
    expect(text).toMatch(/CA:TRUE, pathlen:1/);
    expect(text).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+DNS:example.test/);
    await issueAndVerifyLeaf(c, mount);
  });
});

describe('intermediate: kill and resume', () => {
  it('a run killed between request and install resumes with the same key', async () => {
    const c = await ceremony();
    let attempt = 0;
    let killedBetween = false;
    let mount = '';
    // The window between "request recorded" and "install recorded" is the root key's PBKDF2 plus
    // signing plus a few Vault calls; poll the state file and SIGKILL inside it (retry if missed).
    while (!killedBetween && attempt < 4) {
      attempt += 1;
      mount = uniqueMount();
      const child = spawn('node', [BIN, 'intermediate', '--env', 'test', '--mount', mount, '--cn', 'Killed Int', '--root-dir', c.rootDir, '--passphrase-file', c.pass], {
        env: { ...process.env, ...c.env, CI: 'true' },
        stdio: 'ignore',
        cwd: ROOT,
      });
      const stateFile = path.join(c.home, 'envs', 'test', 'state.json');
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && child.exitCode === null) {
        try {
          const steps = JSON.parse(fs.readFileSync(stateFile, 'utf8')).steps;
          if (steps[`intermediate-request@${mount}`]?.status === 'done') {
            child.kill('SIGKILL');
            killedBetween = !steps[`intermediate-install@${mount}`];
            break;
          }
        } catch {
          /* being replaced: read again */
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await exited;
      const after = JSON.parse(fs.readFileSync(stateFile, 'utf8')).steps;
      if (after[`intermediate-install@${mount}`]) killedBetween = false;
    }
    expect(killedBetween, 'could not kill the run inside the window').toBe(true);
    // The killed run left its lock behind (dead PID) and one key in Vault, no issuer yet.
    expect(fs.existsSync(path.join(c.home, 'envs', 'test', 'lock'))).toBe(true);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 0 });
    // Resume: the stale lock is recovered, the pending key is reused, the install completes.
    const resumed = await cli(['intermediate', '--env', 'test', '--mount', mount, '--cn', 'Killed Int', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/Recovered the lock of a run that died/);
    expect(resumed.stderr).toMatch(/Re-verified \d+ check/);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 2 });
    await issueAndVerifyLeaf(c, mount);
  });

  it('a request split from install survives a restart of the CSR file: the key is reused', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const csr = path.join(c.work, 'pending.csr');
    expect((await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'P', '--csr-out', csr], { env: c.env })).exitCode).toBe(0);
    fs.rmSync(csr);
    const again = await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'P', '--csr-out', csr], { env: c.env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 0 });
    expect(fs.existsSync(csr)).toBe(true);
  });

  it('refuses a second concurrent run, naming the holder PID', async () => {
    const c = await ceremony();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const lock = path.join(c.home, 'envs', 'test', 'lock');
      fs.writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, host: (await import('node:os')).hostname(), command: 'intermediate', since: new Date().toISOString() }));
      const stateBefore = fs.readFileSync(path.join(c.home, 'envs', 'test', 'state.json'), 'utf8');
      const blocked = await cli(['intermediate', '--env', 'test', '--mount', uniqueMount(), '--cn', 'X', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
      expect(blocked.exitCode).toBe(5);
      expect(blocked.stderr).toContain(`PID ${sleeper.pid}`);
      expect(fs.readFileSync(path.join(c.home, 'envs', 'test', 'state.json'), 'utf8')).toBe(stateBefore);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('reports drift of a completed step instead of papering over it', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    expect((await cli(['intermediate', '--env', 'test', '--mount', mount, '--cn', 'D', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env })).exitCode).toBe(0);
    // Someone replaces the public root file after the ceremony
    const rootPem = path.join(c.rootDir, 'root-ca.pem');
    fs.appendFileSync(rootPem, '\n');
    const again = await cli(['intermediate', '--env', 'test', '--mount', mount, '--cn', 'D', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toMatch(/root-certificate unchanged: .*changed since the ceremony/);
    // A changed root is restored, never redone.
    expect(again.stderr).toMatch(/Restore root-ca.key and root-ca.pem from the ceremony backup/);
  });

  it('a wiped Vault is drift with the way out: state forget, then the step runs again', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const args = ['intermediate', '--env', 'test', '--mount', mount, '--cn', 'W', '--root-dir', c.rootDir, '--passphrase-file', c.pass];
    expect((await cli(args, { env: c.env })).exitCode).toBe(0);
    // The mount is gone (a wiped or restored Vault); the state still says installed.
    await new VaultClient({ addr: vault.server().addr, token: vault.server().token }).request('DELETE', `sys/mounts/${mount}`);
    const drift = await cli(args, { env: c.env });
    expect(drift.exitCode).toBe(4);
    const fix = /Fix: (.*)/s.exec(drift.stderr)![1]!;
    expect(fix).toContain('certwright state show --env test');
    const forgets = [...fix.matchAll(/certwright state forget --env test --record (\S+?)(?=[ ,])/g)].map((m) => m[1]!);
    expect(forgets).toEqual([`intermediate-install@${mount}`, `intermediate-request@${mount}`]);
    // The fix, as written: a dry run first changes nothing, then each forget.
    expect((await cli(['state', 'forget', '--env', 'test', '--record', forgets[0]!, '--dry-run'], { env: c.env })).stderr).toContain('Dry run: nothing was changed.');
    for (const record of forgets) expect((await cli(['state', 'forget', '--env', 'test', '--record', record], { env: c.env })).exitCode).toBe(0);
    const redone = await cli(args, { env: c.env });
    expect(redone.exitCode, redone.stderr).toBe(0);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 2 });
    const transcript = fs.readFileSync(path.join(c.home, 'envs', 'test', 'transcript.jsonl'), 'utf8');
    expect(transcript.match(/"action":"state-forget"/g)).toHaveLength(2);
  });

  it('a corrupt state file is an error naming the file, and it is left as it was', async () => {
    const c = await ceremony();
    const stateFile = path.join(c.home, 'envs', 'test', 'state.json');
    fs.writeFileSync(stateFile, '{"version": 1, "env": "test", "steps": ');
    const run = await cli(['intermediate', '--env', 'test', '--mount', uniqueMount(), '--cn', 'X', '--root-dir', c.rootDir, '--passphrase-file', c.pass], { env: c.env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`The state file ${stateFile} is corrupt`);
    expect(run.stderr).toMatch(/never resets it silently/);
    expect(fs.readFileSync(stateFile, 'utf8')).toBe('{"version": 1, "env": "test", "steps": ');
  });
});

describe('intermediate: bad input', () => {
  it('refuses a tampered CSR and writes nothing', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const csr = path.join(c.work, 'int.csr');
    expect((await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'T', '--csr-out', csr], { env: c.env })).exitCode).toBe(0);
    // Change the subject inside the signed CSR body: DER stays parseable, the signature breaks
    const der = (await openssl(['req', '-in', csr, '-outform', 'DER'])).stdout;
    expect(der).toBeDefined();
    const pem = fs.readFileSync(csr, 'utf8');
    const body = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const at = body.indexOf(Buffer.from('T'), 20);
    body[at] = 'U'.charCodeAt(0);
    const tampered = path.join(c.work, 'tampered.csr');
    fs.writeFileSync(tampered, `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`);
    const out = path.join(c.work, 'out.pem');
    const sign = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', tampered, '--out', out], { env: { CERTWRIGHT_HOME: c.home } });
    expect(sign.exitCode).toBe(1);
    expect(sign.stderr).toMatch(/signature on .* does not verify: the request was altered/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses a wrong passphrase, a missing root, a truncated certificate and a mismatched one', async () => {
    const c = await ceremony();
    const mount = uniqueMount();
    const csr = path.join(c.work, 'int.csr');
    const out = path.join(c.work, 'int.pem');
    expect((await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'B', '--csr-out', csr], { env: c.env })).exitCode).toBe(0);
    const wrong = writePassphrase(path.join(c.work), 'not the passphrase at all');
    const bad = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', wrong, '--csr', csr, '--out', out], { env: { CERTWRIGHT_HOME: c.home } });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/The passphrase does not open .*root-ca.key/);
    expect(fs.existsSync(out)).toBe(false);
    writePassphrase(path.join(c.work)); // restore the right one (same file)

    const noRoot = await cli(['intermediate', 'sign', '--root-dir', path.join(c.work, 'nowhere'), '--passphrase-file', c.pass, '--csr', csr, '--out', out], { env: { CERTWRIGHT_HOME: c.home } });
    expect(noRoot.exitCode).toBe(1);
    expect(noRoot.stderr).toMatch(/No root certificate at .*Fix: Point --root-dir/s);

    // A certificate for another key (a second mount's CSR) does not install into this mount
    const other = uniqueMount();
    const otherCsr = path.join(c.work, 'other.csr');
    const otherCert = path.join(c.work, 'other.pem');
    expect((await cli(['intermediate', 'request', '--env', 'test2', '--mount', other, '--cn', 'O', '--csr-out', otherCsr], { env: c.env })).exitCode).toBe(0);
    expect((await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', otherCsr, '--out', otherCert], { env: { CERTWRIGHT_HOME: c.home } })).exitCode).toBe(0);
    const mismatched = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', otherCert, '--root', path.join(c.rootDir, 'root-ca.pem')], { env: c.env });
    expect(mismatched.exitCode).toBe(1);
    expect(mismatched.stderr).toMatch(/matches no pending intermediate key there/);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 0 });

    // Truncated PEM
    const truncated = path.join(c.work, 'truncated.pem');
    fs.writeFileSync(truncated, fs.readFileSync(otherCert, 'utf8').slice(0, 300));
    const trunc = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', truncated, '--root', path.join(c.rootDir, 'root-ca.pem')], { env: c.env });
    expect(trunc.exitCode).toBe(1);
    expect(trunc.stderr).toMatch(/truncated or damaged certificate/);
    // Not a CA root as --root
    const notRoot = await cli(['intermediate', 'install', '--env', 'test', '--mount', mount, '--cert', otherCert, '--root', otherCert], { env: c.env });
    expect(notRoot.exitCode).toBe(1);
    expect(notRoot.stderr).toMatch(/is not a self-signed root CA certificate/);
    expect(await keysAndIssuers(mount)).toEqual({ keys: 1, issuers: 0 });
  });

  it('refuses to let the intermediate outlive the root, and a pathlen the root forbids', async () => {
    const c = await ceremony('ec-p256', '1');
    const mount = uniqueMount();
    const csr = path.join(c.work, 'int.csr');
    const out = path.join(c.work, 'int.pem');
    expect((await cli(['intermediate', 'request', '--env', 'test', '--mount', mount, '--cn', 'L', '--csr-out', csr], { env: c.env })).exitCode).toBe(0);
    const tooLong = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', csr, '--out', out, '--ttl', '11y'], { env: { CERTWRIGHT_HOME: c.home } });
    expect(tooLong.exitCode).toBe(2);
    expect(tooLong.stderr).toMatch(/would let the intermediate outlive the root/);
    const deep = await cli(['intermediate', 'sign', '--root-dir', c.rootDir, '--passphrase-file', c.pass, '--csr', csr, '--out', out, '--path-len', '1'], { env: { CERTWRIGHT_HOME: c.home } });
    expect(deep.exitCode).toBe(2);
    expect(deep.stderr).toMatch(/Use --path-len 0 or lower/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('explains an unreachable Vault, a refused token and illegal mount names', async () => {
    const c = await ceremony();
    const csr = path.join(c.work, 'x.csr');
    const unreachable = await cli(['intermediate', 'request', '--env', 'test', '--mount', uniqueMount(), '--cn', 'U', '--csr-out', csr], { env: { ...c.env, VAULT_ADDR: 'http://127.0.0.1:9' } });
    expect(unreachable.exitCode).toBe(3);
    expect(unreachable.stderr).toMatch(/Cannot reach Vault at http:\/\/127.0.0.1:9 \(ECONNREFUSED\)/);
    // A token with only the default policy gets 403
    const limited = JSON.parse(await bao(vault.server(), ['token', 'create', '-format=json', '-policy=default', '-no-default-policy=false'])).auth.client_token;
    const denied = await cli(['intermediate', 'request', '--env', 'test', '--mount', uniqueMount(), '--cn', 'U', '--csr-out', csr], { env: { ...c.env, VAULT_TOKEN: limited } });
    expect(denied.exitCode).toBe(3);
    expect(denied.stderr).toMatch(/refused .*permission denied/);
    const illegal = await cli(['intermediate', 'request', '--env', 'test', '--mount', '../sys', '--cn', 'U', '--csr-out', csr], { env: c.env });
    expect(illegal.exitCode).toBe(2);
    expect(illegal.stderr).toMatch(/is not a valid mount path/);
    const noToken = await cli(['intermediate', 'request', '--env', 'test', '--mount', uniqueMount(), '--cn', 'U', '--csr-out', csr], { env: { CERTWRIGHT_HOME: c.home, VAULT_ADDR: vault.server().addr, HOME: c.work } });
    expect(noToken.exitCode).toBe(1);
    expect(noToken.stderr).toMatch(/No Vault token was found/);
    expect(fs.existsSync(csr)).toBe(false);
    expect(listing(path.join(c.home, 'envs', 'test')).some((f) => f.startsWith('lock'))).toBe(false);
  });
});

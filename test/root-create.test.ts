import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cli, tempDir, openssl, writePassphrase, listing, modeOf, BIN } from './helpers/env.js';
import { verifyTranscript } from '../state/transcript.js';

async function createRoot(keyType: string, extra: string[] = []) {
  const work = tempDir();
  const home = path.join(work, 'home');
  const out = path.join(work, 'root');
  fs.mkdirSync(out);
  const pass = writePassphrase(work);
  const result = await cli(['root', 'create', '--env', 'test', '--out', out, '--cn', `Root ${keyType}`, '--key-type', keyType, '--passphrase-file', pass, ...extra], { env: { CERTWRIGHT_HOME: home } });
  return { work, home, out, pass, result };
}

describe('root create', () => {
  it.each([
    ['ec-p384', /ASN1 OID: secp384r1/, /ecdsa-with-SHA384/],
    ['ec-p256', /ASN1 OID: prime256v1/, /ecdsa-with-SHA256/],
    ['rsa-3072', /Public-Key: \(3072 bit\)/, /sha256WithRSAEncryption/],
    ['rsa-4096', /Public-Key: \(4096 bit\)/, /sha256WithRSAEncryption/],
  ])('creates a %s root that openssl accepts', async (keyType, keyPattern, sigPattern) => {
    // Given an empty ceremony directory and a passphrase file
    const { out, home, pass, result } = await createRoot(keyType, ['--path-len', '1', '--ttl', '10y']);
    // Then the ceremony succeeds and prints the fingerprint openssl computes
    expect(result.exitCode, result.stderr).toBe(0);
    const key = path.join(out, 'root-ca.key');
    const cert = path.join(out, 'root-ca.pem');
    const fp = await openssl(['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']);
    expect(result.stdout).toContain(fp.stdout.split('=')[1]!.trim());
    // And the files have their modes
    expect(modeOf(key)).toBe(0o600);
    expect(modeOf(cert)).toBe(0o644);
    // And openssl sees a self-signed CA with the profile asked for
    const text = (await openssl(['x509', '-in', cert, '-noout', '-text'])).stdout;
    expect(text).toMatch(keyPattern);
    expect(text).toMatch(sigPattern);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect((await openssl(['verify', '-CAfile', cert, cert])).exitCode).toBe(0);
    // And the key is PBES2 / PBKDF2-HMAC-SHA256 at 600,000 iterations / AES-256-CBC, opened by openssl
    const asn = (await openssl(['asn1parse', '-in', key])).stdout;
    expect(asn).toMatch(/:PBES2/);
    expect(asn).toMatch(/:PBKDF2/);
    expect(asn).toMatch(/INTEGER\s+:0927C0/); // 600000
    expect(asn).toMatch(/:hmacWithSHA256/);
    expect(asn).toMatch(/:aes-256-cbc/);
    expect((await openssl(['pkey', '-in', key, '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
    expect((await openssl(['pkey', '-in', key, '-passin', 'pass:wrong', '-noout'])).exitCode).not.toBe(0);
    // The key matches the certificate
    const pubFromKey = (await openssl(['pkey', '-in', key, '-passin', `file:${pass}`, '-pubout'])).stdout;
    const pubFromCert = (await openssl(['x509', '-in', cert, '-noout', '-pubkey'])).stdout;
    expect(pubFromKey).toBe(pubFromCert);
    // And the state (0600) records it, with no secret in state or transcript
    const stateFile = path.join(home, 'envs', 'test', 'state.json');
    expect(modeOf(stateFile)).toBe(0o600);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(state.steps['root-create'].status).toBe('done');
    expect(state.steps['root-create'].artefacts.map((a: { kind: string }) => a.kind)).toEqual(['root-key', 'root-certificate']);
    const transcript = fs.readFileSync(path.join(home, 'envs', 'test', 'transcript.jsonl'), 'utf8');
    for (const text of [fs.readFileSync(stateFile, 'utf8'), transcript]) {
      expect(text).not.toContain('correct horse');
      expect(text).not.toContain('PRIVATE KEY');
    }
    expect(verifyTranscript(path.join(home, 'envs', 'test', 'transcript.jsonl'))).toMatchObject({ ok: true, entries: 1 });
  });

  it('defaults to EC P-384 and 10 years, without a pathlen', async () => {
    const { out, result } = await createRoot('ec-p384');
    expect(result.exitCode, result.stderr).toBe(0);
    const text = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/CA:TRUE\s*\n/);
    const end = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-enddate'])).stdout;
    expect(new Date(end.split('=')[1]!).getUTCFullYear()).toBe(new Date().getUTCFullYear() + 10);
  });

  it('refuses to overwrite an existing root and changes nothing', async () => {
    const { work, out, home, pass } = await createRoot('ec-p256');
    const before = listing(out);
    const stateBefore = fs.readFileSync(path.join(home, 'envs', 'test', 'state.json'), 'utf8');
    const again = await cli(['root', 'create', '--env', 'test', '--out', out, '--cn', 'Another', '--passphrase-file', pass], { env: { CERTWRIGHT_HOME: home } });
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/already exists; certwright never overwrites a root key/);
    expect(again.stderr).toMatch(/Fix: /);
    expect(listing(out)).toEqual(before);
    expect(fs.readFileSync(path.join(home, 'envs', 'test', 'state.json'), 'utf8')).toBe(stateBefore);
    expect(work).toBeTruthy();
  });

  it('without a terminal, a missing passphrase file is an error that names the flag', async () => {
    const work = tempDir();
    fs.mkdirSync(path.join(work, 'root'));
    const result = await cli(['root', 'create', '--env', 'test', '--out', path.join(work, 'root'), '--cn', 'X'], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--passphrase-file is required/);
    expect(listing(path.join(work, 'root'))).toEqual([]);
  });

  it('refuses a world-readable passphrase file and a too-short passphrase', async () => {
    const work = tempDir();
    fs.mkdirSync(path.join(work, 'root'));
    const pass = writePassphrase(work);
    fs.chmodSync(pass, 0o644);
    const loose = await cli(['root', 'create', '--env', 'test', '--out', path.join(work, 'root'), '--cn', 'X', '--passphrase-file', pass], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
    expect(loose.exitCode).toBe(1);
    expect(loose.stderr).toMatch(/readable or writable by every user[\s\S]*chmod 600/);
    const short = writePassphrase(work, 'short');
    const tooShort = await cli(['root', 'create', '--env', 'test', '--out', path.join(work, 'root'), '--cn', 'X', '--passphrase-file', short], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
    expect(tooShort.exitCode).toBe(1);
    expect(tooShort.stderr).toMatch(/too short/);
    expect(listing(path.join(work, 'root'))).toEqual([]);
  });

  it('rejects illegal environment names, key types, durations and a missing output dir', async () => {
    const work = tempDir();
    const pass = writePassphrase(work);
    const env = { CERTWRIGHT_HOME: path.join(work, 'home') };
    const base = ['root', 'create', '--out', work, '--cn', 'X', '--passphrase-file', pass];
    const badEnv = await cli([...base, '--env', '../etc'], { env });
    expect(badEnv.exitCode).toBe(2);
    expect(badEnv.stderr).toMatch(/not a valid environment name/);
    const badKey = await cli([...base, '--env', 't', '--key-type', 'dsa-1024'], { env });
    expect(badKey.stderr).toMatch(/Use one of: ec-p384, ec-p256, rsa-4096, rsa-3072/);
    const badTtl = await cli([...base, '--env', 't', '--ttl', 'ten years'], { env });
    expect(badTtl.stderr).toMatch(/is not a duration/);
    // Nothing of the refused runs reached the disk: no state directory for "t" either.
    expect(fs.existsSync(path.join(work, 'home', 'envs', 't'))).toBe(false);
    // A missing output directory is created 0700 (parents 0755), and the plan says so first.
    const missing = path.join(work, 'missing', 'root');
    const noDir = await cli(['root', 'create', '--env', 't', '--out', missing, '--cn', 'X', '--passphrase-file', pass], { env });
    expect(noDir.exitCode, noDir.stderr).toBe(0);
    expect(noDir.stderr).toContain(`Create ${missing} (mode 0700; missing parents 0755)`);
    expect(fs.statSync(missing).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.dirname(missing)).mode & 0o777).toBe(0o755);
    const unknownFlag = await cli([...base, '--env', 't', '--colour'], { env });
    expect(unknownFlag.exitCode).toBe(2);
    expect(unknownFlag.stderr).toMatch(/Unknown option '--colour'/);
    expect(fs.existsSync(path.join(work, 'root-ca.key'))).toBe(false);
  });

  it('refuses an output directory the user cannot write, leaving nothing behind', async () => {
    // Given a directory owned by root, and the ceremony run as an unprivileged user
    const work = tempDir();
    fs.chmodSync(work, 0o755);
    const out = path.join(work, 'root');
    fs.mkdirSync(out, { mode: 0o755 });
    const home = path.join(work, 'home');
    fs.mkdirSync(home);
    fs.chmodSync(home, 0o777);
    const pass = path.join(work, 'pass');
    fs.writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 });
    fs.chownSync(pass, 65534, 65534);
    const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', BIN, 'root', 'create', '--env', 't', '--out', out, '--cn', 'X', '--passphrase-file', pass], {
      reject: false,
      env: { CERTWRIGHT_HOME: home, PATH: process.env.PATH, CI: 'true' },
      extendEnv: false,
    });
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(String(result.stderr)).toMatch(/not writable by this user/);
    expect(listing(out)).toEqual([]);
  });

  it('appends a hash-chained transcript entry per action and detects tampering', async () => {
    const { home, work, pass } = await createRoot('ec-p256');
    const out2 = path.join(work, 'root2');
    fs.mkdirSync(out2);
    // A second root in the same environment (another ceremony dir) chains onto the first entry
    const second = await cli(['root', 'create', '--env', 'test', '--out', out2, '--cn', 'Second', '--key-type', 'ec-p256', '--passphrase-file', pass], { env: { CERTWRIGHT_HOME: home } });
    expect(second.exitCode, second.stderr).toBe(0);
    const file = path.join(home, 'envs', 'test', 'transcript.jsonl');
    const ok = await cli(['transcript', 'verify', '--env', 'test'], { env: { CERTWRIGHT_HOME: home } });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/2 entries, hash chain intact/);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[0] = lines[0]!.replace('Root ec-p256', 'Root ec-p999');
    fs.writeFileSync(file, lines.join('\n'));
    const broken = await cli(['transcript', 'verify', '--env', 'test'], { env: { CERTWRIGHT_HOME: home } });
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stderr).toMatch(/broken at entry 2/);
    // A missing transcript is not a verified one
    const missing = await cli(['transcript', 'verify', '--env', 'other'], { env: { CERTWRIGHT_HOME: home } });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/There is no transcript at/);
  });
});

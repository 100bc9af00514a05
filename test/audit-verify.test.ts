/**
 * Issue 15, point 3: `audit verify --env E` against a real OpenBao that certwright runs
 * (vault-server: raft storage, the file audit device declared in its configuration). A build
 * certificate issued through certwright leaves the audit clean; one issued with `bao write`
 * behind certwright's back, after vault-https moved the same server to TLS (the device survives the
 * move), is found by serial and time; a certificate on another role of the mount is not
 * attributed to the build role; the build role widened and a secret ID minted with `bao write`
 * are named; a build-log line with nothing behind it and an edited transcript are findings too. Independent judges: `bao audit list`, Vault's own audit log read here, the
 * serial `bao write` printed, the file's mode.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BAO, cli, serverPids, tempDir, writePassphrase } from './helpers/env.js';
import { freePortPair } from '../source/system/openbao.js';

const pids = serverPids();

describe('audit verify', () => {
  it('a certificate issued with bao write on the build role, bypassing certwright, is found by serial; certwright\'s own and other roles\' are not; a role widened and a secret ID minted outside certwright are named', async () => {
    const work = tempDir('cw-audit-');
    const home = path.join(work, 'home');
    const pass = writePassphrase(work);
    const port = await freePortPair();
    const env = { CERTWRIGHT_HOME: home };
    const run = async (args: string[], extra: Record<string, string> = {}, code = 0) => {
      const r = await cli(args, { env: { ...env, ...extra } });
      expect(r.exitCode, `certwright ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
      return r;
    };
    const rootDir = path.join(work, 'root');
    await run(['root', 'create', '--env', 'aud', '--out', rootDir, '--cn', 'Audit Root CA', '--key-type', 'ec-p256', '--passphrase-file', pass]);
    const serverDir = path.join(work, 'vault');
    const keys = path.join(work, 'keys', 'vault-keys.json');
    await run(['vault-server', '--env', 'aud', '--out', serverDir, '--listen', `127.0.0.1:${port}`, '--keys-out', keys, '--key-shares', '1', '--key-threshold', '1']);
    pids.push(Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8')));
    const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
    const withToken = { VAULT_TOKEN: token };
    const auditLog = path.join(serverDir, 'audit.log');
    // The device is declared in the configuration, enabled by Vault, and its log is 0600.
    expect(fs.readFileSync(path.join(serverDir, 'vault-bootstrap.hcl'), 'utf8')).toContain('audit "file" "certwright-file"');
    const baoEnv = (addr: string, extra: Record<string, string> = {}) => ({ BAO_ADDR: addr, BAO_TOKEN: token, HOME: work, ...extra });
    const listed = await execa(BAO, ['audit', 'list', '-format=json'], { env: baoEnv(`http://127.0.0.1:${port}`), extendEnv: false });
    expect(Object.keys(JSON.parse(listed.stdout))).toContain('certwright-file/');
    expect(fs.statSync(auditLog).mode & 0o777).toBe(0o600);

    await run(['intermediate', '--env', 'aud', '--cn', 'Audit Issuing CA', '--key-type', 'ec-p256', '--root-dir', rootDir, '--passphrase-file', pass], withToken);
    const ci = path.join(work, 'ci');
    await run(['build-role', '--env', 'aud', '--mount', 'pki_int', '--role', 'build', '--allowed-apps', 'billing', '--role-id-out', path.join(ci, 'role-id'), '--secret-id-out', path.join(ci, 'secret-id')], withToken);
    const sha = crypto.randomBytes(20).toString('hex');
    const built = await run(['build-cert', '--mount', 'pki_int', '--role', 'build', '--app', 'billing', '--git-sha', sha, '--out', path.join(work, 'dist'), '--role-id-file', path.join(ci, 'role-id'), '--secret-id-file', path.join(ci, 'secret-id'), '--json'], { VAULT_ADDR: `http://127.0.0.1:${port}` });
    const ourSerial = (JSON.parse(built.stdout) as { serial: string }).serial;

    // Clean: the transcript's chain, the one logged serial in Vault, issued on the role, witnessed by Vault.
    const clean = await run(['audit', 'verify', '--env', 'aud'], withToken);
    expect(clean.stdout).toContain('✓ hash chain intact');
    expect(clean.stdout).toMatch(/build role pki_int\/roles\/build: 1 in certwright's build log .*; \d+ certificate\(s\) in pki_int\/certs, 1 of them issued on this role \(by vault audit log\)/);
    expect(clean.stdout).toContain('No findings');

    // vault-https moves the same server to TLS; the audit device goes with it.
    const tlsDir = path.join(work, 'vault-tls');
    await run(['vault-cert', '--env', 'aud', '--out', tlsDir], withToken);
    await run(['vault-https', '--env', 'aud', '--tls-dir', tlsDir, '--key-file', keys], withToken);
    pids.push(Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8')));
    expect(fs.readFileSync(path.join(serverDir, 'vault-host.hcl'), 'utf8')).toContain(`file_path = ${JSON.stringify(auditLog)}`);
    const https = baoEnv(`https://127.0.0.1:${port}`, { BAO_CACERT: path.join(rootDir, 'root-ca.pem') });
    expect(Object.keys(JSON.parse((await execa(BAO, ['audit', 'list', '-format=json'], { env: https, extendEnv: false })).stdout))).toContain('certwright-file/');

    // Behind certwright's back: one build certificate straight from Vault, and one on another role.
    const rogue = await execa(BAO, ['write', '-format=json', 'pki_int/issue/build', 'common_name=billing', `alt_names=${crypto.randomBytes(20).toString('hex')}.git`, 'exclude_cn_from_sans=true'], { env: https, extendEnv: false });
    const rogueSerial = (JSON.parse(rogue.stdout) as { data: { serial_number: string } }).data.serial_number;
    await execa(BAO, ['write', 'pki_int/roles/other', 'allowed_domains=other.test', 'allow_bare_domains=true', 'key_type=ec', 'allow_localhost=false'], { env: https, extendEnv: false });
    await execa(BAO, ['write', '-format=json', 'pki_int/issue/other', 'common_name=other.test'], { env: https, extendEnv: false });
    // Vault's own log (written after the move) holds the rogue issue with its serial in clear.
    const witnessed = fs.readFileSync(auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; request: { path: string }; response?: { data?: { serial_number?: string } } });
    expect(witnessed.some((e) => e.type === 'response' && e.request.path === 'pki_int/issue/build' && e.response?.data?.serial_number === rogueSerial)).toBe(true);

    const found = await run(['audit', 'verify', '--env', 'aud'], withToken, 4);
    expect(found.stdout).toMatch(new RegExp(`✗ ${rogueSerial} was issued on pki_int/roles/build at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(CN=billing, [0-9a-f]{40}\\.git\\) outside certwright`));
    expect(found.stdout).toContain('1 finding(s):');
    expect(found.stdout).not.toContain(ourSerial.slice(0, 20) + ' was issued');
    const json = await run(['audit', 'verify', '--env', 'aud', '--json'], withToken, 4);
    const report = JSON.parse(json.stdout) as { ok: boolean; findings: Array<{ kind: string; serial?: string; time?: string }> };
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'outside-certwright', serial: rogueSerial, time: expect.stringMatching(/^\d{4}-/) })]);

    // The build role widened, and a new credential for the build server minted, behind certwright's back.
    await execa(BAO, ['write', 'pki_int/roles/build', 'allow_any_name=true', 'client_flag=true', 'server_flag=true'], { env: https, extendEnv: false });
    await execa(BAO, ['write', '-f', 'auth/approle/role/build-pki_int-build/secret-id'], { env: https, extendEnv: false });
    const widened = await run(['audit', 'verify', '--env', 'aud', '--json'], withToken, 4);
    const kinds = (JSON.parse(widened.stdout) as { findings: Array<{ kind: string; message: string }> }).findings.filter((f) => f.kind === 'changed-outside-certwright').map((f) => f.message);
    expect(kinds).toEqual([
      expect.stringMatching(/^the PKI role pki_int\/roles\/build was written \(update\) at \S+ from 127\.0\.0\.1 outside certwright/),
      expect.stringMatching(/^a secret ID of the AppRole approle\/build-pki_int-build was written \(update\) at /),
    ]);
    // certwright puts the role back: that run is in the transcript, the earlier writes stay findings.
    await run(['build-role', '--env', 'aud', '--mount', 'pki_int', '--role', 'build', '--allowed-apps', 'billing'], withToken);

    // A build-log line with no certificate behind it; an edited transcript.
    const buildLog = path.join(home, 'audit', 'pki_int.jsonl');
    const fake = 'de:ad:be:ef:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff';
    fs.appendFileSync(buildLog, `${JSON.stringify({ time: new Date().toISOString(), app: 'billing', commit: sha, serial: fake, notAfter: new Date(Date.now() + 86400_000).toISOString(), mount: 'pki_int', role: 'build' })}\n`);
    const transcript = path.join(home, 'envs', 'aud', 'transcript.jsonl');
    fs.writeFileSync(transcript, fs.readFileSync(transcript, 'utf8').replace('"commonName":"Audit Root CA"', '"commonName":"Another Root"'));
    const more = await run(['audit', 'verify', '--env', 'aud'], withToken, 4);
    expect(more.stdout).toContain(`✗ ${fake} (build of billing @ ${sha.slice(0, 12)}`);
    expect(more.stdout).toContain(`is in certwright's build log but not in pki_int/certs`);
    expect(more.stdout).toContain(`✗ ${fake} is in certwright's build log`);
    expect(more.stdout).toMatch(/✗ the transcript .* is broken at entry 2/);

    // Without Vault, nothing is called verified.
    const away = await run(['audit', 'verify', '--env', 'aud', '--vault-addr', 'http://127.0.0.1:9'], withToken, 4);
    expect(away.stdout).toContain('not checked: pki_int/certs:');
  }, 240_000);
});

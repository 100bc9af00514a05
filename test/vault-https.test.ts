import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cli, tempDir, openssl, listing, modeOf, vaultEnv } from './helpers/env.js';
import { useHttpsVault } from './helpers/https-vault.js';
import { freePort } from '../source/system/openbao.js';

// One dev server (the environment's PKI) + one real, non-dev OpenBao over HTTPS for this file.
const lab = useHttpsVault({ pkiMount: 'pki_srv' });

function fingerprintOf(file: string): string {
  return new X509Certificate(fs.readFileSync(file)).fingerprint256;
}

async function wireFingerprint(addr: string, ca: string): Promise<{ fp: string; authorized: boolean; error?: string }> {
  const url = new URL(addr);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => {
      const fp = s.getPeerX509Certificate()!.fingerprint256;
      resolve({ fp, authorized: s.authorized });
      s.end();
    });
    s.on('error', reject);
  });
}

async function sClient(addr: string, caFile: string, extra: string[] = []) {
  const url = new URL(addr);
  return openssl(['s_client', '-connect', `${url.hostname}:${url.port}`, '-CAfile', caFile, '-verify_return_error', '-showcerts', ...extra], 'Q\n');
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

/** A self-signed CA that has nothing to do with the environment. */
async function strangerCa(dir: string): Promise<string> {
  const key = path.join(dir, 'stranger.key');
  const cert = path.join(dir, 'stranger.pem');
  const r = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=Stranger Root', '-days', '2']);
  expect(r.exitCode, r.stderr).toBe(0);
  return cert;
}

describe('Vault over HTTPS from its own PKI', () => {
  it('serves HTTPS with the full chain, trusted through the environment root only (Node TLS and openssl)', async () => {
    const v = lab.vault();
    // The TLS files: key 0600, the rest 0644, fullchain = leaf + intermediate, ca-chain = intermediate + root
    expect(modeOf(path.join(v.tlsDir, 'server.key'))).toBe(0o600);
    for (const f of ['server.crt', 'fullchain.pem', 'ca-chain.pem']) expect(modeOf(path.join(v.tlsDir, f))).toBe(0o644);
    const full = fs.readFileSync(path.join(v.tlsDir, 'fullchain.pem'), 'utf8');
    const caChain = fs.readFileSync(path.join(v.tlsDir, 'ca-chain.pem'), 'utf8');
    expect(full.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(caChain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(full.startsWith(fs.readFileSync(path.join(v.tlsDir, 'server.crt'), 'utf8'))).toBe(true);
    expect(caChain.trimEnd().endsWith(fs.readFileSync(v.caFile, 'utf8').trimEnd())).toBe(true);
    const verify = await openssl(['verify', '-CAfile', v.caFile, '-untrusted', path.join(v.tlsDir, 'ca-chain.pem'), '-purpose', 'sslserver', path.join(v.tlsDir, 'server.crt')]);
    expect(verify.stdout).toMatch(/OK/);
    const text = (await openssl(['x509', '-in', path.join(v.tlsDir, 'server.crt'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/DNS:localhost, IP Address:127.0.0.1/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect(text).not.toMatch(/TLS Web Client Authentication/);
    // The rendered config: full chain, key, TLS 1.2 minimum, https api_addr, raft under the data dir
    const hcl = fs.readFileSync(path.join(v.serverDir, 'vault-host.hcl'), 'utf8');
    expect(hcl).toContain(`tls_cert_file   = "${path.join(v.tlsDir, 'fullchain.pem')}"`);
    expect(hcl).toContain(`tls_key_file    = "${path.join(v.tlsDir, 'server.key')}"`);
    expect(hcl).toContain('tls_min_version = "tls12"');
    expect(hcl).toContain(`api_addr      = "${v.addr}"`);
    expect(hcl).toMatch(new RegExp(`storage "raft" \\{\\s+path\\s+= "${path.join(v.serverDir, 'data')}"`));
    // Node TLS, trusting the root only (ca replaces the system store), by IP and by name
    const wire = await wireFingerprint(v.addr, v.ca);
    expect(wire.authorized).toBe(true);
    expect(wire.fp).toBe(fingerprintOf(path.join(v.tlsDir, 'server.crt')));
    // openssl s_client -verify_return_error: exit 0, two certificates sent, hostname and IP checked
    const ok = await sClient(v.addr, v.caFile, ['-verify_ip', '127.0.0.1']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    expect(ok.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect((await sClient(v.addr, v.caFile, ['-verify_hostname', 'localhost'])).exitCode).toBe(0);
    expect((await sClient(v.addr, v.caFile, ['-verify_hostname', 'vault.elsewhere.example'])).exitCode).toBe(1);
    expect((await sClient(v.addr, v.caFile, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'])).exitCode).not.toBe(0);
    // Unsealed and active, through certwright's own client
    const health = await v.client().health();
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    // State: address + CA recorded, no secret anywhere in state or transcript
    const stateText = fs.readFileSync(path.join(v.home, 'envs', v.env, 'state.json'), 'utf8');
    const state = JSON.parse(stateText);
    expect(state.vault).toEqual({ addr: v.addr, caFile: v.caFile });
    expect(state.steps['vault-init'].facts).toMatchObject({ shares: 3, threshold: 2 });
    expect(state.steps['vault-unseal'].status).toBe('done');
    const keys = JSON.parse(fs.readFileSync(v.keysFile, 'utf8'));
    expect(modeOf(v.keysFile)).toBe(0o600);
    const transcript = fs.readFileSync(path.join(v.home, 'envs', v.env, 'transcript.jsonl'), 'utf8');
    for (const secret of [keys.root_token, ...keys.unseal_keys_b64, ...keys.unseal_keys_hex]) {
      expect(stateText).not.toContain(secret);
      expect(transcript).not.toContain(secret);
    }
    expect(stateText).not.toContain('PRIVATE KEY');
  });

  it('vault-init is a no-op on an initialised Vault, and refuses plain HTTP, an unknown CA and an unreachable address', async () => {
    const v = lab.vault();
    // A second, fresh server from the same TLS material: init without --keys-out prints the keys once
    const again = await cli(['vault-init', '--env', v.env, '--key-shares', '1', '--key-threshold', '1'], { env: { CERTWRIGHT_HOME: v.home } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already initialised/);
    expect(again.stdout + again.stderr).not.toMatch(/Unseal key 1/);
    // Plain HTTP is refused before anything is sent
    const http = await cli(['vault-init', '--env', v.env, '--vault-addr', lab.dev().addr], { env: { CERTWRIGHT_HOME: v.home } });
    expect(http.exitCode).toBe(1);
    expect(http.stderr).toMatch(/is not HTTPS; certwright sends unseal keys and tokens only over TLS/);
    // A CA that did not sign Vault's chain: unknown authority, with the exact fix
    const work = tempDir();
    const stranger = await strangerCa(work);
    const stateBefore = fs.readFileSync(path.join(v.home, 'envs', v.env, 'state.json'), 'utf8');
    const wrong = await cli(['vault-unseal', '--env', v.env, '--vault-ca', stranger, '--key-file', v.keysFile], { env: { CERTWRIGHT_HOME: v.home } });
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toMatch(/unknown authority \(trusting only .*stranger\.pem\): its chain ends at/);
    expect(wrong.stderr).toMatch(/Fix: Pass --vault-ca or set VAULT_CACERT to the root CA .* or distribute that CA/);
    expect(fs.readFileSync(path.join(v.home, 'envs', v.env, 'state.json'), 'utf8')).toBe(stateBefore);
    // Unreachable
    const port = await freePort();
    const down = await cli(['vault-unseal', '--env', v.env, '--vault-addr', `https://127.0.0.1:${port}`, '--key-file', v.keysFile], { env: { CERTWRIGHT_HOME: v.home } });
    expect(down.exitCode).toBe(3);
    expect(down.stderr).toMatch(/Cannot reach Vault at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('a sealed Vault is reported with the fix; vault-unseal refuses a loose key file, then unseals from the file', async () => {
    const v = lab.vault();
    await v.client().write('sys/seal', {});
    const sealed = await cli(['vault-cert', '--env', v.env, '--mount', 'pki_srv', '--role', 'x', '--dns', 'localhost', '--out', tempDir()], { env: v.cliEnv() });
    expect(sealed.exitCode).toBe(3);
    expect(sealed.stderr).toMatch(/Vault at https:\/\/127\.0\.0\.1:\d+ is sealed\.\nFix: Unseal it first: certwright vault-unseal/);
    // No terminal and no key file: the error names the flag
    const noKeys = await cli(['vault-unseal', '--env', v.env], { env: { CERTWRIGHT_HOME: v.home } });
    expect(noKeys.exitCode).toBe(2);
    expect(noKeys.stderr).toMatch(/--key-file is required when no terminal is attached/);
    // Shares in a world-readable file are refused
    const work = tempDir();
    const keys = JSON.parse(fs.readFileSync(v.keysFile, 'utf8'));
    const loose = path.join(work, 'share1');
    fs.writeFileSync(loose, `Unseal Key 1: ${keys.unseal_keys_b64[0]}\n`, { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    const refused = await cli(['vault-unseal', '--env', v.env, '--key-file', loose], { env: { CERTWRIGHT_HOME: v.home } });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/readable or writable by every user[\s\S]*chmod 600/);
    // One share per file, two files: unsealed at the threshold
    fs.chmodSync(loose, 0o600);
    const second = path.join(work, 'share2');
    fs.writeFileSync(second, `${keys.unseal_keys_b64[1]}\n`, { mode: 0o600 });
    const only1 = await cli(['vault-unseal', '--env', v.env, '--key-file', loose], { env: { CERTWRIGHT_HOME: v.home } });
    expect(only1.exitCode).toBe(3);
    expect(only1.stderr).toMatch(/still sealed: 1 of 2 key shares given/);
    const unsealed = await cli(['vault-unseal', '--env', v.env, '--key-file', second], { env: { CERTWRIGHT_HOME: v.home } });
    expect(unsealed.exitCode, unsealed.stderr).toBe(0);
    expect(unsealed.stdout).toMatch(/is unsealed/);
    await waitActive(v);
  });

  it('vault-cert is idempotent, then re-issues near expiry and the server presents the new certificate after SIGHUP', async () => {
    const v = lab.vault();
    const env = vaultEnv(lab.dev(), v.home);
    const args = ['vault-cert', '--env', v.env, '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', v.tlsDir];
    const before = listing(v.tlsDir);
    const inode = fs.statSync(path.join(v.tlsDir, 'server.key')).ino;
    const stateFile = path.join(v.home, 'envs', v.env, 'state.json');
    const stateBefore = fs.readFileSync(stateFile, 'utf8');
    const same = await cli(args, { env });
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/Nothing to do/);
    expect(same.stdout).toMatch(/^Kept Vault's server certificate/);
    expect(listing(v.tlsDir)).toEqual(before);
    expect(fs.statSync(path.join(v.tlsDir, 'server.key')).ino).toBe(inode);
    expect(fs.readFileSync(stateFile, 'utf8')).toBe(stateBefore);
    // Near expiry (the renewal window is longer than what is left): re-issued, SIGHUP, seen on the wire
    const oldFp = fingerprintOf(path.join(v.tlsDir, 'server.crt'));
    const rotated = await cli([...args, '--renew-before', '1000d', '--reload-pid', String(v.pid)], { env });
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    expect(rotated.stderr).toMatch(/Issue a new server certificate \(near expiry/);
    expect(rotated.stderr).toMatch(/Sent SIGHUP to PID/);
    const newFp = fingerprintOf(path.join(v.tlsDir, 'server.crt'));
    expect(newFp).not.toBe(oldFp);
    expect(rotated.stderr).toContain(`now presents the new certificate (${newFp})`);
    expect(fs.statSync(path.join(v.tlsDir, 'server.key')).ino).not.toBe(inode); // replaced by rename
    expect(modeOf(path.join(v.tlsDir, 'server.key'))).toBe(0o600);
    // Independently: Node TLS and openssl see the new leaf, the server was not restarted (still unsealed)
    expect((await wireFingerprint(v.addr, v.ca)).fp).toBe(newFp);
    const s = await sClient(v.addr, v.caFile, ['-verify_ip', '127.0.0.1']);
    expect(s.exitCode).toBe(0);
    const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(s.stdout)![0];
    expect(new X509Certificate(leafPem).fingerprint256).toBe(newFp);
    expect(await v.client().health()).toMatchObject({ sealed: false });
    // --renew with a different name set: the role follows exactly the names asked for
    const renamed = await cli(['vault-cert', '--env', v.env, '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost,vault.test', '--ip', '127.0.0.1', '--out', v.tlsDir, '--reload-pid', String(v.pid)], { env });
    expect(renamed.exitCode, renamed.stderr).toBe(0);
    expect(renamed.stderr).toMatch(/Update role vault-server: allowed_domains/);
    expect(renamed.stderr).toMatch(/names differ/);
    expect((await openssl(['x509', '-in', path.join(v.tlsDir, 'server.crt'), '-noout', '-ext', 'subjectAltName'])).stdout).toMatch(/DNS:localhost, DNS:vault.test, IP Address:127.0.0.1/);
  });

  it('switch-urls checks CA and CRL over HTTPS, switches the URLs, and new leaves point at them', async () => {
    const v = lab.vault();
    const mount = v.pkiMount!;
    // Start from plain-HTTP URLs, as after the intermediate step on an HTTP Vault
    await v.client().write(`${mount}/config/urls`, { issuing_certificates: [`http://127.0.0.1:8200/v1/${mount}/ca`], crl_distribution_points: [`http://127.0.0.1:8200/v1/${mount}/crl`] });
    // Against the wrong Vault (the dev server's pki_int is not served by the HTTPS one): refused, unchanged
    const devEnv = vaultEnv(lab.dev(), v.home);
    const urlsBefore = await fetch(`${lab.dev().addr}/v1/pki_int/config/urls`, { headers: { 'X-Vault-Token': lab.dev().token } }).then((r) => r.json());
    const wrongVault = await cli(['switch-urls', '--env', v.env, '--mount', 'pki_int', '--base', v.addr], { env: devEnv });
    expect(wrongVault.exitCode).toBe(3);
    expect(wrongVault.stderr).toMatch(/\/v1\/pki_int\/ca answered 40[34], not the CA certificate/);
    expect(wrongVault.stderr).toMatch(/Fix: Check that https:\/\/127\.0\.0\.1:\d+ is the Vault that holds pki_int/);
    const urlsAfter = await fetch(`${lab.dev().addr}/v1/pki_int/config/urls`, { headers: { 'X-Vault-Token': lab.dev().token } }).then((r) => r.json());
    expect(urlsAfter.data).toEqual(urlsBefore.data);
    // http base refused
    const plain = await cli(['switch-urls', '--env', v.env, '--mount', mount, '--base', 'http://127.0.0.1:8200'], { env: v.cliEnv() });
    expect(plain.exitCode).toBe(2);
    // The switch
    const sw = await cli(['switch-urls', '--env', v.env, '--mount', mount, '--base', v.addr], { env: v.cliEnv() });
    expect(sw.exitCode, sw.stderr).toBe(0);
    expect(sw.stderr).toMatch(/CA .* and CRL \(0 revoked\) fetched over HTTPS, trusting only/);
    expect(sw.stdout).toContain(`${mount}/ now publishes ${v.addr}/v1/${mount}/ca and ${v.addr}/v1/${mount}/crl`);
    const again = await cli(['switch-urls', '--env', v.env, '--mount', mount, '--base', v.addr], { env: v.cliEnv() });
    expect(again.stderr).toMatch(/Nothing to do/);
    const state = JSON.parse(fs.readFileSync(path.join(v.home, 'envs', v.env, 'state.json'), 'utf8'));
    expect(state.steps[`switch-urls@${mount}`].facts.base).toBe(v.addr);
    expect(state.mounts[mount].aiaBase).toBe(v.addr);
    // A leaf issued now carries the HTTPS URLs; CA and CRL fetched from them over HTTPS (root only)
    await v.client().write(`${mount}/roles/web`, { allowed_domains: ['web.test'], allow_bare_domains: true, ttl: '1h' });
    const issued = await v.client().write<{ certificate: string; issuing_ca: string }>(`${mount}/issue/web`, { common_name: 'web.test' });
    const leafFile = path.join(tempDir(), 'leaf.pem');
    fs.writeFileSync(leafFile, issued.json!.data!.certificate);
    const leafText = (await openssl(['x509', '-in', leafFile, '-noout', '-text'])).stdout;
    const caUrl = /CA Issuers - URI:(\S+)/.exec(leafText)![1]!;
    const crlUrl = /Full Name:\s+URI:(\S+)/.exec(leafText)![1]!;
    expect(caUrl).toBe(`${v.addr}/v1/${mount}/ca`);
    expect(crlUrl).toBe(`${v.addr}/v1/${mount}/crl`);
    const ca = await httpsGet(caUrl, v.ca);
    expect(ca.status).toBe(200);
    expect(new X509Certificate(ca.body).fingerprint256).toBe(new X509Certificate(issued.json!.data!.issuing_ca).fingerprint256);
    const crl = await httpsGet(crlUrl, v.ca);
    expect(crl.status).toBe(200);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'crl.der'), crl.body);
    fs.writeFileSync(path.join(dir, 'int.pem'), issued.json!.data!.issuing_ca);
    const crlCheck = await openssl(['crl', '-inform', 'DER', '-in', path.join(dir, 'crl.der'), '-CAfile', path.join(dir, 'int.pem'), '-noout']);
    expect(crlCheck.stderr + crlCheck.stdout).toMatch(/verify OK/);
    // And openssl fetches the CA over HTTPS with nothing but the root trusted
    const chain = await openssl(['verify', '-CAfile', v.caFile, '-untrusted', path.join(dir, 'int.pem'), leafFile]);
    expect(chain.stdout).toMatch(/OK/);
  });
});

describe('wizard screens for Vault over HTTPS', () => {
  it('shows the Vault steps in the overview and unseals with hidden input on the init screen', async () => {
    const v = lab.vault();
    const React = await import('react');
    const { WizardController } = await import('../source/wizard/controller.js');
    const { VaultInitScreen } = await import('../screens/VaultInitScreen.js');
    const controller = new WizardController({ stateDir: v.home }, { vaultCa: v.caFile });
    const steps = await controller.overview(v.env);
    expect(steps.map((s) => [s.id, s.state])).toEqual(expect.arrayContaining([['vault-https', 'done'], ['vault-init', 'done']]));
    await v.client().write('sys/seal', {});
    const keys = JSON.parse(fs.readFileSync(v.keysFile, 'utf8'));
    let exited = false;
    const { KeyboardProvider } = await import('../screens/keys/KeyboardProvider.js');
    const { driveInk, KEY } = await import('./helpers/ink.js');
    const ui = driveInk(React.createElement(KeyboardProvider, { onInterrupt: () => undefined }, React.createElement(VaultInitScreen, { controller, env: v.env, onExit: () => { exited = true; } })));
    await ui.waitFor(/Vault is sealed: 0 of 2 key shares given/);
    // Each share is typed (hidden) and entered in one go, the moment the prompt shows: no key is lost
    const give = async (share: string, then: RegExp) => {
      await ui.waitFor(/Unseal key share \(hidden\)/);
      await ui.type(share + KEY.enter);
      const f = await ui.waitFor(then);
      if (share) expect(f).not.toContain(share); // hidden input
      return f.replace(/\s+/g, ' ');
    };
    // Every refusal is said on screen: an empty Enter, a share Vault refuses, one given twice,
    // and a round that does not combine to the key.
    await give('', /Type a key share/);
    expect(await give('not-a-share', /Vault refused that share/)).toMatch(/0 of 2 key shares given/);
    await give(keys.unseal_keys_b64[0], /Share accepted: 1 of 2 given/);
    await give(keys.unseal_keys_b64[0], /already given in this round/);
    const bogus = Buffer.alloc(Buffer.from(keys.unseal_keys_b64[0], 'base64').length, 7).toString('base64');
    const round = await give(bogus, /Vault (refused that share|discarded this round)/);
    expect(round).toMatch(/0 of 2 key shares given/);
    expect((await v.client().read<{ progress: number }>('sys/seal-status', { anonymous: true })).json?.progress).toBe(0);
    await give(keys.unseal_keys_b64[0], /Share accepted: 1 of 2 given/);
    await give(keys.unseal_keys_b64[1], /Vault is initialised and unsealed/);
    await ui.type(KEY.enter);
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(exited).toBe(true);
    ui.view.unmount();
    await waitActive(v);
  });
});

async function waitActive(v: ReturnType<typeof lab.vault>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const h = await v.client().health();
      if (!h.sealed && !h.standby) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error('Vault did not become active again');
}

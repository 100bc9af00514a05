/**
 * One Vault: the PKI the intermediate steps build is the PKI the HTTPS Vault serves. certwright
 * runs the environment's own Vault (vault-server: a real server, raft storage, loopback HTTP),
 * installs the intermediate into it, issues its certificate from it, and vault-https moves that
 * same server to TLS; switch-urls then finds the CA and CRL over HTTPS. Judged by openssl and curl
 * trusting only the root, and by reading the mount's URLs back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cli, serverPids, tempDir, writePassphrase, alive } from './helpers/env.js';
import { freePortPair } from '../source/system/openbao.js';
import { VaultClient } from '../source/vault/client.js';
import { WizardController } from '../source/wizard/controller.js';

const pids = serverPids();

describe('one Vault from the root ceremony to AIA/CRL over HTTPS', () => {
  it('vault-server, intermediate, vault-cert, vault-https (the same server moves to TLS), switch-urls', async () => {
    const work = tempDir('cw-onevault-');
    const home = path.join(work, 'home');
    const pass = writePassphrase(work);
    const port = await freePortPair();
    const env = { CERTWRIGHT_HOME: home };
    const run = async (args: string[], extra: Record<string, string> = {}) => {
      const r = await cli(args, { env: { ...env, ...extra } });
      expect(r.exitCode, `certwright ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r;
    };
    const rootDir = path.join(work, 'root');
    await run(['root', 'create', '--env', 'one', '--out', rootDir, '--cn', 'One Root CA', '--passphrase-file', pass]);
    const serverDir = path.join(work, 'vault');
    const keys = path.join(work, 'keys', 'vault-keys.json');
    const started = await run(['vault-server', '--env', 'one', '--out', serverDir, '--listen', `127.0.0.1:${port}`, '--keys-out', keys, '--key-shares', '1', '--key-threshold', '1']);
    expect(started.stdout).toContain(`http://127.0.0.1:${port}`);
    expect(fs.statSync(keys).mode & 0o777).toBe(0o600);
    const pid1 = Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8'));
    pids.push(pid1);
    // Running it again changes nothing: the same process, already initialised and unsealed.
    const again = await run(['vault-server', '--env', 'one', '--out', serverDir, '--listen', `127.0.0.1:${port}`, '--keys-out', path.join(work, 'unused.json')]);
    expect(again.stderr).toContain('Nothing to do');
    expect(Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8'))).toBe(pid1);
    const token = (JSON.parse(fs.readFileSync(keys, 'utf8')) as { root_token: string }).root_token;
    const withToken = { VAULT_TOKEN: token };
    // The Vault address comes from state: nothing else names it.
    await run(['intermediate', '--env', 'one', '--cn', 'One Issuing CA', '--root-dir', rootDir, '--passphrase-file', pass], withToken);
    const tlsDir = path.join(work, 'vault-tls');
    await run(['vault-cert', '--env', 'one', '--out', tlsDir], withToken);
    const moved = await run(['vault-https', '--env', 'one', '--tls-dir', tlsDir, '--key-file', keys], withToken);
    expect(moved.stderr).toMatch(/Restart the environment's Vault \(PID \d+\)/);
    const pid2 = Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8'));
    pids.push(pid2);
    expect(pid2).not.toBe(pid1);
    const addr = `https://127.0.0.1:${port}`;
    // Initialised by vault-server and unsealed by this step: what comes next is the URL switch, not vault-init.
    expect(moved.stdout).toContain(`Next: certwright switch-urls --env one --base ${addr}`);
    expect(moved.stdout).not.toContain('vault-init');
    const rootPem = path.join(rootDir, 'root-ca.pem');
    // Independent judges, trusting only the root: openssl and curl reach the same server over TLS...
    const sclient = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', rootPem, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
    expect(sclient.exitCode, sclient.stderr).toBe(0);
    expect(sclient.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    // ...and it holds the PKI built before the move: the intermediate is served over HTTPS.
    const ca = await execa('curl', ['-sS', '--fail', '--cacert', rootPem, `${addr}/v1/pki_int/ca/pem`]);
    expect(ca.stdout).toMatch(/BEGIN CERTIFICATE/);
    // The loopback HTTP listener is gone.
    const plain = await execa('curl', ['-sS', `http://127.0.0.1:${port}/v1/sys/health`], { reject: false });
    expect(plain.stdout).not.toMatch(/"initialized"/);
    await run(['switch-urls', '--env', 'one', '--base', addr], withToken);
    const client = new VaultClient({ addr, ca: fs.readFileSync(rootPem, 'utf8'), caSource: rootPem, token });
    const urls = (await client.read<{ issuing_certificates: string[]; crl_distribution_points: string[] }>('pki_int/config/urls')).json!.data!;
    expect(urls.issuing_certificates).toEqual([`${addr}/v1/pki_int/ca`]);
    expect(urls.crl_distribution_points).toEqual([`${addr}/v1/pki_int/crl`]);
    // A second vault-https changes nothing and keeps the same process.
    const twice = await run(['vault-https', '--env', 'one', '--tls-dir', tlsDir, '--key-file', keys], withToken);
    expect(twice.stderr).not.toMatch(/Restart the environment's Vault/);
    expect(Number(fs.readFileSync(path.join(serverDir, 'vault.pid'), 'utf8'))).toBe(pid2);
    // vault-init and vault-unseal over HTTPS find it initialised and unsealed.
    expect((await run(['vault-init', '--env', 'one'], withToken)).stdout).toContain('already initialised');
    expect((await run(['vault-unseal', '--env', 'one'], withToken)).stdout).toContain('is unsealed');

    // The wizard's overview re-verifies these steps from the world: all done now...
    process.env.VAULT_TOKEN = token;
    try {
      const wizard = new WizardController({ stateDir: home }, {});
      const rows = async () => Object.fromEntries((await wizard.overview('one')).map((r) => [r.id, r]));
      expect((await rows())['vault-https']!.state).toBe('done');
      expect((await rows())['switch-urls']!.state).toBe('done');
      // ...URLs changed by hand are drift, with the record that redoing forgets...
      await client.write('pki_int/config/urls', { issuing_certificates: [`http://127.0.0.1:${port}/v1/pki_int/ca`], crl_distribution_points: [] });
      const drifted = (await rows())['switch-urls']!;
      expect(drifted.state).toBe('drift');
      expect(drifted.detail).toContain(`pki_int/config/urls has http://127.0.0.1:${port}/v1/pki_int/ca, not under ${addr}`);
      expect(drifted.drift?.records).toEqual(['switch-urls@pki_int']);
      await run(['switch-urls', '--env', 'one', '--base', addr], withToken);
      expect((await rows())['switch-urls']!.state).toBe('done');
      // ...and a Vault that does not answer is "not checked", never a tick.
      process.kill(pid2, 'SIGTERM');
      for (let i = 0; i < 200 && alive(pid2); i += 1) await new Promise((r) => setTimeout(r, 50));
      const https = (await rows())['vault-https']!;
      expect(https.state).toBe('unavailable');
      expect(https.detail).toMatch(/^not checked: /);
    } finally {
      delete process.env.VAULT_TOKEN;
    }
  }, 180_000);
});

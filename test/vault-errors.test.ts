import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, BAO, bao } from './helpers/env.js';
import { freePort, stopProcess, startDevServer, type DevServer } from '../source/system/openbao.js';

/** Vault failures the operator meets: sealed, and a TLS certificate from an unknown authority. */

const started: Array<ChildProcess | DevServer> = [];
afterAll(async () => {
  for (const s of started) await ('stop' in s ? s.stop() : stopProcess(s));
});

async function devTlsServer(): Promise<{ addr: string; token: string; caFile: string }> {
  const dir = tempDir('cw-devtls-');
  const port = await freePort();
  const token = `t-${Date.now()}`;
  const child = spawn(BAO, ['server', '-dev', '-dev-tls', `-dev-tls-cert-dir=${dir}`, `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'], { stdio: 'ignore' });
  started.push(child);
  const caFile = path.join(dir, 'vault-ca.pem');
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(caFile) || fs.statSync(caFile).size === 0) {
    if (Date.now() > deadline) throw new Error('dev-tls server did not write its CA');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  return { addr: `https://127.0.0.1:${port}`, token, caFile };
}

describe('Vault connection failures', () => {
  it('explains an unknown TLS authority with the exact fix, and works once the CA is given', async () => {
    const server = await devTlsServer();
    const work = tempDir();
    const csr = path.join(work, 'x.csr');
    const env = { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, CERTWRIGHT_HOME: path.join(work, 'home') };
    const unknown = await cli(['intermediate', 'request', '--env', 'tls', '--mount', 'pki_tls', '--cn', 'X', '--csr-out', csr], { env });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/presented a certificate from an unknown authority/);
    expect(unknown.stderr).toMatch(/Pass --vault-ca or set VAULT_CACERT/);
    expect(fs.existsSync(csr)).toBe(false);
    // A wrong CA (some other root) is the same failure
    const other = path.join(work, 'other');
    fs.mkdirSync(other);
    const pass = writePassphrase(work);
    expect((await cli(['root', 'create', '--env', 'tls', '--out', other, '--cn', 'Other', '--passphrase-file', pass], { env })).exitCode).toBe(0);
    const wrongCa = await cli(['intermediate', 'request', '--env', 'tls', '--mount', 'pki_tls', '--cn', 'X', '--csr-out', csr, '--vault-ca', path.join(other, 'root-ca.pem')], { env });
    expect(wrongCa.exitCode).toBe(3);
    expect(wrongCa.stderr).toMatch(/unknown authority \(trusting .*root-ca.pem\)/);
    // With the right CA, through VAULT_CACERT or BAO_CACERT
    const ok = await cli(['intermediate', 'request', '--env', 'tls', '--mount', 'pki_tls', '--cn', 'X', '--csr-out', csr], { env: { ...env, BAO_CACERT: server.caFile } });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(fs.existsSync(csr)).toBe(true);
  });

  it('explains a sealed Vault and changes nothing', async () => {
    const server = await startDevServer({ bao: BAO });
    started.push(server);
    await bao(server, ['operator', 'seal']);
    const work = tempDir();
    const csr = path.join(work, 'x.csr');
    const sealed = await cli(['intermediate', 'request', '--env', 'sealed', '--mount', 'pki_s', '--cn', 'X', '--csr-out', csr], { env: { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, CERTWRIGHT_HOME: path.join(work, 'home') } });
    expect(sealed.exitCode).toBe(3);
    expect(sealed.stderr).toMatch(/is sealed/);
    expect(sealed.stderr).toMatch(/Fix: Unseal it first/);
    expect(fs.existsSync(csr)).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cli, tempDir, openssl } from './helpers/env.js';

/** Offline: no Vault. openssl makes the certificates and is the judge of the hash directory. */

async function selfSigned(dir: string, name: string, subject: string, extra: string[] = []): Promise<string> {
  const file = path.join(dir, `${name}.pem`);
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', file, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', ...extra]);
  return file;
}

async function leafSignedBy(dir: string, ca: string, name: string): Promise<string> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const out = path.join(dir, `${name}.pem`);
  await execa('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  // With an AKID: among CAs of the same name, OpenSSL picks the issuer by key identifier.
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, 'authorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\n');
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca.replace(/\.pem$/, '.key'), '-CAcreateserial', '-out', out, '-days', '1', '-extfile', ext]);
  return out;
}

describe('hashdir', () => {
  it('names links by the subject hash openssl computes, for awkward names too', async () => {
    const dir = tempDir();
    const files = [
      await selfSigned(dir, 'spaces', '/CN=  Mixed   CASE  Root  /O=Acme\\, Inc   /C=DE'),
      await selfSigned(dir, 'utf8', '/CN=Wurzel Ü Zertifikat/OU=Bau', ['-utf8']),
      await selfSigned(dir, 'multi', '/CN=Multi+OU=Valued/O=Org', ['-multivalue-rdn']),
      await selfSigned(dir, 'email', '/emailAddress=Ops@Example.org/CN=Mail Root'),
    ];
    const out = path.join(dir, 'hash');
    const r = await cli(['hashdir', '--out', out, ...files]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const file of files) {
      const hash = (await openssl(['x509', '-in', file, '-noout', '-subject_hash'])).stdout.trim();
      const target = fs.readlinkSync(path.join(out, `${hash}.0`));
      expect(fs.readFileSync(path.join(out, target), 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
    }
  });

  it('splits bundles, counts up on a hash collision, and openssl -CApath finds both', async () => {
    const dir = tempDir();
    // Two different roots with the same subject: same hash, links .0 and .1
    const a = await selfSigned(dir, 'rootA', '/CN=Same Name');
    const b = await selfSigned(dir, 'rootB', '/CN=Same Name');
    const bundle = path.join(dir, 'bundle.pem');
    fs.writeFileSync(bundle, fs.readFileSync(a, 'utf8') + fs.readFileSync(b, 'utf8'));
    const leafA = await leafSignedBy(dir, a, 'leafA');
    const leafB = await leafSignedBy(dir, b, 'leafB');
    const out = path.join(dir, 'hash');
    const r = await cli(['hashdir', '--out', out, bundle]);
    expect(r.exitCode, r.stderr).toBe(0);
    const hash = (await openssl(['x509', '-in', a, '-noout', '-subject_hash'])).stdout.trim();
    expect(fs.readdirSync(out).filter((n) => n.startsWith(`${hash}.`)).sort()).toEqual([`${hash}.0`, `${hash}.1`]);
    expect((await openssl(['verify', '-CApath', out, leafA])).exitCode).toBe(0);
    expect((await openssl(['verify', '-CApath', out, leafB])).exitCode).toBe(0);
    // Given a file holding no certificate, nothing is written
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate\n');
    const before = fs.readdirSync(out).sort();
    const bad = await cli(['hashdir', '--out', out, junk]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/does not contain a PEM certificate/);
    expect(fs.readdirSync(out).sort()).toEqual(before);
  });
});

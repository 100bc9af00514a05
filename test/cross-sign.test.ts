import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { cli, tempDir, openssl, useOpenBao, uniqueMount, vaultEnv, bao, listing } from './helpers/env.js';
import { createRoots, type Roots } from './helpers/build-pki.js';

const vault = useOpenBao();
let roots: Roots;
let work: string;

beforeAll(async () => {
  work = tempDir();
  roots = await createRoots(work);
});

async function issuers(mount: string): Promise<Array<{ id: string; key: string; pem: string; manual: string[] }>> {
  const ids = JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/issuers`])) as string[];
  const out = [];
  for (const id of ids) {
    const d = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/issuer/${id}`])).data;
    out.push({ id, key: d.key_id as string, pem: d.certificate as string, manual: (d.manual_chain ?? []) as string[] });
  }
  return out;
}

async function defaultIssuer(mount: string): Promise<string> {
  return JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/config/issuers`])).data.default;
}

async function pubkey(file: string): Promise<string> {
  return (await openssl(['x509', '-in', file, '-noout', '-pubkey'])).stdout;
}

describe('cross-sign', () => {
  it('request / sign offline / install: a twin with the same key and subject, default issuer unchanged', async () => {
    // Given an intermediate in a mount, signed by the application root
    const mount = uniqueMount();
    const home = path.join(work, `home-${mount}`);
    const env = vaultEnv(vault.server(), home);
    const inter = await cli(['intermediate', '--env', 'dev', '--mount', mount, '--cn', 'Build Server B1', '--root-dir', roots.appRootDir, '--passphrase-file', roots.pass], { env });
    expect(inter.exitCode, inter.stderr).toBe(0);
    const defaultBefore = await defaultIssuer(mount);
    const before = await issuers(mount);
    const keysBefore = JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/keys`]));
    // When the online half makes a CSR for the existing key
    const csr = path.join(work, `${mount}.csr`);
    const req = await cli(['cross-sign', 'request', '--env', 'dev', '--mount', mount, '--csr-out', csr], { env });
    expect(req.exitCode, req.stderr).toBe(0);
    expect(req.stdout).toMatch(/cross-sign sign --root-dir DIR .* --path-len 0 --ttl \d+/);
    // Then no key was made, and the CSR carries the intermediate's public key and subject
    expect(JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/keys`]))).toEqual(keysBefore);
    const original = path.join(work, `${mount}-original.pem`);
    fs.writeFileSync(original, before.find((i) => i.id === defaultBefore)!.pem);
    const csrPub = (await openssl(['req', '-in', csr, '-noout', '-pubkey'])).stdout;
    expect(csrPub).toBe(await pubkey(original));
    // And the offline half signs it with the second root, without any network
    const twin = path.join(work, `${mount}-twin.pem`);
    const ttl = /--ttl (\d+)/.exec(req.stdout)![1]!;
    const sign = await cli(['cross-sign', 'sign', '--root-dir', roots.envRootDir, '--passphrase-file', roots.pass, '--csr', csr, '--out', twin, '--path-len', '0', '--ttl', ttl], { env: { CERTWRIGHT_HOME: path.join(work, 'home-env') } });
    expect(sign.exitCode, sign.stderr).toBe(0);
    expect((await openssl(['verify', '-CAfile', roots.envRoot, twin])).exitCode).toBe(0);
    // When it is installed
    const inst = await cli(['cross-sign', 'install', '--env', 'dev', '--mount', mount, '--cert', twin, '--root', roots.envRoot], { env });
    expect(inst.exitCode, inst.stderr).toBe(0);
    // Then both certificates carry the same public key and subject (openssl's view)
    expect(await pubkey(twin)).toBe(await pubkey(original));
    const subj = async (f: string) => (await openssl(['x509', '-in', f, '-noout', '-subject', '-nameopt', 'RFC2253'])).stdout;
    expect(await subj(twin)).toBe(await subj(original));
    // And the twin is an additional issuer on the same key; the default did not move
    expect(await defaultIssuer(mount)).toBe(defaultBefore);
    const after = await issuers(mount);
    expect(after.length).toBe(before.length + 2); // the twin and the second root (key-less)
    const twinIssuer = after.find((i) => i.pem.trim() === fs.readFileSync(twin, 'utf8').trim())!;
    expect(twinIssuer.key).toBe(before.find((i) => i.id === defaultBefore)!.key);
    // And the default issuer hands out both paths (manual_chain), so one issue call returns both
    expect(after.find((i) => i.id === defaultBefore)!.manual).toContain(twinIssuer.id);
    // And a second install changes nothing
    const again = await cli(['cross-sign', 'install', '--env', 'dev', '--mount', mount, '--cert', twin, '--root', roots.envRoot], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already installed/);
    expect((await issuers(mount)).length).toBe(after.length);
    // And the transcript records the install
    expect(fs.readFileSync(path.join(home, 'envs', 'dev', 'transcript.jsonl'), 'utf8')).toMatch(/"action":"cross-sign-install"/);
  });

  it('refuses a twin from the same root, a certificate for another key, and a wrong --root, changing nothing', async () => {
    const mount = uniqueMount();
    const other = uniqueMount();
    const home = path.join(work, `home-${mount}`);
    const env = vaultEnv(vault.server(), home);
    for (const m of [mount, other]) {
      const r = await cli(['intermediate', '--env', 'dev', '--mount', m, '--cn', `Build ${m}`, '--root-dir', roots.appRootDir, '--passphrase-file', roots.pass], { env });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const csr = path.join(work, `${mount}.csr`);
    expect((await cli(['cross-sign', 'request', '--env', 'dev', '--mount', mount, '--csr-out', csr], { env })).exitCode).toBe(0);
    const before = await issuers(mount);
    // Signed by the root that already signed it: not a cross-signature
    const same = path.join(work, `${mount}-same.pem`);
    expect((await cli(['cross-sign', 'sign', '--root-dir', roots.appRootDir, '--passphrase-file', roots.pass, '--csr', csr, '--out', same, '--ttl', '30d'], { env: { CERTWRIGHT_HOME: path.join(work, 'home-app') } })).exitCode).toBe(0);
    const sameRoot = await cli(['cross-sign', 'install', '--env', 'dev', '--mount', mount, '--cert', same, '--root', roots.appRoot], { env });
    expect(sameRoot.exitCode).toBe(1);
    expect(sameRoot.stderr).toMatch(/already signed the intermediate; a cross-signature needs a second root/);
    // A twin made for this mount's key, installed into another mount
    const twin = path.join(work, `${mount}-twin.pem`);
    expect((await cli(['cross-sign', 'sign', '--root-dir', roots.envRootDir, '--passphrase-file', roots.pass, '--csr', csr, '--out', twin, '--ttl', '30d'], { env: { CERTWRIGHT_HOME: path.join(work, 'home-env') } })).exitCode).toBe(0);
    const wrongMount = await cli(['cross-sign', 'install', '--env', 'dev', '--mount', other, '--cert', twin, '--root', roots.envRoot], { env });
    expect(wrongMount.exitCode).toBe(1);
    expect(wrongMount.stderr).toMatch(/carries a public key that no intermediate in .* holds/);
    expect(wrongMount.stderr).toMatch(/Fix: /);
    // The right certificate with a --root that did not sign it
    const wrongRoot = await cli(['cross-sign', 'install', '--env', 'dev', '--mount', mount, '--cert', twin, '--root', roots.appRoot], { env });
    expect(wrongRoot.exitCode).toBe(1);
    expect(wrongRoot.stderr).toMatch(/does not chain to/);
    expect(await issuers(mount)).toEqual(before);
  });

  it('cross-sign in one go is resumable and idempotent', async () => {
    const mount = uniqueMount();
    const home = path.join(work, `home-${mount}`);
    const env = vaultEnv(vault.server(), home);
    expect((await cli(['intermediate', '--env', 'dev', '--mount', mount, '--cn', 'Build B2', '--root-dir', roots.appRootDir, '--passphrase-file', roots.pass], { env })).exitCode).toBe(0);
    const out = path.join(work, `${mount}-onego.pem`);
    const first = await cli(['cross-sign', '--env', 'dev', '--mount', mount, '--root-dir', roots.envRootDir, '--passphrase-file', roots.pass, '--out', out], { env });
    expect(first.exitCode, first.stderr).toBe(0);
    expect((await openssl(['verify', '-CAfile', roots.envRoot, out])).exitCode).toBe(0);
    const state = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'dev', 'state.json'), 'utf8'));
    expect(state.steps[`cross-sign-install@${mount}`].status).toBe('done');
    // The foundation's own sign record for the intermediate is untouched by the cross-signature
    expect(state.steps[`intermediate-sign@${mount}`].facts.serial).not.toBe(state.steps[`cross-sign-sign@${mount}`].facts.serial);
    const listed = listing(path.dirname(out));
    const n = (await issuers(mount)).length;
    // A second run needs no passphrase and changes nothing
    const second = await cli(['cross-sign', '--env', 'dev', '--mount', mount, '--root-dir', roots.envRootDir, '--out', out], { env });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/already installed/);
    expect((await issuers(mount)).length).toBe(n);
    expect(listing(path.dirname(out))).toEqual(listed);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, useOpenBao, vaultEnv } from './helpers/env.js';
import { VaultClient } from '../source/vault/client.js';
import { doctorJson, issueLeaf, makeIntermediate, makeRoot, openssl, opensslPki, startSealableVault, statusJson, validateAgainstSchema, writeRole, type SealableVault } from './helpers/status.js';

/**
 * Status and doctor against a real OpenBao over HTTPS that can be sealed: the environment "prod"
 * has its own offline root; Vault's server certificate is issued (by a dev server's PKI signed with
 * that root) and served as leaf + intermediate; the environment's PKI mount lives in that Vault.
 */
const bao = useOpenBao();
const work = tempDir('cw-status-vault-');
const home = path.join(work, 'home');
let vault: SealableVault;
let rootFile: string;
let serverCert: string;
const MOUNT = 'pki_prod';

beforeAll(async () => {
  const dev = bao.server();
  const root = await makeRoot(home, 'prod', work);
  rootFile = root.rootFile;
  // Vault's own certificate: an intermediate under prod's root on the dev server issues it.
  await makeIntermediate(home, 'boot', 'pki_boot', root, vaultEnv(dev, home));
  const devClient = new VaultClient({ addr: dev.addr, token: dev.token });
  await writeRole(devClient, 'pki_boot', 'vault-server');
  const leaf = await issueLeaf(devClient, 'pki_boot', 'vault-server', 'localhost', '720h', { ip_sans: '127.0.0.1' });
  const tls = path.join(work, 'vault-tls');
  fs.mkdirSync(tls);
  serverCert = path.join(tls, 'server.crt');
  fs.writeFileSync(serverCert, leaf.certificate);
  fs.writeFileSync(path.join(tls, 'fullchain.pem'), leaf.certificate + leaf.chain);
  fs.writeFileSync(path.join(tls, 'server.key'), leaf.privateKey, { mode: 0o600 });
  vault = await startSealableVault({ cert: path.join(tls, 'fullchain.pem'), key: path.join(tls, 'server.key') }, rootFile, work);
  await makeIntermediate(home, 'prod', MOUNT, root, { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.token, VAULT_CACERT: rootFile });
}, 120_000);

afterAll(async () => {
  await vault?.stop();
});

const env = () => ({ CERTWRIGHT_HOME: home, VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.token });
// Containers other tests run on this machine are not this environment's: scope them out.
const SCOPE = ['--select', `cw5-none=${process.pid}`];

describe('status: Vault and PKI against a real OpenBao over HTTPS', () => {
  it('reports an unsealed Vault, its certificate and the PKI mount as they are, in JSON that matches the schema', async () => {
    const { exitCode, json } = await statusJson(['--env', 'prod', ...SCOPE], env());
    expect(await validateAgainstSchema('status', json)).toEqual([]);
    const v = json.sections.vault;
    expect(v).toMatchObject({ state: 'ok', addr: vault.addr, https: true, reachable: true, initialized: true, sealed: false, standby: false });
    expect(v.version).toMatch(/^2\./);
    // The certificate Vault serves is the one on disk (openssl reads it independently).
    const fp = (await openssl(['x509', '-in', serverCert, '-noout', '-fingerprint', '-sha256'])).split('=')[1]!.trim();
    const end = new Date((await openssl(['x509', '-in', serverCert, '-noout', '-enddate'])).split('=')[1]!.trim());
    expect(v.certificate.fingerprint).toBe(fp);
    expect(v.certificate.verified).toBe(true);
    expect(new Date(v.certificate.notAfter).getTime()).toBe(end.getTime());
    expect(v.certificate.daysLeft).toBeGreaterThan(29);
    const m = json.sections.pki.mounts.find((x: { path: string }) => x.path === MOUNT);
    expect(m.issuers).toHaveLength(2);
    const def = m.issuers.find((i: { isDefault: boolean }) => i.isDefault);
    expect(def.isRoot).toBe(false);
    expect(def.subject).toBe(`CN=prod ${MOUNT} CA`);
    expect(m.issuers.find((i: { isRoot: boolean }) => i.isRoot).subject).toBe('CN=prod Root CA');
    expect(m.defaultIssuer).toBe(def.id);
    expect(m.keys).toEqual({ total: 1, orphans: [] });
    expect(m.roles).toEqual([]);
    expect(json.sections.certificates.certificates.find((c: { role: string }) => c.role === 'root').path).toBe(rootFile);
    expect(json.health).toBe('ok');
    expect(exitCode).toBe(0);
  });

  it('sealed: Vault fails, PKI is unknown, exit 9; unsealed again: healthy, exit 0', async () => {
    await vault.seal();
    try {
      const sealed = await statusJson(['--env', 'prod', ...SCOPE], env());
      expect(sealed.exitCode).toBe(9);
      expect(sealed.json.sections.vault).toMatchObject({ state: 'fail', sealed: true, reachable: true });
      expect(sealed.json.sections.vault.reason).toMatch(/sealed/);
      expect(sealed.json.sections.pki).toMatchObject({ state: 'unknown', reason: 'Vault is sealed' });
      expect(sealed.json.problems).toContainEqual(expect.objectContaining({ section: 'vault', level: 'fail' }));
      expect(await validateAgainstSchema('status', sealed.json)).toEqual([]);
      const prom = await cli(['status', '--env', 'prod', ...SCOPE, '--format', 'prometheus'], { env: env() });
      expect(prom.exitCode).toBe(9);
      expect(prom.stdout).toMatch(new RegExp(`^certwright_vault_sealed\\{env="prod",addr="${vault.addr.replace(/[.]/g, '\\.')}"\\} 1$`, 'm'));
    } finally {
      await vault.unseal();
    }
    const unsealed = await statusJson(['--env', 'prod', ...SCOPE], env());
    expect(unsealed.json.sections.vault).toMatchObject({ state: 'ok', sealed: false });
    expect(unsealed.exitCode).toBe(0);
  });

  it('Vault\'s certificate inside the warning window is a warning (exit 8); an untrusted CA is a failure', async () => {
    const warn = await statusJson(['--env', 'prod', ...SCOPE, '--warn-days', '60'], env());
    expect(warn.json.sections.vault.state).toBe('warn');
    expect(warn.json.sections.vault.reason).toMatch(/expires in \d+(\.\d)? days/);
    expect(warn.exitCode).toBe(8);
    const other = await opensslPki(path.join(work, 'other'), 'other');
    const wrong = await statusJson(['--env', 'prod', ...SCOPE, '--vault-ca', other.root], env());
    expect(wrong.json.sections.vault.reachable).toBe(false);
    expect(wrong.json.sections.vault.reason).toMatch(/unknown authority/);
    expect(wrong.exitCode).toBe(9);
  });

  it('prints Prometheus metrics for the textfile collector, written atomically with --out', async () => {
    const out = path.join(work, 'textfile', 'certwright.prom');
    fs.mkdirSync(path.dirname(out));
    const r = await cli(['status', '--env', 'prod', ...SCOPE, '--format', 'prometheus', '--out', out], { env: env() });
    expect(r.exitCode).toBe(0);
    const text = fs.readFileSync(out, 'utf8');
    expect(fs.statSync(out).mode & 0o777).toBe(0o644);
    // Exposition format: HELP/TYPE per family, then samples "name{labels} value".
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) certwright_[a-z_]+ .+|certwright_[a-z_]+\{[^}]*\} -?[0-9.e+-]+)$/);
    expect(text).toMatch(/^certwright_vault_up\{env="prod",addr="[^"]+"\} 1$/m);
    expect(text).toMatch(/^certwright_vault_sealed\{env="prod",addr="[^"]+"\} 0$/m);
    const expiry = Number(/^certwright_vault_certificate_expiry_seconds\{[^}]*\} (\d+)$/m.exec(text)![1]);
    const notAfter = new X509Certificate(fs.readFileSync(serverCert)).validTo;
    expect(Math.abs(expiry - (new Date(notAfter).getTime() - Date.now()) / 1000)).toBeLessThan(120);
    expect(text).toMatch(new RegExp(`^certwright_issuer_expiry_seconds\\{env="prod",mount="${MOUNT}",[^}]*root="false",default="true"\\} \\d+$`, 'm'));
    expect(text).toMatch(/^certwright_certificate_expiry_seconds\{env="prod",path="[^"]*root-ca\.pem",role="root",/m);
  });
});

describe('doctor: PKI pitfalls planted for real in the HTTPS Vault', () => {
  it('finds http AIA/CRL URLs, orphan keys, a role TTL over the mount max, and an agent trusting the wrong CA', async () => {
    const client = new VaultClient({ addr: vault.addr, token: vault.token, ca: fs.readFileSync(rootFile, 'utf8') });
    await client.write(`${MOUNT}/config/urls`, { issuing_certificates: [`http://127.0.0.1:8200/v1/${MOUNT}/ca`], crl_distribution_points: [`http://127.0.0.1:8200/v1/${MOUNT}/crl`] });
    // A retried CSR generation leaves a key no issuer uses.
    const orphan = (await client.write<{ key_id: string }>(`${MOUNT}/intermediate/generate/internal`, { common_name: 'retry', key_type: 'ec' })).json!.data!.key_id;
    const tune = (await client.read<{ max_lease_ttl: number }>(`sys/mounts/${MOUNT}/tune`)).json!.data!.max_lease_ttl;
    await client.write(`${MOUNT}/roles/long`, { allow_any_name: true, ttl: tune + 3600, max_ttl: tune + 7200 });
    // Two agent configs: one trusting another CA (unknown authority), one trusting the root.
    const other = await opensslPki(path.join(work, 'other2'), 'wrong');
    const badDir = path.join(work, 'agent-bad');
    const goodDir = path.join(work, 'agent-good');
    for (const [dir, ca] of [[badDir, other.root], [goodDir, rootFile]] as const) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'agent.hcl'), `vault {\n  address = "${vault.addr}"\n  ca_cert = "${ca}"\n}\n`);
    }

    const status = await statusJson(['--env', 'prod', ...SCOPE], env());
    const m = status.json.sections.pki.mounts.find((x: { path: string }) => x.path === MOUNT);
    expect(m.urls.http).toBe(true);
    expect(m.keys.orphans).toEqual([orphan]);
    expect(m.state).toBe('warn');
    expect(m.reason).toMatch(/still http/);

    const { exitCode, json } = await doctorJson(['--env', 'prod', ...SCOPE, '--agent-config', path.join(badDir, 'agent.hcl'), '--agent-config', path.join(goodDir, 'agent.hcl')], env());
    expect(await validateAgainstSchema('doctor', json)).toEqual([]);
    const by = (id: string) => json.findings.filter((f: { check: string }) => f.check === id);
    expect(by('aia-crl-http')).toEqual([expect.objectContaining({ subject: `mount ${MOUNT}`, fix: `certwright switch-urls --env prod --mount ${MOUNT} --base ${vault.addr}` })]);
    expect(by('orphan-keys')).toEqual([expect.objectContaining({ subject: `mount ${MOUNT}: key ${orphan}`, fix: expect.stringContaining(`bao delete ${MOUNT}/key/${orphan}`) })]);
    expect(by('mount-ttl-short').map((f: { message: string }) => f.message)).toEqual([expect.stringMatching(/role long ttl \d+s is longer than the mount's max lease TTL/), expect.stringMatching(/role long max_ttl/)]);
    expect(by('mount-ttl-short')[0].fix).toMatch(new RegExp(`bao secrets tune -max-lease-ttl=${tune + 3600}s ${MOUNT}`));
    const ca = by('agent-ca-mismatch');
    expect(ca).toHaveLength(1);
    expect(ca[0].subject).toBe('agent agent-bad');
    expect(ca[0].message).toMatch(/unknown authority/);
    expect(ca[0].fix).toContain(rootFile);
    expect(json.checks.find((c: { id: string }) => c.id === 'agent-ca-mismatch').state).toBe('found');
    expect(exitCode).toBe(9);
  });
});

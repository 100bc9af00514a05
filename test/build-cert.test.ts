import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { cli, tempDir, openssl, useOpenBao, uniqueMount, vaultEnv, bao, listing, modeOf, BIN, BAO } from './helpers/env.js';
import { createRoots, crossSignedMount, type Roots } from './helpers/build-pki.js';
import { makeServerCert, startPostgres, startSServer, postgresAvailable, moduleLogger, type ServerCert, type Postgres } from './helpers/peers.js';

/**
 * The seed's build flow against a real OpenBao: a client-only role and AppRole, one certificate per
 * build with two trust paths (app root for Vault, environment root for PostgreSQL), proven with
 * openssl, a real PostgreSQL 15, openssl s_server, a -CApath hash dir and the mount's CRL.
 * The tests of this file share one cross-signed mount (set up once: two roots, intermediate,
 * cross-signature); tests that change roles use roles of their own.
 */
const vault = useOpenBao();
const pg = postgresAvailable();
if (!pg.ok) console.warn(`SKIPPED: the PostgreSQL login tests do not run here: ${pg.why}.`);

const SHA = '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49';
let work: string;
let roots: Roots;
let mount: string;
let home: string;
let env: Record<string, string>;
let roleIdFile: string;
let secretIdFile: string;
let server: ServerCert;

beforeAll(async () => {
  work = tempDir();
  roots = await createRoots(work);
  mount = uniqueMount('build');
  home = path.join(work, 'home');
  env = vaultEnv(vault.server(), home);
  await crossSignedMount(vault.server(), home, roots, mount);
  roleIdFile = path.join(work, 'role-id');
  secretIdFile = path.join(work, 'secret-id');
  const role = await cli(['build-role', '--env', 'dev', '--mount', mount, '--role', 'build', '--allowed-apps', 'app1,app2', '--ttl', '720h', '--role-id-out', roleIdFile, '--secret-id-out', secretIdFile], { env });
  expect(role.exitCode, role.stderr).toBe(0);
  server = await makeServerCert(work);
}, 120_000);

/** build-cert through AppRole only: no VAULT_TOKEN in its environment. */
async function buildCert(app: string, out: string, extra: string[] = [], sha = SHA) {
  return cli(
    ['build-cert', '--mount', mount, '--role', 'build', '--app', app, '--git-sha', sha, '--out', out, '--trust-path', `vault=${roots.appRoot}`, '--trust-path', `postgres=${roots.envRoot}`, '--role-id-file', roleIdFile, '--secret-id-file', secretIdFile, ...extra],
    { env: { VAULT_ADDR: vault.server().addr, CERTWRIGHT_HOME: home } },
  );
}

/** openssl verify of a bundle (leaf + intermediate) against one root. */
async function verifyBundle(bundle: string, root: string) {
  const dir = tempDir();
  const blocks = fs.readFileSync(bundle, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
  fs.writeFileSync(path.join(dir, 'leaf.pem'), blocks[0]!);
  fs.writeFileSync(path.join(dir, 'chain.pem'), blocks.slice(1).join(''));
  return openssl(['verify', '-purpose', 'sslclient', '-CAfile', root, '-untrusted', path.join(dir, 'chain.pem'), path.join(dir, 'leaf.pem')]);
}

describe('build-role', () => {
  it('makes a client-only role and an AppRole that may only issue on it; a second run changes nothing', async () => {
    const role = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/roles/build`])).data;
    expect(role).toMatchObject({ client_flag: true, server_flag: false, allow_ip_sans: false, allow_localhost: false, allow_any_name: false, allow_subdomains: false, allow_wildcard_certificates: false });
    expect(role.allowed_domains).toEqual(['app1', 'app2', '*.git']);
    expect(modeOf(secretIdFile)).toBe(0o600);
    const secretBefore = fs.readFileSync(secretIdFile, 'utf8');
    // The AppRole's token can issue on this role and do nothing else
    const login = JSON.parse(await bao(vault.server(), ['write', '-format=json', 'auth/approle/login', `role_id=${fs.readFileSync(roleIdFile, 'utf8').trim()}`, `secret_id=${secretBefore.trim()}`]));
    expect(login.auth.policies).toEqual([`certwright-build-${mount}-build`]);
    const asBuilder = (args: string[]) => execa(BAO, args, { env: { VAULT_ADDR: vault.server().addr, VAULT_TOKEN: login.auth.client_token, HOME: work }, reject: false });
    expect((await asBuilder(['write', '-format=json', `${mount}/issue/build`, 'common_name=app1', 'exclude_cn_from_sans=true'])).exitCode).toBe(0);
    for (const denied of [
      ['write', `${mount}/issue/other`, 'common_name=app1'],
      ['write', `${mount}/sign-verbatim`, 'csr=x'],
      ['write', `${mount}/roles/build`, 'allow_any_name=true'],
      ['read', 'sys/mounts'],
    ]) {
      const r = await asBuilder(denied);
      expect(r.exitCode, denied.join(' ')).not.toBe(0);
      expect(String(r.stderr)).toMatch(/permission denied|403/);
    }
    // The role refuses names that are not the apps, IP SANs and server use
    expect((await asBuilder(['write', `${mount}/issue/build`, 'common_name=evil'])).exitCode).not.toBe(0);
    expect((await asBuilder(['write', `${mount}/issue/build`, 'common_name=app1', 'ip_sans=127.0.0.1'])).exitCode).not.toBe(0);
    // A second run: nothing to do, the secret_id in the file is still valid and kept
    const again = await cli(['build-role', '--env', 'dev', '--mount', mount, '--role', 'build', '--allowed-apps', 'app1,app2', '--ttl', '720h', '--role-id-out', roleIdFile, '--secret-id-out', secretIdFile], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Nothing to do: everything is already in place/);
    expect(again.stderr).toMatch(/already as wanted/);
    expect(fs.readFileSync(secretIdFile, 'utf8')).toBe(secretBefore);
    const state = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'dev', 'state.json'), 'utf8'));
    expect(JSON.stringify(state)).not.toContain(secretBefore.trim());
  });
});

describe('build-cert', () => {
  let out: string;
  let first: Awaited<ReturnType<typeof buildCert>>;
  beforeAll(async () => {
    out = path.join(work, 'artefact-app1');
    first = await buildCert('app1', out, ['--env-prefix', 'APP1', '--install-dir', '/etc/app1/tls']);
  });

  it('issues through AppRole: key 0600, certificate with CN = app and the commit SAN, client use only', async () => {
    expect(first.exitCode, first.stderr).toBe(0);
    expect(listing(out)).toEqual(expect.arrayContaining([expect.stringMatching(/^key\.pem 600 /), expect.stringMatching(/^cert\.pem 644 /), expect.stringMatching(/^chain\.pem 644 /), expect.stringMatching(/^vault\.bundle\.pem 644 /), expect.stringMatching(/^postgres\.bundle\.pem 644 /), expect.stringMatching(/^build-cert\.env 644 /)]));
    expect(listing(out).some((l) => l.startsWith('.'))).toBe(false);
    const text = (await openssl(['x509', '-in', path.join(out, 'cert.pem'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/Subject: CN = app1\n/);
    expect(text).toMatch(new RegExp(`DNS:${SHA}\\.git`));
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    expect(text).not.toMatch(/IP Address|Server Authentication/);
    // The key belongs to the certificate
    const fromKey = (await openssl(['pkey', '-in', path.join(out, 'key.pem'), '-pubout'])).stdout;
    expect(fromKey).toBe((await openssl(['x509', '-in', path.join(out, 'cert.pem'), '-noout', '-pubkey'])).stdout);
    // chain.pem is the default path: the intermediate as signed by the app root, then that root
    expect((await openssl(['verify', '-CAfile', roots.appRoot, '-untrusted', path.join(out, 'chain.pem'), path.join(out, 'cert.pem')])).exitCode).toBe(0);
  });

  it('writes one bundle per trust path: each verifies against its own root and fails against the other', async () => {
    const vaultOwn = await verifyBundle(path.join(out, 'vault.bundle.pem'), roots.appRoot);
    expect(vaultOwn.exitCode, vaultOwn.stderr + vaultOwn.stdout).toBe(0);
    const pgOwn = await verifyBundle(path.join(out, 'postgres.bundle.pem'), roots.envRoot);
    expect(pgOwn.exitCode, pgOwn.stderr + pgOwn.stdout).toBe(0);
    const vaultOther = await verifyBundle(path.join(out, 'vault.bundle.pem'), roots.envRoot);
    expect(vaultOther.exitCode).not.toBe(0);
    expect(vaultOther.stderr + vaultOther.stdout).toMatch(/unable to get local issuer certificate/);
    expect((await verifyBundle(path.join(out, 'postgres.bundle.pem'), roots.appRoot)).exitCode).not.toBe(0);
    // Both bundles carry the same leaf, and two intermediates with one key
    const pems = (f: string) => fs.readFileSync(path.join(out, f), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
    expect(pems('vault.bundle.pem')[0]).toBe(pems('postgres.bundle.pem')[0]);
    expect(pems('vault.bundle.pem')[1]).not.toBe(pems('postgres.bundle.pem')[1]);
    const pub = async (pem: string) => (await openssl(['x509', '-noout', '-pubkey'], pem)).stdout;
    expect(await pub(pems('vault.bundle.pem')[1]!)).toBe(await pub(pems('postgres.bundle.pem')[1]!));
  });

  it('writes a 12-factor env file and appends an audit line', async () => {
    const envFile = fs.readFileSync(path.join(out, 'build-cert.env'), 'utf8');
    expect(envFile).toMatch(/^APP1_KEY=\/etc\/app1\/tls\/key\.pem$/m);
    expect(envFile).toMatch(/^APP1_CERT=\/etc\/app1\/tls\/cert\.pem$/m);
    expect(envFile).toMatch(/^APP1_VAULT=\/etc\/app1\/tls\/vault\.bundle\.pem$/m);
    expect(envFile).toMatch(/^APP1_POSTGRES=\/etc\/app1\/tls\/postgres\.bundle\.pem$/m);
    for (const line of envFile.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[A-Z0-9_]+=\S+$/);
    const serial = /Serial: (\S+)/.exec(first.stdout)![1]!;
    const audit = fs.readFileSync(path.join(home, 'audit', `${mount}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const entry = audit.find((e) => e.serial === serial);
    expect(entry).toMatchObject({ app: 'app1', commit: SHA, builder: expect.any(String), auth: 'approle', mount, role: 'build' });
    expect(new Date(entry.notAfter).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(entry.time).getTime()).toBeLessThanOrEqual(Date.now());
    expect(JSON.stringify(audit)).not.toMatch(/PRIVATE KEY|secret/i);
  });

  it('writes --env-out FILE that does not exist yet, through the real bin on this Node (--env-file was eaten by Node 20)', async () => {
    // Given an env file path whose directory and file do not exist yet
    const target = path.join(tempDir(), 'ci', 'build.env');
    const result = await buildCert('app2', path.join(work, 'artefact-env-out'), ['--env-out', target]);
    // Then certwright, not Node, reads the flag: the file is written where asked
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Env file: ${target}`);
    expect(fs.readFileSync(target, 'utf8')).toMatch(/^APP2_KEY=\S+key\.pem$/m);
    expect(fs.existsSync(path.join(work, 'artefact-env-out', 'build-cert.env'))).toBe(false);
  });

  it('refuses a malformed SHA, an app the role does not allow, a role without client use and a trust path that does not chain, writing nothing', async () => {
    const dir = path.join(work, 'refused');
    const short = await buildCert('app1', dir, [], '4f1c2b8');
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toMatch(/abbreviated commit[\s\S]*git rev-parse HEAD/);
    const junk = await buildCert('app1', dir, [], 'not-a-sha');
    expect(junk.exitCode).toBe(2);
    expect(junk.stderr).toMatch(/is not a git commit hash/);
    const notAllowed = await buildCert('app3', dir);
    expect(notAllowed.exitCode).toBe(1);
    expect(notAllowed.stderr).toMatch(/"app3" is not allowed by .*roles\/build[\s\S]*Fix: .*--allowed-apps app1,app2,app3/);
    // A server-only role, read and issued with a token
    await bao(vault.server(), ['write', `${mount}/roles/server`, 'allowed_domains=app1,*.git', 'allow_bare_domains=true', 'allow_glob_domains=true', 'client_flag=false', 'server_flag=true']);
    const serverRole = await cli(['build-cert', '--mount', mount, '--role', 'server', '--app', 'app1', '--git-sha', SHA, '--out', dir], { env });
    expect(serverRole.exitCode).toBe(1);
    expect(serverRole.stderr).toMatch(/does not allow client certificates \(client_flag is false\)/);
    // A trust path whose CA the intermediate does not chain to
    const stray = await buildCert('app1', dir, ['--trust-path', `web=${server.caFile}`]);
    expect(stray.exitCode).toBe(1);
    expect(stray.stderr).toMatch(/--trust-path web: the intermediate .* does not chain to/);
    expect(stray.stderr).toMatch(/Fix: .*cross-sign/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('never loads React or Ink', async () => {
    const dir = tempDir();
    const { importArg, log } = moduleLogger(dir);
    const result = await execa('node', ['--import', importArg, BIN, 'build-cert', '--mount', mount, '--role', 'build', '--app', 'app2', '--git-sha', SHA, '--out', path.join(dir, 'out'), '--trust-path', `postgres=${roots.envRoot}`, '--role-id-file', roleIdFile, '--secret-id-file', secretIdFile], {
      env: { VAULT_ADDR: vault.server().addr, CERTWRIGHT_HOME: home, PATH: process.env.PATH, HOME: dir },
      extendEnv: false,
      reject: false,
    });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const loaded = fs.readFileSync(log, 'utf8');
    expect(loaded).toMatch(/steps\/defs\/build\.js/);
    expect(loaded).not.toMatch(/node_modules\/(react|ink|@inkjs|react-reconciler|@inquirer)\//);
    expect(loaded).not.toMatch(/node_modules\/(@peculiar|conf)\//);
  });
});

describe('build certificates at real peers', () => {
  let postgres: Postgres | undefined;
  let app1: string;
  let app2: string;
  beforeAll(async () => {
    app1 = path.join(work, 'peer-app1');
    app2 = path.join(work, 'peer-app2');
    for (const [app, dir] of [['app1', app1], ['app2', app2]] as const) {
      const r = await buildCert(app, dir);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    if (pg.ok) postgres = await startPostgres({ server, clientCaFile: roots.envRoot, users: ['app1', 'app2'] });
  }, 90_000);
  afterAll(async () => {
    await postgres?.stop();
  });

  it.skipIf(!pg.ok)('PostgreSQL (ssl_ca_file = the environment root, cert clientcert=verify-full) lets the build certificate in as its app and nobody else', async () => {
    const db = postgres!;
    const ok = await db.login('app1', path.join(app1, 'postgres.bundle.pem'), path.join(app1, 'key.pem'), server.caFile);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('app1');
    // Another app's certificate, as app1: CN mismatch
    const otherApp = await db.login('app1', path.join(app2, 'postgres.bundle.pem'), path.join(app2, 'key.pem'), server.caFile);
    expect(otherApp.exitCode).not.toBe(0);
    expect(otherApp.stderr).toMatch(/certificate authentication failed for user "app1"/);
    // The same certificate with the chain to the other root (the Vault trust path)
    const otherRoot = await db.login('app1', path.join(app1, 'vault.bundle.pem'), path.join(app1, 'key.pem'), server.caFile);
    expect(otherRoot.exitCode).not.toBe(0);
    expect(otherRoot.stderr).toMatch(/unknown ca|certificate verify failed|unable to get local issuer/i);
  });

  it('verify-tls completes a mutual handshake with a server that requires client certificates, and names the failure otherwise', async () => {
    const s = await startSServer(server, roots.envRoot);
    try {
      const target = `127.0.0.1:${s.port}`;
      const good = await cli(['verify-tls', '--connect', target, '--ca', server.caFile, '--cert', path.join(app1, 'postgres.bundle.pem'), '--key', path.join(app1, 'key.pem')]);
      expect(good.exitCode, good.stderr + good.stdout).toBe(0);
      expect(good.stdout).toMatch(/Server presented:\n\s+0\s+CN=localhost/);
      expect(good.stdout).toMatch(/verified against --ca .*: yes/);
      expect(good.stdout).toMatch(/Client presented[\s\S]*0\s+CN=app1[\s\S]*1\s+CN=Build Server B1 .*issued by CN=Stage/);
      expect(good.stdout).toMatch(/accepted by the server: yes/);
      expect(good.stdout).toMatch(/mutual TLS verified on both sides/);
      const tls12 = await cli(['verify-tls', '--connect', target, '--ca', server.caFile, '--cert', path.join(app1, 'postgres.bundle.pem'), '--key', path.join(app1, 'key.pem'), '--tls-version', '1.2', '--json']);
      expect(tls12.exitCode, tls12.stderr).toBe(0);
      expect(JSON.parse(tls12.stdout)).toMatchObject({ protocol: 'TLSv1.2', ok: true, client: { accepted: true } });
      const wrongPath = await cli(['verify-tls', '--connect', target, '--ca', server.caFile, '--cert', path.join(app1, 'vault.bundle.pem'), '--key', path.join(app1, 'key.pem')]);
      expect(wrongPath.exitCode).toBe(1);
      expect(wrongPath.stdout).toMatch(/accepted by the server: NO \(the server sent alert "unknown CA"/);
      expect(wrongPath.stderr).toMatch(/Fix: Present the bundle whose root the server trusts/);
      const noCert = await cli(['verify-tls', '--connect', target, '--ca', server.caFile]);
      expect(noCert.exitCode).toBe(1);
      expect(noCert.stdout).toMatch(/connection kept by the server: NO \(the server sent alert "certificate required"/);
      const wrongCa = await cli(['verify-tls', '--connect', target, '--ca', roots.appRoot, '--cert', path.join(app1, 'postgres.bundle.pem'), '--key', path.join(app1, 'key.pem')]);
      expect(wrongCa.exitCode).toBe(1);
      expect(wrongCa.stdout).toMatch(/verified against --ca .*: NO/);
    } finally {
      await s.stop();
    }
  });

  it('hashdir writes a -CApath directory that openssl verify uses, and a second run changes nothing', async () => {
    const dir = path.join(work, 'hashdir');
    const r = await cli(['hashdir', '--out', dir, roots.appRoot, roots.envRoot, server.caFile]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const root of [roots.appRoot, roots.envRoot, server.caFile]) {
      const hash = (await openssl(['x509', '-in', root, '-noout', '-subject_hash'])).stdout.trim();
      expect(fs.readlinkSync(path.join(dir, `${hash}.0`))).toMatch(/\.pem$/);
    }
    for (const [bundle, ok] of [['postgres.bundle.pem', true], ['vault.bundle.pem', true]] as const) {
      const blocks = fs.readFileSync(path.join(app1, bundle), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
      const untrusted = path.join(work, `untrusted-${bundle}`);
      fs.writeFileSync(untrusted, blocks.slice(1).join(''));
      const v = await openssl(['verify', '-CApath', dir, '-untrusted', untrusted, path.join(app1, 'cert.pem')]);
      expect(v.exitCode === 0, v.stderr + v.stdout).toBe(ok);
    }
    // Without the links, the same directory of PEM files is not searched (OpenSSL fails silently)
    const plain = path.join(work, 'plain');
    fs.mkdirSync(plain);
    fs.copyFileSync(roots.envRoot, path.join(plain, 'env.pem'));
    fs.writeFileSync(path.join(work, 'u.pem'), fs.readFileSync(path.join(app1, 'postgres.bundle.pem'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/)[1]!);
    expect((await openssl(['verify', '-CApath', plain, '-untrusted', path.join(work, 'u.pem'), path.join(app1, 'cert.pem')])).exitCode).not.toBe(0);
    const before = listing(dir);
    const again = await cli(['hashdir', '--out', dir, roots.envRoot, roots.appRoot]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/already there/);
    expect(listing(dir)).toEqual(before);
  });
});

describe('revoke', () => {
  async function crlSerials(m: string): Promise<string> {
    const res = await fetch(`${vault.server().addr}/v1/${m}/crl/pem`);
    return (await openssl(['crl', '-noout', '-text'], await res.text())).stdout;
  }

  it('revokes a build certificate; its serial is in the CRL fetched from the mount; again is a no-op', async () => {
    const dir = path.join(work, 'to-revoke');
    const r = await buildCert('app2', dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const serial = /Serial: (\S+)/.exec(r.stdout)![1]!;
    const opensslSerial = serial.replace(/:/g, '').toUpperCase();
    expect(await crlSerials(mount)).not.toContain(opensslSerial);
    const rev = await cli(['revoke', '--mount', mount, '--serial', serial], { env });
    expect(rev.exitCode, rev.stderr).toBe(0);
    expect(rev.stderr).toMatch(/is listed in the CRL/);
    expect(await crlSerials(mount)).toContain(`Serial Number: ${opensslSerial}`);
    // openssl, given the CRL, refuses the certificate
    const crlFile = path.join(work, 'mount.crl.pem');
    fs.writeFileSync(crlFile, await (await fetch(`${vault.server().addr}/v1/${mount}/crl/pem`)).text());
    const chain = path.join(dir, 'chain.pem');
    const v = await openssl(['verify', '-crl_check', '-CRLfile', crlFile, '-CAfile', roots.appRoot, '-untrusted', chain, path.join(dir, 'cert.pem')]);
    expect(v.stderr + v.stdout).toMatch(/certificate revoked/);
    const again = await cli(['revoke', '--mount', mount, '--serial', opensslSerial], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already revoked/);
  });

  it('revokes a build-server intermediate signed by the mount (pathlen 0 below it); it shows up in the CRL', async () => {
    // Given a CA mount (Vault-managed here) that signs a build-server intermediate for another mount
    const envMount = uniqueMount('envca');
    const b1 = uniqueMount('b1');
    await bao(vault.server(), ['secrets', 'enable', `-path=${envMount}`, 'pki']);
    await bao(vault.server(), ['write', `${envMount}/root/generate/internal`, 'common_name=Stage Env CA', 'ttl=720h', 'key_type=ec']);
    await bao(vault.server(), ['secrets', 'enable', `-path=${b1}`, 'pki']);
    const gen = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${b1}/intermediate/generate/internal`, 'common_name=Build Server B9', 'key_type=ec']));
    const signed = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${envMount}/root/sign-intermediate`, `csr=${gen.data.csr}`, 'common_name=Build Server B9', 'ttl=240h', 'max_path_length=0']));
    const serial = signed.data.serial_number as string;
    const rev = await cli(['revoke', '--mount', envMount, '--serial', serial], { env });
    expect(rev.exitCode, rev.stderr).toBe(0);
    expect(rev.stdout).toMatch(/Revoked: .*CN=Build Server B9/);
    expect(await crlSerials(envMount)).toContain(`Serial Number: ${serial.replace(/:/g, '').toUpperCase()}`);
    // An unknown serial names the fix
    const unknown = await cli(['revoke', '--mount', envMount, '--serial', '01:02:03'], { env });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/holds no certificate or issuer with serial 01:02:03[\s\S]*Fix: /);
    const bad = await cli(['revoke', '--mount', envMount, '--serial', 'zz'], { env });
    expect(bad.exitCode).toBe(2);
  });
});

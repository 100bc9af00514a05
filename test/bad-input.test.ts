import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, useOpenBao, uniqueMount, writePassphrase, openssl, listing, pool, type CliResult } from './helpers/env.js';

/**
 * Issue 12's bad-input corpus: inputs an unlucky operator (or a script with a typo) gives each
 * command. Every case must exit 1 or 2 (the README's "input refused" codes, never 70), print a
 * `Fix:` line, write no file (its work directory, its copy of the state home, the shared fixtures
 * and the offline root are listed before and after) and leave state.json byte-identical. One
 * OpenBao dev server for the file; each case gets its own copy of a state home that already holds
 * a root and an installed intermediate. Cases run a few at a time.
 */
const vault = useOpenBao();

interface Ctx {
  /** The case's own work directory (outputs go here, so a partial file would show). */
  w: string;
  /** Shared read-only fixtures. */
  f: string;
  /** The offline root directory (shared, read-only). */
  r: string;
  /** The installed intermediate's mount. */
  m: string;
}
type Case = [name: string, args: (c: Ctx) => string[], env?: (c: Ctx) => Record<string, string | undefined>];

/**
 * The one file a refused input may add: the hook's event log records each payload it refused
 * (a verify-failed line, by design: status shows it). Nothing else, for any case.
 */
const EVENT_LOG = /^home\/envs\/bad\/events\.jsonl 600 \d+$/;

let fixtures: string;
let rootDir: string;
let baseHome: string;
let mount: string;

beforeAll(async () => {
  const work = tempDir('cw-bad-');
  fixtures = path.join(work, 'fixtures');
  fs.mkdirSync(fixtures);
  rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  baseHome = path.join(work, 'home');
  mount = uniqueMount('bad');
  const f = (name: string) => path.join(fixtures, name);
  writePassphrase(fixtures);
  fs.writeFileSync(f('pass-open'), 'correct horse battery staple\n', { mode: 0o644 });
  fs.chmodSync(f('pass-open'), 0o644);
  fs.writeFileSync(f('pass-short'), 'short\n', { mode: 0o600 });
  fs.writeFileSync(f('pass-wrong'), 'not the passphrase at all\n', { mode: 0o600 });
  fs.writeFileSync(f('garbage.pem'), 'this is not PEM\n');
  fs.writeFileSync(f('empty'), '');
  fs.mkdirSync(f('dir'));
  fs.writeFileSync(f('estate-broken.yaml'), 'env: [prod\n  vault: {\n');
  fs.writeFileSync(f('estate-unknown.yaml'), 'env: prod\nbogus_field: 1\n');
  fs.writeFileSync(f('payload-broken.json'), '{"certificate": "-----BEGIN');
  for (const [name, gen] of [['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']]] as const) {
    expect((await openssl(['genpkey', ...gen, '-out', f(`${name}.key`)])).exitCode).toBe(0);
    expect((await openssl(['req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=Bad Input ${name}`, '-out', f(`${name}.csr`)])).exitCode).toBe(0);
  }
  fs.chmodSync(f('ec.key'), 0o644);
  const env = { CERTWRIGHT_HOME: baseHome, VAULT_ADDR: vault.server().addr, VAULT_TOKEN: vault.server().token };
  const created = await cli(['root', 'create', '--env', 'bad', '--out', rootDir, '--cn', 'Bad Input Root', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', f('passphrase')], { env });
  expect(created.exitCode, created.stderr).toBe(0);
  const int = await cli(['intermediate', '--env', 'bad', '--mount', mount, '--cn', 'Bad Input Int', '--root-dir', rootDir, '--passphrase-file', f('passphrase')], { env });
  expect(int.exitCode, int.stderr).toBe(0);
}, 120_000);

const E = ['--env', 'bad'];
const P = (c: Ctx) => ['--passphrase-file', path.join(c.f, 'passphrase')];
const fx = (c: Ctx, name: string) => path.join(c.f, name);
const sign = (c: Ctx, extra: string[], csr = fx(c, 'ec.csr')) => ['intermediate', 'sign', ...E, '--root-dir', c.r, ...P(c), '--csr', csr, '--out', path.join(c.w, 'int.pem'), ...extra];
const rootCreate = (c: Ctx, extra: string[]) => ['root', 'create', '--env', 'fresh', '--out', path.join(c.w, 'root'), '--cn', 'Fresh Root', ...P(c), ...extra];
const request = (c: Ctx, extra: string[]) => ['intermediate', 'request', ...E, '--mount', 'pki_new', '--cn', 'New Int', '--csr-out', path.join(c.w, 'new.csr'), ...extra];
const buildRole = (c: Ctx, extra: string[]) => ['build-role', ...E, '--mount', c.m, '--role', 'bi', '--allowed-apps', 'app1', '--role-id-out', path.join(c.w, 'ci', 'role-id'), ...extra];
const buildCert = (c: Ctx, extra: string[]) => ['build-cert', '--mount', c.m, '--app', 'app1', '--git-sha', '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49', '--out', path.join(c.w, 'build'), ...extra];
const vaultCert = (c: Ctx, extra: string[]) => ['vault-cert', ...E, '--mount', c.m, '--out', path.join(c.w, 'tls'), ...extra];
const vaultHttps = (c: Ctx, extra: string[]) => ['vault-https', ...E, '--tls-dir', fx(c, 'dir'), '--out', path.join(c.w, 'vh'), ...extra];
const agentApp = (c: Ctx, extra: string[]) => ['agent', 'app', ...E, '--mount', c.m, '--name', 'web', '--common-name', 'web.test', '--tls-dir', path.join(c.w, 'tls'), '--out', path.join(c.w, 'agent'), '--allow-http', ...extra];
const hook = (c: Ctx, extra: string[]) => ['hook', ...E, '--name', 'web', '--tls-dir', path.join(c.w, 'tls'), '--trust', path.join(c.r, 'root-ca.pem'), ...extra];
const verifyTls = (c: Ctx, extra: string[]) => ['verify-tls', '--ca', path.join(c.r, 'root-ca.pem'), ...extra];
const noToken = () => ({ VAULT_TOKEN: undefined });

const CASES: Case[] = [
  // root create (a new environment: not even its directory may appear)
  ['root create: no --cn', (c) => rootCreate(c, []).filter((a, i, all) => a !== '--cn' && all[i - 1] !== '--cn')],
  ['root create: --key-type dsa', (c) => rootCreate(c, ['--key-type', 'dsa'])],
  ['root create: --ttl 0', (c) => rootCreate(c, ['--ttl', '0'])],
  ['root create: --path-len -1', (c) => rootCreate(c, ['--path-len', '-1'])],
  ['root create: passphrase file readable by others', (c) => rootCreate(c, []).map((a) => (a === path.join(c.f, 'passphrase') ? fx(c, 'pass-open') : a))],
  ['root create: passphrase too short', (c) => rootCreate(c, []).map((a) => (a === path.join(c.f, 'passphrase') ? fx(c, 'pass-short') : a))],
  ['root create: --out is a file', (c) => rootCreate(c, []).map((a) => (a === path.join(c.w, 'root') ? fx(c, 'garbage.pem') : a))],
  ['root create: --cn with a line break', (c) => rootCreate(c, ['--cn', 'Root\nEvil'])],
  ['root create: --env with a space', (c) => rootCreate(c, ['--env', 'Bad Env'])],
  ['root create: a second root over the first', (c) => ['root', 'create', ...E, '--out', c.r, '--cn', 'Again', ...P(c)]],
  // root crl
  ['root crl: --revoke without --reason', (c) => ['root', 'crl', ...E, '--root-dir', c.r, ...P(c), '--out', path.join(c.w, 'root.crl'), '--revoke', '0a:0b']],
  ['root crl: --reason bogus', (c) => ['root', 'crl', ...E, '--root-dir', c.r, ...P(c), '--out', path.join(c.w, 'root.crl'), '--revoke', '0a:0b', '--reason', 'bogus']],
  ['root crl: --next-update 0', (c) => ['root', 'crl', ...E, '--root-dir', c.r, ...P(c), '--out', path.join(c.w, 'root.crl'), '--next-update', '0']],
  ['root crl: wrong passphrase', (c) => ['root', 'crl', ...E, '--root-dir', c.r, '--passphrase-file', fx(c, 'pass-wrong'), '--out', path.join(c.w, 'root.crl')]],
  // intermediate request (online)
  ['intermediate request: --mount sys', (c) => request(c, ['--mount', 'sys'])],
  ['intermediate request: --key-type ed25519', (c) => request(c, ['--key-type', 'ed25519'])],
  ['intermediate request: --max-ttl forever', (c) => request(c, ['--max-ttl', 'forever'])],
  ['intermediate request: --csr-out is a directory', (c) => request(c, ['--csr-out', fx(c, 'dir')])],
  ['intermediate request: --vault-addr garbage', (c) => request(c, ['--vault-addr', 'not a url'])],
  ['intermediate request: no Vault token', (c) => request(c, []), noToken],
  // intermediate sign (offline)
  ['intermediate sign: --csr missing', (c) => sign(c, [], fx(c, 'no-such.csr'))],
  ['intermediate sign: --csr not PEM', (c) => sign(c, [], fx(c, 'garbage.pem'))],
  ['intermediate sign: --csr is a key', (c) => sign(c, [], fx(c, 'ec.key'))],
  ['intermediate sign: RSA-1024 CSR', (c) => sign(c, [], fx(c, 'rsa1024.csr'))],
  ['intermediate sign: --path-len above the root\'s', (c) => sign(c, ['--path-len', '5'])],
  ['intermediate sign: --ttl 99999y', (c) => sign(c, ['--ttl', '99999y'])],
  ['intermediate sign: --permitted-dns .example.test', (c) => sign(c, ['--permitted-dns', '.example.test'])],
  ['intermediate sign: --permitted-ip /33', (c) => sign(c, ['--permitted-ip', '10.0.0.0/33'])],
  ['intermediate sign: --excluded-dns with a star', (c) => sign(c, ['--excluded-dns', '*.example.test'])],
  ['intermediate sign: --crl-url ftp://', (c) => sign(c, ['--crl-url', 'ftp://pki.test/root.crl'])],
  ['intermediate sign: --allow-key-type weak', (c) => sign(c, ['--allow-key-type', 'weak'])],
  ['intermediate sign: --out is a directory', (c) => sign(c, []).map((a) => (a === path.join(c.w, 'int.pem') ? fx(c, 'dir') : a))],
  ['intermediate sign: wrong passphrase', (c) => sign(c, []).map((a) => (a === path.join(c.f, 'passphrase') ? fx(c, 'pass-wrong') : a))],
  // intermediate install
  ['intermediate install: --cert missing', (c) => ['intermediate', 'install', ...E, '--mount', c.m, '--cert', fx(c, 'nope.pem'), '--root', path.join(c.r, 'root-ca.pem')]],
  ['intermediate install: --root is a CSR', (c) => ['intermediate', 'install', ...E, '--mount', c.m, '--cert', path.join(c.r, 'root-ca.pem'), '--root', fx(c, 'ec.csr')]],
  ['intermediate install: --aia-base ftp://', (c) => ['intermediate', 'install', ...E, '--mount', c.m, '--cert', path.join(c.r, 'root-ca.pem'), '--root', path.join(c.r, 'root-ca.pem'), '--aia-base', 'ftp://vault.test']],
  ['intermediate install: --mount with no CSR pending', (c) => ['intermediate', 'install', ...E, '--mount', 'pki_none', '--cert', path.join(c.r, 'root-ca.pem'), '--root', path.join(c.r, 'root-ca.pem')]],
  // intermediate (one go)
  ['intermediate: --root-dir missing', (c) => ['intermediate', ...E, '--mount', 'pki_one', '--cn', 'One', '--root-dir', path.join(c.w, 'nope'), ...P(c)]],
  ['intermediate: --path-len abc', (c) => ['intermediate', ...E, '--mount', 'pki_one', '--cn', 'One', '--root-dir', c.r, ...P(c), '--path-len', 'abc']],
  // build-role
  ['build-role: no such mount', (c) => buildRole(c, ['--mount', 'pki_absent'])],
  ['build-role: --role with a space', (c) => buildRole(c, ['--role', 'bad role'])],
  ['build-role: --key-type rsa-1024', (c) => buildRole(c, ['--key-type', 'rsa-1024'])],
  ['build-role: --bound-cidrs 300.0.0.0/8', (c) => buildRole(c, ['--bound-cidrs', '300.0.0.0/8'])],
  ['build-role: --approle-mount with a space', (c) => buildRole(c, ['--approle-mount', 'app role'])],
  // build-cert
  ['build-cert: --git-sha too short', (c) => buildCert(c, []).map((a) => (a.length === 40 && /^[0-9a-f]+$/.test(a) ? 'abc123' : a))],
  ['build-cert: --app with a space', (c) => buildCert(c, ['--app', 'bad app'])],
  ['build-cert: --trust-path without =', (c) => buildCert(c, ['--trust-path', 'vault'])],
  ['build-cert: --env-prefix 1BAD', (c) => buildCert(c, ['--env-prefix', '1BAD'])],
  ['build-cert: --install-dir with a line break', (c) => buildCert(c, ['--install-dir', '/opt/x\nLD_PRELOAD=./evil.so'])],
  // An --env-file FILE that does not exist never reaches certwright: Node 20 exits 9 first (see test/safety.test.ts)
  ['build-cert: --env-file (renamed)', (c) => buildCert(c, ['--env-file', fx(c, 'empty')])],
  ['build-cert: --secret-id-file without --role-id-file', (c) => buildCert(c, ['--secret-id-file', fx(c, 'passphrase')])],
  // cross-sign
  ['cross-sign request: no such mount', (c) => ['cross-sign', 'request', ...E, '--mount', 'pki_absent', '--csr-out', path.join(c.w, 'x.csr')]],
  ['cross-sign sign: --csr not PEM', (c) => ['cross-sign', 'sign', '--root-dir', c.r, ...P(c), '--csr', fx(c, 'garbage.pem'), '--out', path.join(c.w, 'twin.pem')]],
  ['cross-sign sign: RSA-1024 CSR', (c) => ['cross-sign', 'sign', '--root-dir', c.r, ...P(c), '--csr', fx(c, 'rsa1024.csr'), '--out', path.join(c.w, 'twin.pem')]],
  ['cross-sign install: --cert missing', (c) => ['cross-sign', 'install', ...E, '--mount', c.m, '--cert', fx(c, 'nope.pem'), '--root', path.join(c.r, 'root-ca.pem')]],
  // verify-tls
  ['verify-tls: --connect without a port', (c) => verifyTls(c, ['--connect', '127.0.0.1'])],
  ['verify-tls: --ca missing', (c) => ['verify-tls', '--connect', '127.0.0.1:8200', '--ca', fx(c, 'nope.pem')]],
  ['verify-tls: --tls-version 1.1', (c) => verifyTls(c, ['--connect', '127.0.0.1:8200', '--tls-version', '1.1'])],
  ['verify-tls: --key without --cert', (c) => verifyTls(c, ['--connect', '127.0.0.1:8200', '--key', fx(c, 'ec.key')])],
  // hashdir
  ['hashdir: a missing file', (c) => ['hashdir', '--out', path.join(c.w, 'hash'), fx(c, 'nope.pem')]],
  ['hashdir: a file that is not PEM', (c) => ['hashdir', '--out', path.join(c.w, 'hash'), fx(c, 'garbage.pem')]],
  // revoke
  ['revoke: --serial zz', (c) => ['revoke', ...E, '--mount', c.m, '--serial', 'zz:yy']],
  ['revoke: no such mount', () => ['revoke', ...E, '--mount', 'pki_absent', '--serial', '0a:0b']],
  // vault-cert
  ['vault-cert: --dns bad_name!', (c) => vaultCert(c, ['--dns', 'bad_name!'])],
  ['vault-cert: --ip 999.1.1.1', (c) => vaultCert(c, ['--ip', '999.1.1.1'])],
  ['vault-cert: --owner abc', (c) => vaultCert(c, ['--owner', 'abc'])],
  ['vault-cert: --ttl 99999y', (c) => vaultCert(c, ['--ttl', '99999y'])],
  // vault-https
  ['vault-https: --listen .0.0.1:8240', (c) => vaultHttps(c, ['--listen', '.0.0.1:8240'])],
  ['vault-https: --storage mysql', (c) => vaultHttps(c, ['--storage', 'mysql'])],
  ['vault-https: --runtime docker', (c) => vaultHttps(c, ['--runtime', 'docker'])],
  ['vault-https: --tls-dir missing', (c) => vaultHttps(c, []).map((a) => (a === fx(c, 'dir') ? path.join(c.w, 'nope') : a))],
  ['vault-https: --api-addr not a URL', (c) => vaultHttps(c, ['--api-addr', 'vault'])],
  ['vault-https: --bao-binary with no --image to run it in', (c) => vaultHttps(c, ['--bao-binary', process.execPath, '--start'])],
  // vault-init / vault-unseal / switch-urls
  ['vault-init: --key-shares 0', () => ['vault-init', ...E, '--key-shares', '0']],
  ['vault-init: --key-threshold above --key-shares', () => ['vault-init', ...E, '--key-shares', '3', '--key-threshold', '9']],
  ['vault-unseal: --key-file missing', (c) => ['vault-unseal', ...E, '--key-file', fx(c, 'nope.json')]],
  ['switch-urls: --base http://', (c) => ['switch-urls', ...E, '--mount', c.m, '--base', 'http://127.0.0.1:8200']],
  ['switch-urls: --base not a URL', (c) => ['switch-urls', ...E, '--mount', c.m, '--base', 'vault']],
  // agent app / proxy
  ['agent app: --name with a space', (c) => agentApp(c, ['--name', 'bad name'])],
  ['agent app: --common-name with a space', (c) => agentApp(c, ['--common-name', 'bad name.test'])],
  ['agent app: --user nobody-here', (c) => agentApp(c, ['--user', 'cw-no-such-user'])],
  ['agent app: --select without =', (c) => agentApp(c, ['--select', 'tls'])],
  ['agent app: --ca-file missing', (c) => agentApp(c, ['--ca-file', fx(c, 'nope.pem')])],
  ['agent proxy: no --ca-out', (c) => ['agent', 'proxy', ...E, '--mount', c.m, '--name', 'edge', '--out', path.join(c.w, 'agent'), '--allow-http']],
  // hook
  ['hook: neither --tls-dir nor --ca-out', (c) => ['hook', ...E, '--payload', fx(c, 'payload-broken.json')]],
  ['hook: --payload missing', (c) => hook(c, ['--payload', fx(c, 'nope.json')])],
  ['hook: --payload not JSON', (c) => hook(c, ['--payload', fx(c, 'payload-broken.json')])],
  ['hook: --keep 1', (c) => hook(c, ['--payload', fx(c, 'payload-broken.json'), '--keep', '1'])],
  // distribute-ca
  ['distribute-ca: no such user', (c) => ['distribute-ca', '--ca', path.join(c.r, 'root-ca.pem'), '--users', 'cw-no-such-user']],
  ['distribute-ca: --ca missing', (c) => ['distribute-ca', '--ca', fx(c, 'nope.pem'), '--users', 'root']],
  ['distribute-ca: --ca is a private key', (c) => ['distribute-ca', '--ca', fx(c, 'ec.key'), '--users', 'root']],
  // status / doctor / tree / state / plan / apply
  ['status: --format xml', () => ['status', ...E, '--format', 'xml']],
  ['status: --interval 1', () => ['status', ...E, '--interval', '1']],
  ['doctor: --warn-days -3', () => ['doctor', ...E, '--warn-days', '-3']],
  ['tree: --preset nosuch', () => ['tree', ...E, '--preset', 'nosuch']],
  ['state forget: no such record', () => ['state', 'forget', ...E, '--record', 'nosuch@pki_x']],
  ['plan: --file broken YAML', (c) => ['plan', '--file', fx(c, 'estate-broken.yaml')]],
  ['plan: --file with an unknown field', (c) => ['plan', '--file', fx(c, 'estate-unknown.yaml')]],
  ['apply: --file with an unknown field', (c) => ['apply', '--file', fx(c, 'estate-unknown.yaml'), '--yes']],
  // the CLI itself
  ['an unknown command', () => ['rootcreate', '--env', 'bad']],
  ['an unknown flag', () => ['intermediate', 'request', ...E, '--no-such-flag']],
  ['--env missing where required', (c) => ['intermediate', 'request', '--cn', 'X', '--csr-out', path.join(c.w, 'x.csr')]],
];

const sha = (file: string) => (fs.existsSync(file) ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent');

interface Outcome {
  name: string;
  problems: string[];
  result: CliResult;
  ms: number;
}

async function runCase([name, args, env]: Case): Promise<Outcome> {
  const w = tempDir('cw-bad-case-');
  const home = path.join(w, 'home');
  fs.cpSync(baseHome, home, { recursive: true });
  // The user's home (Node's compile cache lives there) is outside the listed directory.
  const userHome = tempDir('cw-bad-user-');
  const c: Ctx = { w, f: fixtures, r: rootDir, m: mount };
  const stateFile = path.join(home, 'envs', 'bad', 'state.json');
  const before = { files: listing(w), state: sha(stateFile) };
  const started = Date.now();
  const result = await cli(args(c), { env: { CERTWRIGHT_HOME: home, HOME: userHome, VAULT_ADDR: vault.server().addr, VAULT_TOKEN: vault.server().token, CERTWRIGHT_PODMAN: path.join(w, 'no-podman'), ...(env?.(c) ?? {}) } });
  const problems: string[] = [];
  if (result.exitCode !== 1 && result.exitCode !== 2) problems.push(`exit ${result.exitCode} (want 1 or 2)`);
  if (!/^Fix: \S/m.test(result.stderr)) problems.push('no Fix: line');
  const after = listing(w);
  const added = after.filter((l) => !before.files.includes(l) && !(args(c)[0] === 'hook' && EVENT_LOG.test(l)));
  const removed = before.files.filter((l) => !after.includes(l));
  if (added.length || removed.length) problems.push(`files changed: ${[...added.map((l) => `+${l}`), ...removed.map((l) => `-${l}`)].slice(0, 4).join(', ')}`);
  if (sha(stateFile) !== before.state) problems.push('state.json changed');
  return { name, problems, result, ms: Date.now() - started };
}


describe('the bad-input corpus', () => {
  it(`has at least 80 cases across the commands (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(new Set(CASES.map((c) => c[0])).size).toBe(CASES.length);
  });

  it('every case: exit 1 or 2 with a Fix line, no file written, state.json byte-identical', async () => {
    const fixturesBefore = listing(fixtures);
    const rootBefore = listing(rootDir);
    const outcomes = await pool(CASES, 4, runCase);
    const failed = outcomes.filter((o) => o.problems.length);
    const handled = outcomes.length - failed.length;
    console.info(`[bad-input] ${handled} of ${outcomes.length} handled`);
    const slow = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 5);
    console.info(`[bad-input] slowest: ${slow.map((o) => `${o.name} ${o.ms} ms`).join('; ')}`);
    for (const o of failed) console.info(`[bad-input] NOT handled: ${o.name}: ${o.problems.join('; ')}\n    exit ${o.result.exitCode}: ${o.result.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
    expect(failed.map((o) => `${o.name}: ${o.problems.join('; ')}`)).toEqual([]);
    expect(listing(fixtures)).toEqual(fixturesBefore);
    expect(listing(rootDir)).toEqual(rootBefore);
  }, 240_000);
});

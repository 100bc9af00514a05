import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execa } from 'execa';
import { validateAgainstSchema } from './helpers/status.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, openssl, bao, useOpenBao, vaultEnv, writePassphrase, BAO } from './helpers/env.js';

// Issue 14: certificate profiles an auditor accepts, judged by openssl. One dev server, one PKI.
const vault = useOpenBao();
const MOUNT = 'pki_prof';
let work: string;
let home: string;
let rootDir: string;
let pass: string;
const env = () => vaultEnv(vault.server(), home);

beforeAll(async () => {
  work = tempDir('cw-profiles-');
  home = path.join(work, 'home');
  rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  pass = writePassphrase(work);
  const root = await cli(['root', 'create', '--env', 'p', '--out', rootDir, '--cn', 'Profiles Root', '--passphrase-file', pass], { env: env() });
  expect(root.exitCode, root.stderr).toBe(0);
  const inter = await cli(['intermediate', '--env', 'p', '--mount', MOUNT, '--cn', 'Profiles Int', '--root-dir', rootDir, '--passphrase-file', pass], { env: env() });
  expect(inter.exitCode, inter.stderr).toBe(0);
}, 90_000);

/** openssl's "X509v3 Key Usage" line of a PEM certificate, e.g. "Digital Signature, Key Encipherment". */
async function keyUsage(pem: string): Promise<string> {
  const text = await openssl(['x509', '-noout', '-text'], pem);
  expect(text.exitCode, text.stderr).toBe(0);
  const m = /X509v3 Key Usage:( critical)?\n\s*(.+)\n/.exec(text.stdout);
  expect(m, text.stdout).not.toBeNull();
  return m![2]!.trim();
}

const EC_USAGE = 'Digital Signature';
const RSA_SERVER_USAGE = 'Digital Signature, Key Encipherment';

describe('point 1: key usage follows the key type on every role certwright writes', () => {
  for (const [keyType, expected] of [['ec-p256', EC_USAGE], ['rsa-2048', RSA_SERVER_USAGE]] as const) {
    it(`vault-cert --key-type ${keyType}: the server certificate carries ${expected} only`, async () => {
      const out = path.join(tempDir(), 'tls');
      const role = `vault-${keyType}`;
      const r = await cli(['vault-cert', '--env', 'p', '--mount', MOUNT, '--role', role, '--dns', 'localhost,vault.test', '--ip', '127.0.0.1', '--key-type', keyType, '--out', out], { env: env() });
      expect(r.exitCode, r.stderr).toBe(0);
      const usage = await keyUsage(fs.readFileSync(path.join(out, 'server.crt'), 'utf8'));
      expect(usage).toBe(expected);
      expect(usage).not.toMatch(/Key Agreement/);
      if (keyType.startsWith('ec')) expect(usage).not.toMatch(/Key Encipherment/);
      const stored = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${MOUNT}/roles/${role}`])).data;
      expect(stored.key_usage).toEqual(keyType.startsWith('ec') ? ['DigitalSignature'] : ['DigitalSignature', 'KeyEncipherment']);
      // Idempotent: the one role diff finds nothing to change on a second run.
      const again = await cli(['vault-cert', '--env', 'p', '--mount', MOUNT, '--role', role, '--dns', 'localhost,vault.test', '--ip', '127.0.0.1', '--key-type', keyType, '--out', out, '--dry-run'], { env: env() });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stdout + again.stderr).not.toMatch(/Update role|Create role/);
    });
  }

  it('vault-cert repairs a role left with OpenBao\'s default key usage, naming the field', async () => {
    const role = 'vault-default-ku';
    await bao(vault.server(), ['write', `${MOUNT}/roles/${role}`, 'allowed_domains=vault.test', 'allow_bare_domains=true', 'key_type=ec', 'key_bits=256']);
    const out = path.join(tempDir(), 'tls');
    const r = await cli(['vault-cert', '--env', 'p', '--mount', MOUNT, '--role', role, '--dns', 'vault.test', '--ip', '127.0.0.1', '--out', out], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/key_usage: \["digitalsignature","keyagreement","keyencipherment"\] -> \["digitalsignature"\]/);
    expect(await keyUsage(fs.readFileSync(path.join(out, 'server.crt'), 'utf8'))).toBe(EC_USAGE);
  });

  it('build-role: build certificates sign only, RSA included (a TLS client never key-enciphers)', async () => {
    const r = await cli(['build-role', '--env', 'p', '--mount', MOUNT, '--role', 'build-rsa', '--allowed-apps', 'billing', '--key-type', 'rsa-2048'], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    const issued = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${MOUNT}/issue/build-rsa`, 'common_name=billing', `alt_names=${'a'.repeat(40)}.git`, 'ttl=1h'])).data;
    expect(await keyUsage(issued.certificate)).toBe(EC_USAGE);
  });

  it('agent app: the app role is EC with digitalSignature only', async () => {
    const out = path.join(work, 'agent-out');
    const r = await cli(['agent', 'app', '--env', 'p', '--mount', MOUNT, '--name', 'web', '--common-name', 'web.test', '--tls-dir', path.join(work, 'agent-tls'), '--out', out, '--allow-http', '--hook-state-dir', home], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    const issued = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${MOUNT}/issue/web`, 'common_name=web.test', 'ttl=1h'])).data;
    expect(await keyUsage(issued.certificate)).toBe(EC_USAGE);
  });
});

/**
 * What `openssl x509 -noout -subject -nameopt RFC2253,utf8` prints for CN=value: RFC 4514 escapes
 * (`,+"\<>;` always, `#` first, space first or last) and, with esc_msb, every byte of a non-ASCII
 * character as \XX.
 */
function rfc2253Cn(value: string): string {
  const chars = [...value];
  const escaped = chars.map((c, i) => {
    if (c.codePointAt(0)! >= 0x80) return [...Buffer.from(c, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (',+"\\<>;'.includes(c)) return `\\${c}`;
    if (c === ' ' && (i === 0 || i === chars.length - 1)) return '\\ ';
    if (c === '#' && i === 0) return '\\#';
    return c;
  });
  return `CN=${escaped.join('')}`;
}

async function names(file: string): Promise<{ subject: string; issuer: string }> {
  const r = await openssl(['x509', '-in', file, '-noout', '-subject', '-issuer', '-nameopt', 'RFC2253,utf8']);
  expect(r.exitCode, r.stderr).toBe(0);
  const subject = /^subject=(.*)$/m.exec(r.stdout)![1]!;
  const issuer = /^issuer=(.*)$/m.exec(r.stdout)![1]!;
  return { subject, issuer };
}

// Names an auditor's corpus holds: quotes, commas, plus, backslash, spaces at the ends, non-ASCII, and RFC 4514's other specials.
const NAMES = ['The "Root" CA', 'Acme, Inc. Root', 'A+B Root', 'back\\slash Root', ' spaced out ', 'Ünïcødé Wurzel – 根', '#hash; <angle> = eq', '"quoted"'];

describe('point 2: every distinguished name is exactly the confirmed one', () => {
  it('root create: the subject (and issuer) is the --cn given, for every awkward name', async () => {
    for (const [i, cn] of NAMES.entries()) {
      const dir = path.join(work, `root-name-${i}`);
      fs.mkdirSync(dir);
      const r = await cli(['root', 'create', '--env', `n${i}`, '--out', dir, '--cn', cn, '--key-type', 'ec-p256', '--passphrase-file', pass], { env: env() });
      expect(r.exitCode, r.stderr).toBe(0);
      const got = await names(path.join(dir, 'root-ca.pem'));
      expect(got.subject, cn).toBe(rfc2253Cn(cn));
      expect(got.issuer, cn).toBe(rfc2253Cn(cn));
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'ceremony.json'), 'utf8')).commonName).toBe(cn);
    }
  });

  it('intermediate request / sign: the intermediate is the CN asked for, its issuer the root\'s exact name, and openssl verifies the chain', async () => {
    for (const [i, [rootCn, intCn]] of ([['The "Root" CA, +\\ é ', 'The "Int" CA; <x> '], [' A+B "root"', '#1, Zwischen-CA ü']] as const).entries()) {
      const dir = path.join(work, `int-root-${i}`);
      fs.mkdirSync(dir);
      const e = `i${i}`;
      const root = await cli(['root', 'create', '--env', e, '--out', dir, '--cn', rootCn, '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
      expect(root.exitCode, root.stderr).toBe(0);
      const csr = path.join(dir, 'int.csr');
      const cert = path.join(dir, 'int.pem');
      const req = await cli(['intermediate', 'request', '--env', e, '--mount', `pki_name_${i}`, '--cn', intCn, '--csr-out', csr], { env: env() });
      expect(req.exitCode, req.stderr).toBe(0);
      const sign = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', cert, '--path-len', '0'], { env: env() });
      expect(sign.exitCode, sign.stderr).toBe(0);
      const got = await names(cert);
      expect(got.subject).toBe(rfc2253Cn(intCn));
      expect(got.issuer).toBe(rfc2253Cn(rootCn));
      const verify = await openssl(['verify', '-x509_strict', '-CAfile', path.join(dir, 'root-ca.pem'), cert]);
      expect(verify.stdout + verify.stderr).toMatch(/: OK/);
    }
  });

  it('cross-sign: the twin repeats the intermediate\'s exact name, its issuer is the second root\'s exact name', async () => {
    const appCn = 'App "Root", +\\ ü ';
    const envCn = ' Env; <Root> #2';
    const intCn = 'Build "B1", Zwischen ü';
    const appDir = path.join(work, 'xs-app');
    const envDir = path.join(work, 'xs-env');
    fs.mkdirSync(appDir);
    fs.mkdirSync(envDir);
    for (const [dir, cn, e] of [[appDir, appCn, 'xs'], [envDir, envCn, 'xs-env']] as const) {
      const r = await cli(['root', 'create', '--env', e, '--out', dir, '--cn', cn, '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const inter = await cli(['intermediate', '--env', 'xs', '--mount', 'pki_xs_names', '--cn', intCn, '--root-dir', appDir, '--passphrase-file', pass], { env: env() });
    expect(inter.exitCode, inter.stderr).toBe(0);
    const twin = path.join(work, 'xs-twin.pem');
    const xs = await cli(['cross-sign', '--env', 'xs', '--mount', 'pki_xs_names', '--root-dir', envDir, '--passphrase-file', pass, '--out', twin], { env: env() });
    expect(xs.exitCode, xs.stderr).toBe(0);
    const got = await names(twin);
    expect(got.subject).toBe(rfc2253Cn(intCn));
    expect(got.issuer).toBe(rfc2253Cn(envCn));
    const verify = await openssl(['verify', '-x509_strict', '-CAfile', path.join(envDir, 'root-ca.pem'), twin]);
    expect(verify.stdout + verify.stderr).toMatch(/: OK/);
  });
});

/** A key identifier extension's value from `openssl x509 -text` (OpenSSL 3.0 prints AKI with or without "keyid:"). */
function keyId(text: string, extension: 'Subject' | 'Authority'): string | undefined {
  const m = new RegExp(`X509v3 ${extension} Key Identifier:\\s*\\n\\s*(?:keyid:)?([0-9A-F:]+)`).exec(text);
  return m?.[1];
}

describe('point 6: the root carries an authority key identifier equal to its SKI', () => {
  for (const keyType of ['ec-p384', 'rsa-3072']) {
    it(`root create --key-type ${keyType}`, async () => {
      const dir = path.join(work, `aki-${keyType}`);
      fs.mkdirSync(dir);
      const r = await cli(['root', 'create', '--env', `aki-${keyType}`, '--out', dir, '--cn', `AKI ${keyType}`, '--key-type', keyType, '--passphrase-file', pass], { env: env() });
      expect(r.exitCode, r.stderr).toBe(0);
      const text = (await openssl(['x509', '-in', path.join(dir, 'root-ca.pem'), '-noout', '-text'])).stdout;
      const ski = keyId(text, 'Subject');
      expect(ski, text).toMatch(/^[0-9A-F]{2}(:[0-9A-F]{2}){19}$/);
      expect(keyId(text, 'Authority'), text).toBe(ski);
      const verify = await openssl(['verify', '-x509_strict', '-CAfile', path.join(dir, 'root-ca.pem'), path.join(dir, 'root-ca.pem')]);
      expect(verify.stdout + verify.stderr).toMatch(/: OK/);
    });
  }
});

describe('points 4 and 5: refusals that say why truly, and leave nothing behind', () => {
  let csr: string;
  let dir: string;
  beforeAll(async () => {
    dir = path.join(work, 'refusals');
    fs.mkdirSync(dir);
    const root = await cli(['root', 'create', '--env', 'ref', '--out', dir, '--cn', 'Refusal Root', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
    expect(root.exitCode, root.stderr).toBe(0);
    csr = path.join(dir, 'int.csr');
    const req = await cli(['intermediate', 'request', '--env', 'ref', '--mount', 'pki_refusals', '--cn', 'Refusal Int', '--csr-out', csr], { env: env() });
    expect(req.exitCode, req.stderr).toBe(0);
  }, 60_000);

  it('intermediate sign refuses a leading-dot --permitted-dns and names the form to use', async () => {
    const out = path.join(dir, 'dot.pem');
    const r = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', out, '--path-len', '0', '--permitted-dns', 'example.test,.corp.example.test'], { env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--permitted-dns "\.corp\.example\.test" starts with a dot/);
    expect(r.stderr).toMatch(/Pass --permitted-dns corp\.example\.test: it permits corp\.example\.test and every name below it/);
    expect(fs.existsSync(out)).toBe(false);
    // The form it names works, and openssl sees the constraint as written.
    const ok = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', out, '--path-len', '0', '--permitted-dns', 'example.test,corp.example.test'], { env: env() });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const text = (await openssl(['x509', '-in', out, '-noout', '-text'])).stdout;
    expect(text).toMatch(/X509v3 Name Constraints: critical\s*\n\s*Permitted:\s*\n\s*DNS:example\.test\s*\n\s*DNS:corp\.example\.test/);
  });

  it('intermediate sign --path-len 1 under a pathlen-1 root: refused, and the message does not claim it would not validate', async () => {
    const out = path.join(dir, 'pathlen.pem');
    const r = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', out, '--path-len', '1'], { env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toMatch(/would not validate/);
    expect(r.stderr).toMatch(/the intermediate and its leaves would still validate, but a CA signed deeper than 0 level\(s\) below it would not/);
    expect(r.stderr).toMatch(/Use --path-len 0 or lower/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('point 7: OpenBao\'s own health check passes on a mount the pipeline built', () => {
  it('intermediate + vault-cert + build-role + agent app: bao pki health-check exits 0 or 2, nothing critical, no warning', async () => {
    const mount = 'pki_health';
    const e = 'health';
    const dir = path.join(work, 'health-root');
    fs.mkdirSync(dir);
    const steps: string[][] = [
      ['root', 'create', '--env', e, '--out', dir, '--cn', 'Health Root', '--key-type', 'ec-p256', '--passphrase-file', pass],
      ['intermediate', '--env', e, '--mount', mount, '--cn', 'Health Int', '--root-dir', dir, '--passphrase-file', pass],
      ['vault-cert', '--env', e, '--mount', mount, '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', path.join(work, 'health-tls')],
      ['build-role', '--env', e, '--mount', mount, '--role', 'build', '--allowed-apps', 'billing'],
      ['agent', 'app', '--env', e, '--mount', mount, '--name', 'shop', '--common-name', 'shop.test', '--tls-dir', path.join(work, 'health-agent-tls'), '--out', path.join(work, 'health-agent'), '--allow-http', '--hook-state-dir', home],
    ];
    for (const args of steps) {
      const r = await cli(args, { env: env() });
      expect(r.exitCode, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    }
    // localhost still issues, now as a bare allowed domain
    expect(fs.readFileSync(path.join(work, 'health-tls', 'server.crt'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    const s = vault.server();
    const hc = await execa(BAO, ['pki', 'health-check', '-format=json', mount], { env: { BAO_ADDR: s.addr, BAO_TOKEN: s.token, HOME: os.tmpdir() }, reject: false });
    const findings = JSON.parse(String(hc.stdout)) as Record<string, Array<{ status: string; message: string }>>;
    const bad = Object.entries(findings).flatMap(([check, results]) => (results ?? []).filter((r) => r.status === 'critical' || r.status === 'warning').map((r) => `${check}: ${r.status}: ${r.message}`));
    expect(bad).toEqual([]);
    expect([0, 2], String(hc.stdout)).toContain(hc.exitCode);
    // doctor finds the same things bao pki health-check does: nothing on this mount, each of them on a
    // mount made by hand, every finding with its fix.
    await bao(s, ['secrets', 'enable', '-path=pki_raw', 'pki']);
    await bao(s, ['write', 'pki_raw/root/generate/internal', 'common_name=Raw Root', 'ttl=24h']);
    await bao(s, ['write', 'pki_raw/roles/web', 'allowed_domains=raw.test', 'allow_localhost=true', 'max_ttl=1h']);
    const doc = JSON.parse((await cli(['doctor', '--env', e, '--json', '--mount', mount, '--mount', 'pki_raw'], { env: env() })).stdout);
    expect(await validateAgainstSchema('doctor', doc)).toEqual([]);
    const upkeep = doc.findings.filter((f: { check: string }) => f.check === 'pki-upkeep') as Array<{ subject: string; level: string; message: string; fix: string }>;
    expect(upkeep.filter((f) => f.subject.startsWith(`mount ${mount}`))).toEqual([]);
    const raw = upkeep.filter((f) => f.subject.startsWith('mount pki_raw'));
    expect(raw.map((f) => f.message)).toEqual(expect.arrayContaining([
      expect.stringMatching(/audit log HMACs/),
      expect.stringMatching(/If-Modified-Since/),
      expect.stringMatching(/auto-tidy is off/),
      expect.stringMatching(/tidy has never run/),
      expect.stringMatching(/rebuilds its CRL on every revocation/),
      expect.stringMatching(/role web allows localhost/),
    ]));
    expect(raw.every((f) => /^bao (write|patch) /.test(f.fix))).toBe(true);
    expect(raw.find((f) => /never run/.test(f.message))!.level).toBe('fail');
    // The revocation path still works with auto_rebuild on: revoke rebuilds the CRL itself.
    const issued = JSON.parse(await bao(s, ['write', '-format=json', `${mount}/issue/build`, 'common_name=billing', `alt_names=${'b'.repeat(40)}.git`, 'ttl=1h'])).data;
    const revoke = await cli(['revoke', '--mount', mount, '--serial', issued.serial_number], { env: env() });
    expect(revoke.exitCode, revoke.stderr).toBe(0);
    expect(revoke.stdout + revoke.stderr).toMatch(/is listed in the CRL/);
  });
});

describe('point 4: name constraints, judged by OpenSSL and Python cryptography', () => {
  const PY = path.join(import.meta.dirname, '..', '.tools', 'pkilint-0.13.3', 'bin', 'python');
  const PY_VERIFY = path.join(import.meta.dirname, 'helpers', 'py-verify.py');

  it('--permitted-dns, --permitted-ip and --excluded-dns: both validators accept the allowed names and refuse the others', async () => {
    const mount = 'pki_nc';
    const dir = path.join(work, 'nc-root');
    fs.mkdirSync(dir);
    const rootFile = path.join(dir, 'root-ca.pem');
    const r = await cli(['root', 'create', '--env', 'nc', '--out', dir, '--cn', 'NC Root', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    const inter = await cli(['intermediate', '--env', 'nc', '--mount', mount, '--cn', 'NC Int', '--root-dir', dir, '--passphrase-file', pass, '--permitted-dns', 'lint.test', '--permitted-ip', '10.20.0.0/16,fd00:20::/48', '--excluded-dns', 'secret.lint.test'], { env: env() });
    expect(inter.exitCode, inter.stderr).toBe(0);
    const s = vault.server();
    const issuer = JSON.parse(await bao(s, ['read', '-format=json', `${mount}/issuer/default`])).data;
    const intFile = path.join(work, 'nc-int.pem');
    fs.writeFileSync(intFile, `${issuer.certificate.trim()}\n`);
    const text = (await openssl(['x509', '-in', intFile, '-noout', '-text'])).stdout;
    expect(text).toMatch(/X509v3 Name Constraints: critical\s*\n\s*Permitted:\s*\n\s*DNS:lint\.test\s*\n\s*IP:10\.20\.0\.0\/255\.255\.0\.0\s*\n\s*IP:FD00:20:0:0:0:0:0:0\/FFFF:FFFF:FFFF:0:0:0:0:0\s*\n\s*Excluded:\s*\n\s*DNS:secret\.lint\.test/i);
    // A permissive role: Vault issues whatever is asked, so only the constraints decide.
    await bao(s, ['write', `${mount}/roles/any`, 'allow_any_name=true', 'allow_ip_sans=true', 'enforce_hostnames=false', 'key_type=ec', 'key_bits=256', 'key_usage=DigitalSignature', 'server_flag=true', 'client_flag=false', 'max_ttl=1h']);
    const cases: Array<[string, string[], string, boolean]> = [
      ['www.lint.test', ['ip_sans=10.20.1.2'], 'www.lint.test', true],
      ['www.lint.test', ['ip_sans=10.20.1.2'], '10.20.1.2', true],
      ['v6.lint.test', ['ip_sans=fd00:20::5'], 'fd00:20::5', true],
      ['www.other.test', [], 'www.other.test', false],
      ['ip.lint.test', ['ip_sans=192.168.1.1'], '192.168.1.1', false],
      ['db.secret.lint.test', [], 'db.secret.lint.test', false],
    ];
    const verdicts: string[] = [];
    for (const [i, [cn, extra, name, allowed]] of cases.entries()) {
      const leaf = JSON.parse(await bao(s, ['write', '-format=json', `${mount}/issue/any`, `common_name=${cn}`, ...extra, 'ttl=30m'])).data;
      const leafFile = path.join(work, `nc-leaf-${i}.pem`);
      fs.writeFileSync(leafFile, `${leaf.certificate}\n`);
      const o = await openssl(['verify', '-x509_strict', '-CAfile', rootFile, '-untrusted', intFile, leafFile]);
      const p = await execa(PY, [PY_VERIFY, rootFile, intFile, leafFile, name], { reject: false });
      verdicts.push(`${name}: openssl ${o.exitCode === 0 ? 'OK' : 'refused'}, cryptography ${p.exitCode === 0 ? 'OK' : 'refused'}`);
      expect(o.exitCode === 0, `${name} (openssl): ${o.stdout}${o.stderr}`).toBe(allowed);
      if (!allowed) expect(o.stdout + o.stderr, name).toMatch(/name constraint|excluded subtree|permitted subtree/i);
      expect(p.exitCode === 0, `${name} (cryptography): ${p.stdout}${p.stderr}`).toBe(allowed);
      if (!allowed) expect(String(p.stdout), name).toMatch(/constraint|subtree|excluded|permitted/i);
    }
    console.log(verdicts.join('\n'));
    // The cross-signed twin repeats every constraint of the intermediate.
    const dirB = path.join(work, 'nc-root-b');
    fs.mkdirSync(dirB);
    const rb = await cli(['root', 'create', '--env', 'nc-b', '--out', dirB, '--cn', 'NC Root B', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
    expect(rb.exitCode, rb.stderr).toBe(0);
    const twin = path.join(work, 'nc-twin.pem');
    const xs = await cli(['cross-sign', '--env', 'nc', '--mount', mount, '--root-dir', dirB, '--passphrase-file', pass, '--out', twin], { env: env() });
    expect(xs.exitCode, xs.stderr).toBe(0);
    const constraints = (t: string) => /X509v3 Name Constraints: critical\n([\s\S]*?)\n\s*X509v3|X509v3 Name Constraints: critical\n([\s\S]*?)\n\s*Signature Algorithm/.exec(t)?.slice(1).find(Boolean);
    const twinText = (await openssl(['x509', '-in', twin, '-noout', '-text'])).stdout;
    expect(constraints(twinText)).toBeDefined();
    expect(constraints(twinText)).toBe(constraints(text));
  });

  it('refuses a CIDR with host bits set, naming the block, and a bad --excluded-dns', async () => {
    const out = path.join(work, 'nc-bad.pem');
    const dir = path.join(work, 'nc-root');
    const csr = path.join(work, 'nc-bad.csr');
    fs.writeFileSync(csr, 'not used: the flags are refused first');
    const bad = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', out, '--permitted-ip', '10.20.3.4/16'], { env: env() });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--permitted-ip "10\.20\.3\.4\/16" has host bits set/);
    expect(bad.stderr).toMatch(/Pass --permitted-ip 10\.20\.0\.0\/16/);
    const dot = await cli(['intermediate', 'sign', '--root-dir', dir, '--passphrase-file', pass, '--csr', csr, '--out', out, '--excluded-dns', '.secret.test'], { env: env() });
    expect(dot.exitCode).toBe(2);
    expect(dot.stderr).toMatch(/Pass --excluded-dns secret\.test: it excludes secret\.test and every name below it/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('point 3: the offline root revokes what it signed', () => {
  it('root crl revokes one intermediate: openssl -crl_check_all refuses a leaf under it, a leaf under the other still verifies', async () => {
    const dir = path.join(work, 'crl-root');
    fs.mkdirSync(dir);
    const rootFile = path.join(dir, 'root-ca.pem');
    const r = await cli(['root', 'create', '--env', 'crl', '--out', dir, '--cn', 'CRL Root', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = vault.server();
    // The published root CRL, served over HTTP where --crl-url points (a file copy is the publication).
    const published = path.join(work, 'published');
    fs.mkdirSync(published, { recursive: true });
    const server = http.createServer((req, res) => {
      const file = path.join(published, path.basename(req.url ?? '/'));
      if (!fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const crlUrl = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}/root.crl`;
    try {
    const files: Record<string, { int: string; leaf: string; crl: string }> = {};
    for (const name of ['a', 'b']) {
      const mount = `pki_crl_${name}`;
      const inter = await cli(['intermediate', '--env', 'crl', '--mount', mount, '--cn', `CRL Int ${name}`, '--root-dir', dir, '--passphrase-file', pass, '--crl-url', crlUrl, '--ca-issuers-url', 'http://pki.crl.test/root.crt'], { env: env() });
      expect(inter.exitCode, inter.stderr).toBe(0);
      const issuer = JSON.parse(await bao(s, ['read', '-format=json', `${mount}/issuer/default`])).data;
      const int = path.join(work, `crl-int-${name}.pem`);
      fs.writeFileSync(int, `${issuer.certificate.trim()}\n`);
      await bao(s, ['write', `${mount}/roles/web`, 'allowed_domains=crl.test', 'allow_subdomains=true', 'key_type=ec', 'key_bits=256', 'key_usage=DigitalSignature', 'max_ttl=1h']);
      const leafData = JSON.parse(await bao(s, ['write', '-format=json', `${mount}/issue/web`, `common_name=${name}.crl.test`, 'ttl=30m'])).data;
      const leaf = path.join(work, `crl-leaf-${name}.pem`);
      fs.writeFileSync(leaf, `${leafData.certificate}\n`);
      const crl = path.join(work, `crl-mount-${name}.pem`);
      fs.writeFileSync(crl, await (await fetch(`${s.addr}/v1/${mount}/crl/pem`)).text());
      files[name] = { int, leaf, crl };
    }
    const text = (await openssl(['x509', '-in', files.a!.int, '-noout', '-text'])).stdout;
    expect(text).toContain(`URI:${crlUrl}`);
    expect(text).toMatch(/X509v3 CRL Distribution Points:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/127\.0\.0\.1:\d+\/root\.crl/);
    expect(text).toMatch(/Authority Information Access:\s*\n\s*CA Issuers - URI:http:\/\/pki\.crl\.test\/root\.crt/);
    const serialA = /serial=([0-9A-F]+)/.exec((await openssl(['x509', '-in', files.a!.int, '-noout', '-serial'])).stdout)![1]!;
    const rootCrl = path.join(work, 'published', 'root.crl');
    const crl1 = await cli(['root', 'crl', '--root-dir', dir, '--passphrase-file', pass, '--revoke', serialA, '--reason', 'cACompromise', '--out', rootCrl], { env: env() });
    expect(crl1.exitCode, crl1.stderr).toBe(0);
    const crlText = (await openssl(['crl', '-in', rootCrl, '-noout', '-text', '-CAfile', rootFile])).stdout;
    expect(crlText).toMatch(/X509v3 CRL Number:\s*\n\s*1\n/);
    expect(crlText).toContain(`Serial Number: ${serialA}`);
    expect(crlText).toMatch(/X509v3 CRL Reason Code:\s*\n\s*CA Compromise/);
    const verify = (name: 'a' | 'b') => openssl(['verify', '-x509_strict', '-crl_check_all', '-CAfile', rootFile, '-untrusted', files[name]!.int, '-CRLfile', rootCrl, '-CRLfile', files.a!.crl, '-CRLfile', files.b!.crl, files[name]!.leaf]);
    const a = await verify('a');
    expect(a.exitCode, a.stdout + a.stderr).not.toBe(0);
    expect(a.stdout + a.stderr).toMatch(/certificate revoked/);
    const b = await verify('b');
    expect(b.stdout + b.stderr).toMatch(/: OK/);
    expect(b.exitCode).toBe(0);
    // The next CRL: number 2, still listing the revoked intermediate; both numbers in the transcript.
    const crl2 = await cli(['root', 'crl', '--root-dir', dir, '--passphrase-file', pass, '--out', rootCrl, '--next-update', '30d'], { env: env() });
    expect(crl2.exitCode, crl2.stderr).toBe(0);
    const crl2Text = (await openssl(['crl', '-in', rootCrl, '-noout', '-text'])).stdout;
    expect(crl2Text).toMatch(/X509v3 CRL Number:\s*\n\s*2\n/);
    expect(crl2Text).toContain(`Serial Number: ${serialA}`);
    const transcript = fs.readFileSync(path.join(home, 'envs', 'crl', 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; details?: { crlNumber?: number }; crlNumber?: number });
    const numbers = transcript.filter((e) => e.action === 'root-crl').map((e) => e.details?.crlNumber ?? e.crlNumber);
    expect(numbers).toEqual([1, 2]);
    // status shows the published root CRL's number and next update; doctor finds nothing wrong with it.
    const statusEnv = { ...env() };
    const st = await cli(['status', '--env', 'crl', '--json', '--mount', 'pki_crl_b'], { env: statusEnv });
    const snap = JSON.parse(st.stdout);
    expect(await validateAgainstSchema('status', snap)).toEqual([]);
    const mountB = snap.sections.pki.mounts.find((m: { path: string }) => m.path === 'pki_crl_b');
    expect(mountB.rootCrl).toMatchObject({ url: crlUrl, state: 'ok', number: 2 });
    expect(mountB.rootCrl.daysLeft).toBeGreaterThan(29);
    const doc = JSON.parse((await cli(['doctor', '--env', 'crl', '--json', '--mount', 'pki_crl_b'], { env: statusEnv })).stdout);
    expect(await validateAgainstSchema('doctor', doc)).toEqual([]);
    expect(doc.findings.filter((f: { check: string }) => f.check === 'root-crl')).toEqual([]);
    // Not published (404): status fails the mount, doctor says where to publish it.
    fs.renameSync(rootCrl, `${rootCrl}.away`);
    const missing = JSON.parse((await cli(['doctor', '--env', 'crl', '--json', '--mount', 'pki_crl_b'], { env: statusEnv })).stdout);
    expect(missing.findings.filter((f: { check: string; subject: string }) => f.check === 'root-crl' && f.subject.startsWith('mount pki_crl_b'))).toEqual([expect.objectContaining({ level: 'fail', message: expect.stringContaining('missing (HTTP 404)'), fix: expect.stringContaining(`Publish the root's CRL at ${crlUrl}`) })]);
    fs.renameSync(`${rootCrl}.away`, rootCrl);
    // About to lapse: a CRL good for 2 days is a warning in status and in doctor.
    const crl3 = await cli(['root', 'crl', '--root-dir', dir, '--passphrase-file', pass, '--out', rootCrl, '--next-update', '2d'], { env: env() });
    expect(crl3.exitCode, crl3.stderr).toBe(0);
    const soon = JSON.parse((await cli(['doctor', '--env', 'crl', '--json', '--mount', 'pki_crl_b'], { env: statusEnv })).stdout);
    expect(soon.findings.filter((f: { check: string; subject: string }) => f.check === 'root-crl' && f.subject.startsWith('mount pki_crl_b'))).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/lapses in 1\.\d+ day/), fix: expect.stringContaining('certwright root crl') })]);
    // --revoke without --reason is refused before anything is signed.
    const noReason = await cli(['root', 'crl', '--root-dir', dir, '--passphrase-file', pass, '--revoke', '01', '--out', rootCrl], { env: env() });
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toMatch(/--revoke needs --reason/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'root-crl.json'), 'utf8')).crlNumber).toBe(3);
    expect(fs.readFileSync(path.join(home, 'envs', 'crl', 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.action === 'root-crl').map((e) => e.details?.crlNumber ?? e.crlNumber)).toEqual([1, 2, 3]);
    } finally {
      server.close();
    }
  });
});

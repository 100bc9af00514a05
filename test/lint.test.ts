import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cli, tempDir, bao, useOpenBao, vaultEnv, writePassphrase, ROOT } from './helpers/env.js';

/**
 * Issue 14: DigiCert's pkilint (pinned in scripts/install-tools.sh) lints every kind of certificate
 * and CRL certwright makes, or makes Vault make. No ERROR or FATAL finding is accepted, except
 * pkix.invalid_domain_name_syntax for a single-label name such as localhost (pkilint wants a dot).
 */
const PKILINT_PYTHON = path.join(ROOT, '.tools', 'pkilint-0.13.3', 'bin', 'python');
const BATCH = path.join(ROOT, 'test', 'helpers', 'pkilint-batch.py');

interface Finding {
  severity: 'FATAL' | 'ERROR' | 'WARNING';
  code: string;
  message: string;
  node_path: string;
}
interface Job {
  label: string;
  kind: 'cert' | 'chain' | 'crl';
  files: string[];
}

const vault = useOpenBao();
const MOUNT = 'pki_lint';
const NC_MOUNT = 'pki_lint_rsa';
let work: string;
let home: string;
let pass: string;
const env = () => vaultEnv(vault.server(), home);
const jobs: Job[] = [];

async function ok(args: string[]): Promise<string> {
  const r = await cli(args, { env: env() });
  expect(r.exitCode, `certwright ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The n-th certificate of a PEM bundle, written to its own file. */
function nth(bundle: string, n: number, out: string): string {
  const certs = fs.readFileSync(bundle, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  expect(certs.length, bundle).toBeGreaterThan(n);
  fs.writeFileSync(out, certs[n]!.endsWith('\n') ? certs[n]! : `${certs[n]!}\n`);
  return out;
}

beforeAll(async () => {
  work = tempDir('cw-lint-');
  home = path.join(work, 'home');
  pass = writePassphrase(work);
  const roots: Array<[string, string, string | undefined]> = [
    ['ec384', 'ec-p384', '1'],
    ['ec384-nopl', 'ec-p384', undefined],
    ['ec256-pl2', 'ec-p256', '2'],
    ['rsa3072', 'rsa-3072', '1'],
    ['rsa4096-nopl', 'rsa-4096', undefined],
  ];
  for (const [name, keyType, pathLen] of roots) {
    const dir = path.join(work, `root-${name}`);
    fs.mkdirSync(dir);
    await ok(['root', 'create', '--env', `lint-${name}`, '--out', dir, '--cn', `Lint ${name} Root`, '--key-type', keyType, ...(pathLen ? ['--path-len', pathLen] : []), '--passphrase-file', pass]);
    jobs.push({ label: `root ${keyType}${pathLen ? ` pathlen ${pathLen}` : ''}`, kind: 'cert', files: [path.join(dir, 'root-ca.pem')] });
    jobs.push({ label: `root ${keyType}${pathLen ? ` pathlen ${pathLen}` : ''} (self-signed pair)`, kind: 'chain', files: [path.join(dir, 'root-ca.pem'), path.join(dir, 'root-ca.pem')] });
  }
  const root = (name: string) => path.join(work, `root-${name}`);
  // Intermediates: EC without name constraints under an EC root; RSA with name constraints under an RSA root.
  await ok(['intermediate', '--env', 'lint', '--mount', MOUNT, '--cn', 'Lint Int', '--root-dir', root('ec384'), '--passphrase-file', pass, '--path-len', '0']);
  await ok(['intermediate', '--env', 'lint-rsa', '--mount', NC_MOUNT, '--cn', 'Lint RSA Int', '--key-type', 'rsa-2048', '--root-dir', root('rsa3072'), '--passphrase-file', pass, '--path-len', '0', '--permitted-dns', 'lint.test,localhost', '--permitted-ip', '127.0.0.0/8', '--excluded-dns', 'secret.lint.test', '--crl-url', 'http://pki.lint.test/rsa-root.crl', '--ca-issuers-url', 'http://pki.lint.test/rsa-root.crt']);
  const intPem = async (mount: string, file: string) => {
    const issuer = JSON.parse(await bao(vault.server(), ['read', '-format=json', `${mount}/issuer/default`])).data;
    fs.writeFileSync(file, `${issuer.certificate.trim()}\n`);
    return file;
  };
  const int = await intPem(MOUNT, path.join(work, 'int.pem'));
  const intNc = await intPem(NC_MOUNT, path.join(work, 'int-nc.pem'));
  jobs.push({ label: 'intermediate EC P-256', kind: 'cert', files: [int] });
  jobs.push({ label: 'root -> intermediate', kind: 'chain', files: [path.join(root('ec384'), 'root-ca.pem'), int] });
  jobs.push({ label: 'intermediate RSA 2048, constraints, CRL URLs', kind: 'cert', files: [intNc] });
  jobs.push({ label: 'RSA root -> constrained intermediate', kind: 'chain', files: [path.join(root('rsa3072'), 'root-ca.pem'), intNc] });
  // The cross-signed twin (second root: pathlen 2).
  const twin = path.join(work, 'twin.pem');
  await ok(['cross-sign', '--env', 'lint', '--mount', MOUNT, '--root-dir', root('ec256-pl2'), '--passphrase-file', pass, '--out', twin]);
  jobs.push({ label: 'cross-signed twin', kind: 'cert', files: [twin] });
  jobs.push({ label: 'second root -> twin', kind: 'chain', files: [path.join(root('ec256-pl2'), 'root-ca.pem'), twin] });
  // Vault's server certificate of each key type (localhost is the single-label exception).
  for (const [keyType, mount] of [['ec-p256', MOUNT], ['ec-p384', MOUNT], ['rsa-2048', NC_MOUNT], ['rsa-4096', MOUNT]] as const) {
    const out = path.join(work, `tls-${keyType}`);
    await ok(['vault-cert', '--env', mount === MOUNT ? 'lint' : 'lint-rsa', '--mount', mount, '--role', `vault-${keyType}`, '--dns', mount === MOUNT ? 'vault.lint.test,localhost' : 'vault.lint.test', '--ip', '127.0.0.1', '--key-type', keyType, '--out', out]);
    jobs.push({ label: `vault server certificate ${keyType}${mount === NC_MOUNT ? ' (constrained)' : ''}`, kind: 'cert', files: [path.join(out, 'server.crt')] });
    jobs.push({ label: `intermediate -> vault server ${keyType}`, kind: 'chain', files: [mount === MOUNT ? int : intNc, path.join(out, 'server.crt')] });
  }
  // An app agent's leaf: issued from the role `agent app` writes, as its pkiCert template does.
  await ok(['agent', 'app', '--env', 'lint', '--mount', MOUNT, '--name', 'web', '--common-name', 'web.lint.test', '--alt-names', 'www.lint.test,127.0.0.1', '--tls-dir', path.join(work, 'agent-tls'), '--out', path.join(work, 'agent'), '--allow-http', '--hook-state-dir', home]);
  const agentLeaf = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${MOUNT}/issue/web`, 'common_name=web.lint.test', 'alt_names=www.lint.test', 'ip_sans=127.0.0.1', 'ttl=1h'])).data;
  fs.writeFileSync(path.join(work, 'agent-leaf.pem'), `${agentLeaf.certificate}\n`);
  jobs.push({ label: 'app agent leaf', kind: 'cert', files: [path.join(work, 'agent-leaf.pem')] });
  // A build certificate through build-role + build-cert, its chain through the twin too.
  await ok(['build-role', '--env', 'lint', '--mount', MOUNT, '--role', 'build', '--allowed-apps', 'billing']);
  const buildOut = path.join(work, 'build');
  const twinRoot = path.join(root('ec256-pl2'), 'root-ca.pem');
  await ok(['build-cert', '--mount', MOUNT, '--role', 'build', '--app', 'billing', '--git-sha', 'c0ffee'.padEnd(40, '0'), '--out', buildOut, '--trust-path', `env=${twinRoot}`]);
  jobs.push({ label: 'build certificate', kind: 'cert', files: [path.join(buildOut, 'cert.pem')] });
  jobs.push({ label: 'intermediate -> build certificate', kind: 'chain', files: [int, path.join(buildOut, 'cert.pem')] });
  jobs.push({ label: 'twin -> build certificate (env bundle)', kind: 'chain', files: [nth(path.join(buildOut, 'env.bundle.pem'), 1, path.join(work, 'bundle-int.pem')), path.join(buildOut, 'cert.pem')] });
  // The mount's CRL after a revoke.
  const issued = JSON.parse(await bao(vault.server(), ['write', '-format=json', `${MOUNT}/issue/build`, 'common_name=billing', `alt_names=${'d'.repeat(40)}.git`, 'ttl=1h'])).data;
  await ok(['revoke', '--mount', MOUNT, '--serial', issued.serial_number]);
  const crl = await fetch(`${vault.server().addr}/v1/${MOUNT}/crl/pem`);
  const crlFile = path.join(work, 'mount.crl.pem');
  fs.writeFileSync(crlFile, await crl.text());
  expect(fs.readFileSync(crlFile, 'utf8')).toMatch(/BEGIN X509 CRL/);
  jobs.push({ label: 'mount CRL after a revoke', kind: 'crl', files: [crlFile] });
  // The root's own CRL (root crl), revoking the RSA intermediate.
  const ncSerial = new (await import('node:crypto')).X509Certificate(fs.readFileSync(intNc)).serialNumber;
  const rootCrl = path.join(work, 'root.crl');
  await ok(['root', 'crl', '--root-dir', root('rsa3072'), '--passphrase-file', pass, '--revoke', ncSerial, '--reason', 'superseded', '--out', rootCrl]);
  jobs.push({ label: 'root CRL (root crl)', kind: 'crl', files: [rootCrl] });
}, 240_000);

/** The one allowed ERROR: pkilint wants a dot in every DNS name; localhost has none. */
function allowed(f: Finding): boolean {
  if (f.code !== 'pkix.invalid_domain_name_syntax') return false;
  const name = /"([^"]*)"/.exec(f.message)?.[1];
  return name !== undefined && /^[a-z0-9-]+$/i.test(name);
}

describe('pkilint: every certificate and CRL certwright makes is lint-clean', () => {
  it('no FATAL or ERROR finding (single-label DNS names aside); a table of findings by severity', async () => {
    expect(fs.existsSync(PKILINT_PYTHON), 'pkilint is missing: run bash scripts/install-tools.sh').toBe(true);
    const run = await execa(PKILINT_PYTHON, [BATCH], { input: JSON.stringify(jobs.map((j) => ({ kind: j.kind, files: j.files }))), reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    const results = JSON.parse(String(run.stdout)) as Finding[][];
    expect(results).toHaveLength(jobs.length);
    const rows: string[] = [];
    const bad: string[] = [];
    for (const [i, job] of jobs.entries()) {
      const findings = results[i]!;
      const count = (s: string) => findings.filter((f) => f.severity === s).length;
      rows.push(`${job.label.padEnd(48)} ${String(count('FATAL')).padStart(5)} ${String(count('ERROR')).padStart(5)} ${String(count('WARNING')).padStart(7)}  ${[...new Set(findings.map((f) => `${f.code}${allowed(f) ? ' (allowed)' : ''}`))].join(', ')}`);
      for (const f of findings) if ((f.severity === 'FATAL' || f.severity === 'ERROR') && !allowed(f)) bad.push(`${job.label}: ${f.severity} ${f.code} ${f.message} at ${f.node_path}`);
    }
    console.log(['pkilint 0.13.3 findings (WARNING and up)', `${'document'.padEnd(48)} FATAL ERROR WARNING  codes`, ...rows].join('\n'));
    expect(bad).toEqual([]);
  });
});

import os from 'node:os';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { appRoleLogin } from '../vault/approle.js';
import { parseCertificates, certPem, vaultSerial } from '../pki/pem.js';
import { buildPath, buildIssuerPath, trustAnchorsFrom, isSelfSigned, issuedBy, extendedKeyUsages, dnsNames, commonNameOf, subjectLine, EKU_CLIENT_AUTH, EKU_SERVER_AUTH, type TrustAnchors } from '../pki/chain.js';
import { ensureDir, assertWritableDir, writeFileSetAtomic } from '../system/files.js';
import { readPrivateFile } from '../system/secrets.js';
import { OperatorError, UsageError, ExternalError } from '../errors.js';
import { humanDuration, vaultDuration } from '../duration.js';
import { certwrightHome, type HomeOptions } from '../paths.js';
import type { Plan, Reporter } from './context.js';

/**
 * build-cert (CI, online) — one client certificate per build, issued by the build role.
 * plan reads: the role (client flag, allowed apps; skipped when the token may not read it), the
 *   role's issuer and its chain (unauthenticated), the trust-path CA files, the output directory.
 * apply writes: one certificate issued by Vault (the only issuing round trip); in --out, the key
 *   (0600), cert.pem, chain.pem and one NAME.bundle.pem per trust path, plus the env file, all
 *   staged and renamed into place together; one line appended to the mount's audit log.
 * No state and no lock: several builds may run at once on one build server.
 */
export const STEP_ID = 'build-cert';

export interface TrustPathSpec {
  name: string;
  caFile: string;
}

export interface BuildCertInput {
  mount: string;
  role: string;
  app: string;
  gitSha: string;
  outDir: string;
  ttlSeconds?: number | undefined;
  trustPaths: TrustPathSpec[];
  envFile?: string | undefined;
  envPrefix?: string | undefined;
  /** Where the files will live on the target machine; the env file points there. */
  installDir?: string | undefined;
  auditLog?: string | undefined;
  /** How we authenticated, for the audit line. */
  auth: 'token' | 'approle';
}

const APP_RE = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** App names become the certificate CN and the PostgreSQL user: a lower-case host-name label. */
export function validateAppName(app: string, flag = '--app'): string {
  if (!APP_RE.test(app) || app.includes('..')) {
    throw new UsageError(
      `${flag} "${app}" is not a valid app name.`,
      'Use lower-case letters, digits, "-" and "." (it becomes the certificate CN and, for PostgreSQL, the database user name), e.g. --app billing-api.',
    );
  }
  return app;
}

/**
 * The commit goes into a DNS SAN `<sha>.git`, as the seed does: Vault only lets a role restrict
 * DNS names by pattern (allowed_domains "*.git" with globs), it does not issue free-text SANs, and
 * a DNS SAN is shown by every tool (openssl x509 -text, browsers, pg_stat_ssl does not, but logs
 * of the issuing Vault do). A SHA-256 commit (64 hex digits) does not fit one DNS label (63), so
 * it is split in two labels: `<first 32>.<last 32>.git`.
 */
export function commitSan(sha: string): string {
  const s = sha.trim().toLowerCase();
  if (/^[0-9a-f]{40}$/.test(s)) return `${s}.git`;
  if (/^[0-9a-f]{64}$/.test(s)) return `${s.slice(0, 32)}.${s.slice(32)}.git`;
  if (/^[0-9a-f]{4,39}$/.test(s)) {
    throw new UsageError(`--git-sha "${sha}" is an abbreviated commit (${s.length} hex digits).`, 'Pass the full commit hash: --git-sha "$(git rev-parse HEAD)".');
  }
  throw new UsageError(`--git-sha "${sha}" is not a git commit hash (40 hex digits, or 64 for SHA-256 repositories).`, 'Pass the full commit hash: --git-sha "$(git rev-parse HEAD)".');
}

/** The commit back out of a build certificate's SANs. */
export function commitFromSans(names: string[]): string | undefined {
  for (const n of names) {
    const m = /^([0-9a-f]{40})\.git$/.exec(n) ?? /^([0-9a-f]{32})\.([0-9a-f]{32})\.git$/.exec(n);
    if (m) return m.slice(1).join('');
  }
  return undefined;
}

const RESERVED_PATH_NAMES = new Set(['KEY', 'CERT', 'CHAIN']);

export function parseTrustPaths(values: string[]): TrustPathSpec[] {
  const out: TrustPathSpec[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq > 0 ? value.slice(0, eq) : '';
    const caFile = eq > 0 ? value.slice(eq + 1) : '';
    if (!name || !caFile) throw new UsageError(`--trust-path "${value}" is not NAME=CAFILE.`, 'Pass e.g. --trust-path vault=/etc/pki/app-root.pem --trust-path postgres=/etc/pki/env-root.pem.');
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(name)) throw new UsageError(`--trust-path name "${name}" is not usable.`, 'Use letters, digits, "-" and "_", starting with a letter (it names the bundle file and the env variable).');
    if (RESERVED_PATH_NAMES.has(envName(name))) throw new UsageError(`--trust-path name "${name}" is reserved (the env file already has ${[...RESERVED_PATH_NAMES].join(', ')}).`, 'Choose another name, e.g. vault or postgres.');
    if (out.some((t) => envName(t.name) === envName(name))) throw new UsageError(`--trust-path "${name}" is given twice.`, 'Give each trust path its own name.');
    out.push({ name, caFile });
  }
  return out;
}

function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function defaultEnvPrefix(app: string): string {
  const p = envName(app);
  return /^[0-9]/.test(p) ? `APP_${p}` : p;
}

export function validateEnvPrefix(prefix: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) throw new UsageError(`--env-prefix "${prefix}" is not a valid environment variable prefix.`, 'Use letters, digits and "_", not starting with a digit (e.g. --env-prefix BILLING).');
  return prefix;
}

export function defaultAuditLog(mount: string, home: HomeOptions = {}): string {
  return path.join(certwrightHome(home), 'audit', `${mount.replace(/\//g, '_')}.jsonl`);
}

/** A token from VAULT_TOKEN/BAO_TOKEN, or an AppRole login with the role_id and secret_id files. */
export async function authenticate(vault: VaultClient, options: { roleIdFile?: string | undefined; secretIdFile?: string | undefined; approleMount?: string | undefined }): Promise<{ vault: VaultClient; auth: 'token' | 'approle' }> {
  if (options.roleIdFile || options.secretIdFile) {
    if (!options.roleIdFile || !options.secretIdFile) {
      throw new UsageError('AppRole needs both --role-id-file and --secret-id-file.', 'Pass both files (written by `certwright build-role --role-id-out FILE --secret-id-out FILE`), or neither to use VAULT_TOKEN.');
    }
    let roleId: string;
    try {
      roleId = (await fsp.readFile(options.roleIdFile, 'utf8')).trim();
    } catch {
      throw new OperatorError(`--role-id-file ${options.roleIdFile} cannot be read.`, 'Check the path given to --role-id-file.');
    }
    const secretBuf = await readPrivateFile(options.secretIdFile, '--secret-id-file');
    const secretId = secretBuf.toString('utf8').trim();
    secretBuf.fill(0);
    if (!roleId) throw new OperatorError(`--role-id-file ${options.roleIdFile} is empty.`, 'Write the role_id into it (certwright build-role --role-id-out FILE).');
    if (!secretId) throw new OperatorError(`--secret-id-file ${options.secretIdFile} is empty.`, 'Write a secret_id into it (certwright build-role --secret-id-out FILE).');
    const token = await appRoleLogin(vault, options.approleMount ?? 'approle', roleId, secretId);
    return { vault: new VaultClient({ ...vault.connection, token }), auth: 'approle' };
  }
  if (!vault.connection.token) {
    throw new OperatorError('No Vault credentials were given.', 'Set VAULT_TOKEN (or BAO_TOKEN), or pass --role-id-file and --secret-id-file for AppRole.');
  }
  return { vault, auth: 'token' };
}

interface Prepared {
  plan: Plan;
  san: string;
  anchors: Array<{ spec: TrustPathSpec; trust: TrustAnchors }>;
  /** Issuer certificates known before issuing (the role's issuer and its chain). */
  pool: X509Certificate[];
  role: pki.PkiRole | undefined;
}

function domainAllowed(role: pki.PkiRole, name: string): boolean {
  if (role.allow_any_name) return true;
  for (const d of role.allowed_domains ?? []) {
    if (d === name && role.allow_bare_domains) return true;
    if (role.allow_subdomains && name.endsWith(`.${d}`)) return true;
    if (role.allow_glob_domains && d.includes('*')) {
      const re = new RegExp(`^${d.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      if (re.test(name)) return true;
    }
  }
  return false;
}

async function loadAnchors(specs: TrustPathSpec[]): Promise<Prepared['anchors']> {
  const out: Prepared['anchors'] = [];
  for (const spec of specs) {
    let text: string;
    try {
      text = await fsp.readFile(spec.caFile, 'utf8');
    } catch {
      throw new OperatorError(`--trust-path ${spec.name}: ${spec.caFile} cannot be read.`, 'Check the CA file path after NAME=.');
    }
    out.push({ spec, trust: trustAnchorsFrom(text, spec.caFile, `--trust-path ${spec.name}:`) });
  }
  return out;
}

async function allIssuerCertificates(vault: VaultClient, mount: string): Promise<X509Certificate[]> {
  const res = await vault.request<{ keys?: string[] }>('LIST', `${mount}/issuers`, { anonymous: true, accept: [404] });
  const ids = res.status === 200 ? (res.json?.data?.keys ?? []) : [];
  const views = await Promise.all(ids.map((id) => pki.readIssuerPublic(vault, mount, id)));
  const certs: X509Certificate[] = [];
  for (const v of views) if (v) certs.push(...parseCertificates([v.certificate, ...v.caChain].join('\n'), `${mount} issuer`));
  return certs;
}

/** Reads and checks everything a build certificate needs, without issuing one. */
export async function prepareBuildCert(vault: VaultClient, input: BuildCertInput): Promise<Prepared> {
  const san = commitSan(input.gitSha);
  validateAppName(input.app);
  const anchors = await loadAnchors(input.trustPaths);
  // The directory is made only when there is something to write into it.
  const outDir = path.resolve(input.outDir);
  if (fs.existsSync(outDir)) await assertWritableDir(outDir, '--out');
  else await assertWritableDir(path.dirname(outDir), '--out (its parent)');
  // The role (needs a token that may read it) and the default issuer's chain (public) in parallel.
  const [roleResult, defaultIssuer] = await Promise.all([
    pki.readRole(vault, input.mount, input.role).then(
      (role) => ({ role, denied: false }),
      (error: unknown) => {
        if (error instanceof ExternalError && /permission denied/.test(error.message)) return { role: undefined, denied: true };
        throw error;
      },
    ),
    pki.readIssuerPublic(vault, input.mount, 'default'),
  ]);
  const plan: Plan = { actions: [], facts: [], warnings: [] };
  const role = roleResult.role;
  plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Role', input.role], ['App (CN)', input.app], ['Commit SAN', san]);
  if (!role && !roleResult.denied) {
    throw new OperatorError(`The role ${input.role} does not exist on ${input.mount}/ in ${vault.addr}.`, `Create it: certwright build-role --env ENV --mount ${input.mount} --role ${input.role} --allowed-apps ${input.app}.`);
  }
  if (role) {
    if (role.client_flag === false) {
      throw new OperatorError(
        `The role ${input.mount}/roles/${input.role} does not allow client certificates (client_flag is false).`,
        `Issue build certificates from a client role: certwright build-role --env ENV --mount ${input.mount} --role ${input.role} --allowed-apps ${input.app} makes it client-only.`,
      );
    }
    if (!domainAllowed(role, input.app)) {
      throw new OperatorError(
        `The app "${input.app}" is not allowed by ${input.mount}/roles/${input.role} (allowed: ${(role.allowed_domains ?? []).filter((d) => !d.includes('*')).join(', ') || 'none'}).`,
        `Add it: certwright build-role --env ENV --mount ${input.mount} --role ${input.role} --allowed-apps ${[...(role.allowed_domains ?? []).filter((d) => !d.includes('*')), input.app].join(',')}.`,
      );
    }
    if (!domainAllowed(role, san)) {
      throw new OperatorError(`The role ${input.mount}/roles/${input.role} does not allow the commit SAN ${san}.`, `Let certwright manage the role (it allows "*.git"): certwright build-role --env ENV --mount ${input.mount} --role ${input.role}.`);
    }
    if (role.server_flag) plan.warnings.push(`The role ${input.role} also issues server certificates (server_flag true); build-role makes it client-only.`);
  } else {
    plan.warnings.push(`This token may not read ${input.mount}/roles/${input.role}; the role is checked on the issued certificate instead.`);
  }
  // The chain the role's issuer hands out (with manual_chain, both cross-signed twins).
  const issuerRef = role?.issuer_ref && role.issuer_ref !== 'default' ? role.issuer_ref : 'default';
  const issuer = issuerRef === 'default' ? defaultIssuer : await pki.readIssuerPublic(vault, input.mount, issuerRef);
  if (!issuer) throw new OperatorError(`${input.mount}/ has no issuer "${issuerRef}" in ${vault.addr}.`, 'Install the intermediate first: certwright intermediate --env ENV --mount PATH ...');
  let pool = parseCertificates([issuer.certificate, ...issuer.caChain].join('\n'), `${input.mount} issuer ${issuerRef}`);
  const issuerCert = pool[0]!;
  plan.facts.push(['Issuer', subjectLine(issuerCert)]);
  for (const { spec, trust } of anchors) {
    let found = buildIssuerPath(issuerCert, [...pool, ...trust.extra], trust.anchors);
    if (!found) {
      // The mount may hold the twin without a manual_chain pointing at it: look at every issuer.
      pool = [...pool, ...(await allIssuerCertificates(vault, input.mount))];
      found = buildIssuerPath(issuerCert, [...pool, ...trust.extra], trust.anchors);
    }
    if (!found) {
      throw new OperatorError(
        `--trust-path ${spec.name}: the intermediate ${subjectLine(issuerCert)} of ${input.mount}/ does not chain to ${spec.caFile} (${trust.anchors.map(subjectLine).join('; ')}).`,
        `Pass the root that signed this intermediate, or have that root cross-sign it first: certwright cross-sign --env ENV --mount ${input.mount} --root-dir DIR --passphrase-file FILE.`,
      );
    }
    plan.facts.push([`Trust path ${spec.name}`, [...found.path.map(subjectLine), subjectLine(found.anchor)].join(' -> ')]);
  }
  plan.actions.push(`Issue a client certificate CN=${input.app}, SAN ${san}${input.ttlSeconds ? `, TTL ${humanDuration(input.ttlSeconds)}` : ''}`);
  plan.actions.push(`Write key.pem (0600), cert.pem, chain.pem${input.trustPaths.map((t) => `, ${t.name}.bundle.pem`).join('')} and the env file into ${input.outDir}`);
  return { plan, san, anchors, pool, role };
}

export interface BuildCertResult {
  app: string;
  commit: string;
  serial: string;
  notAfter: string;
  outDir: string;
  files: { key: string; cert: string; chain: string; envFile: string; bundles: Record<string, string> };
  trustPaths: Array<{ name: string; file: string; root: string }>;
  auditLog: string;
  warnings: string[];
}

export async function applyBuildCert(vault: VaultClient, input: BuildCertInput, report: Reporter, prepared?: Prepared): Promise<BuildCertResult> {
  const prep = prepared ?? (await prepareBuildCert(vault, input));
  const body: Record<string, unknown> = { common_name: input.app, alt_names: prep.san, exclude_cn_from_sans: true, private_key_format: 'pkcs8', format: 'pem' };
  if (input.ttlSeconds) body.ttl = vaultDuration(input.ttlSeconds);
  const issued = await pki.issueCertificate(vault, input.mount, input.role, body);
  const leaf = parseCertificates(issued.certificate, 'the issued certificate')[0]!;
  const serial = vaultSerial(issued.serialNumber || leaf.serialNumber);
  const warnings = [...prep.plan.warnings, ...issued.warnings.filter((w) => !/authority information access/i.test(w))];
  // The certificate must be what a build certificate is; otherwise nothing is written.
  const notWritten = `Certificate ${serial} was issued but not written; revoke it with \`certwright revoke --mount ${input.mount} --serial ${serial}\`.`;
  if (!extendedKeyUsages(leaf).includes(EKU_CLIENT_AUTH)) {
    throw new OperatorError(`The role ${input.mount}/roles/${input.role} does not allow client certificates: the issued certificate has no clientAuth usage. ${notWritten}`, `Make the role client-only: certwright build-role --env ENV --mount ${input.mount} --role ${input.role}.`);
  }
  if (commonNameOf(leaf) !== input.app || !dnsNames(leaf).includes(prep.san)) {
    throw new ExternalError(`The issued certificate names CN=${commonNameOf(leaf)} / ${leaf.subjectAltName}, not CN=${input.app} with ${prep.san}. ${notWritten}`);
  }
  if (extendedKeyUsages(leaf).includes(EKU_SERVER_AUTH)) warnings.push('The certificate also allows server authentication (the role has server_flag on).');
  const key = createPrivateKey(issued.privateKey);
  if (!leaf.checkPrivateKey(key)) throw new ExternalError(`Vault returned a key that does not match certificate ${serial}.`);
  const pool = [...parseCertificates([issued.issuingCa, ...issued.caChain].join('\n'), 'the issued chain'), ...prep.pool];
  // chain.pem: the issuer's own path up to its root, as Vault lists it (the default trust path).
  const roots = pool.filter((c) => c.ca && isSelfSigned(c));
  const own = roots.length > 0 ? buildPath(leaf, pool, roots) : undefined;
  const chainCerts = own ? [...own.path.slice(1), own.anchor] : pool.filter((c) => issuedBy(leaf, c));
  const bundles: Array<{ name: string; file: string; pem: string; root: X509Certificate }> = [];
  for (const { spec, trust } of prep.anchors) {
    const found = buildPath(leaf, [...pool, ...trust.extra], trust.anchors);
    if (!found) {
      throw new OperatorError(`--trust-path ${spec.name}: certificate ${serial} does not chain to ${spec.caFile}. ${notWritten}`, 'Pass the root that signed the issuing intermediate, or cross-sign it first (certwright cross-sign).');
    }
    bundles.push({ name: spec.name, file: path.join(path.resolve(input.outDir), `${spec.name}.bundle.pem`), pem: found.path.map(certPem).join(''), root: found.anchor });
  }
  const outDir = path.resolve(input.outDir);
  const files = { key: path.join(outDir, 'key.pem'), cert: path.join(outDir, 'cert.pem'), chain: path.join(outDir, 'chain.pem') };
  const envFile = path.resolve(input.envFile ?? path.join(outDir, 'build-cert.env'));
  const installed = (file: string) => (input.installDir ? path.join(input.installDir, path.relative(outDir, file)) : file);
  const prefix = validateEnvPrefix(input.envPrefix ?? defaultEnvPrefix(input.app));
  const commit = commitFromSans([prep.san])!;
  const notAfter = new Date(leaf.validTo).toISOString();
  const envLines = [
    `# certwright build-cert: app=${input.app} commit=${commit} serial=${serial} expires=${notAfter}`,
    `${prefix}_KEY=${envValue(installed(files.key))}`,
    `${prefix}_CERT=${envValue(installed(files.cert))}`,
    `${prefix}_CHAIN=${envValue(installed(files.chain))}`,
    ...bundles.map((b) => `${prefix}_${envName(b.name)}=${envValue(installed(b.file))}`),
  ];
  const keyPem = issued.privateKey.endsWith('\n') ? issued.privateKey : `${issued.privateKey}\n`;
  const set: Array<{ path: string; data: string; mode: number }> = [
    { path: files.key, data: keyPem, mode: 0o600 },
    { path: files.cert, data: certPem(leaf), mode: 0o644 },
    { path: files.chain, data: chainCerts.map(certPem).join(''), mode: 0o644 },
    ...bundles.map((b) => ({ path: b.file, data: b.pem, mode: 0o644 })),
    { path: envFile, data: `${envLines.join('\n')}\n`, mode: 0o644 },
  ];
  await ensureDir(outDir, 0o755);
  if (input.envFile) await ensureDir(path.dirname(envFile), 0o755);
  await writeFileSetAtomic(set.map((f) => ({ path: f.path, data: f.data, options: { mode: f.mode } })));
  report.done(`Build certificate ${serial} for ${input.app} @ ${commit.slice(0, 12)} written to ${outDir} (expires ${notAfter})`);
  const auditLog = path.resolve(input.auditLog ?? defaultAuditLog(input.mount));
  appendAudit(auditLog, {
    time: new Date().toISOString(),
    app: input.app,
    commit,
    builder: os.hostname(),
    user: safeUser(),
    serial,
    notAfter,
    vault: vault.addr,
    mount: input.mount,
    role: input.role,
    auth: input.auth,
    trustPaths: bundles.map((b) => b.name),
    outDir,
  });
  for (const w of warnings) report.warn(w);
  return {
    app: input.app,
    commit,
    serial,
    notAfter,
    outDir,
    files: { ...files, envFile, bundles: Object.fromEntries(bundles.map((b) => [b.name, b.file])) },
    trustPaths: bundles.map((b) => ({ name: b.name, file: b.file, root: subjectLine(b.root) })),
    auditLog,
    warnings,
  };
}

/** systemd EnvironmentFile= and docker --env-file both read bare values; quote only when needed. */
function envValue(value: string): string {
  if (/^[A-Za-z0-9_./@:+-]+$/.test(value)) return value;
  return `"${value.replace(/(["\\$`])/g, '\\$1')}"`;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid${process.getuid?.() ?? '?'}`;
  }
}

/**
 * One JSON line per build, appended with O_APPEND in a single write, so concurrent builds on one
 * server never interleave within a line. Public facts only (no key, no token).
 */
export function appendAudit(file: string, entry: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

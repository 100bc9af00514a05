import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { parseKeyType, INTERMEDIATE_KEY_TYPES } from '../../pki/keys.js';
import { validateMountPath, validateRoleName } from '../../paths.js';
import { parseCidrs } from '../inputs.js';
import { UsageError } from '../../errors.js';
import { defineStep } from '../step.js';
import type { Plan } from '../context.js';
import type { BuildRoleInput, BuildRoleResult } from '../build-role.js';
import type { BuildCertInput, BuildCertResult } from '../build-cert.js';
import type { VaultClient } from '../../vault/client.js';

const roleImpl = () => import('../build-role.js');
// A CI step: build-cert's implementation keeps its imports cheap (no React, no @peculiar/x509).
const certImpl = () => import('../build-cert.js');

/**
 * The directory the env file's lines point into. docker --env-file and systemd EnvironmentFile=
 * read a value literally, but env files also get sourced by shells (`. ./build-cert.env`), where
 * `$(...)`, backquotes, quotes, spaces or `;` in a path would run or split: only plain path
 * characters go in. `flag` undefined: the value is checked elsewhere (--out when --install-dir
 * is given: the env file does not point there).
 */
function envFilePath(value: string, flag: string | undefined): string {
  if (flag && !/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) {
    throw new UsageError(`${flag} "${value}" has characters a shell would act on when the env file is sourced (only letters, digits and . _ - / @ % + = : , are written into it).`, `Pass ${flag} as a plain path, e.g. ${flag} /opt/app/tls${flag === '--out' ? ', or give --install-dir with the plain path the files will have on the target' : ''}.`);
  }
  return value;
}

export const buildRole = defineStep<BuildRoleInput, Plan, BuildRoleResult>({
  id: 'build-role',
  command: 'build-role',
  title: 'Build role and AppRole',
  summary: 'Online: a client-only PKI role for build certificates (names limited to the apps) and a least-privilege AppRole for the build server that may only issue on that role. Idempotent.',
  usage: 'build-role --env E --mount PATH --role NAME [--allowed-apps NAMES] [--ttl DURATION] [--role-id-out FILE] [--secret-id-out FILE]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the build intermediate', required: true },
    { name: 'role', type: 'string', value: 'NAME', description: 'the PKI role to create or update', default: 'build' },
    { name: 'allowed-apps', type: 'string', value: 'NAMES', description: 'comma-separated app names allowed as CN', defaultText: 'keep the role\'s' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'build certificate lifetime (the seed\'s one year)', default: '8760h' },
    { name: 'key-type', type: 'string', value: 'TYPE', description: `${INTERMEDIATE_KEY_TYPES.join(', ')}`, default: 'ec-p256' },
    { name: 'approle', type: 'string', value: 'NAME', description: 'AppRole name', defaultText: 'build-MOUNT-ROLE' },
    { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount (enabled when missing)', default: 'approle' },
    { name: 'token-ttl', type: 'string', value: 'DURATION', description: 'lifetime of the build server\'s login token', default: '10m' },
    { name: 'secret-id-ttl', type: 'string', value: 'DURATION', description: 'lifetime of secret_ids', defaultText: 'no expiry; rotate with --secret-id-out' },
    { name: 'bound-cidrs', type: 'string', value: 'CIDRS', description: 'comma-separated source addresses the build server logs in from' },
    { name: 'role-id-out', type: 'string', value: 'FILE', description: 'write the AppRole role_id here (0600; the directory is created 0700 when missing)' },
    { name: 'secret-id-out', type: 'string', value: 'FILE', description: 'write a secret_id here (0600); kept while the one in the file is still valid' },
  ],
  async parse(run) {
    const f = run.flags;
    const { validateAppName } = await certImpl();
    const apps = f.csv('allowed-apps');
    const secretIdTtl = f.string('secret-id-ttl');
    const approleName = f.string('approle');
    const roleIdOut = f.string('role-id-out');
    const secretIdOut = f.string('secret-id-out');
    return {
      mount: validateMountPath(f.require('mount')),
      role: validateRoleName(f.string('role')!),
      apps: apps.length ? [...new Set(apps.map((a) => validateAppName(a, '--allowed-apps')))] : undefined,
      ttlSeconds: parseDuration(f.string('ttl')!),
      keyType: parseKeyType(f.string('key-type')!, INTERMEDIATE_KEY_TYPES),
      approleMount: validateMountPath(f.string('approle-mount')!),
      approleName: approleName ? validateRoleName(approleName, '--approle') : undefined,
      tokenTtlSeconds: parseDuration(f.string('token-ttl')!, '--token-ttl'),
      secretIdTtlSeconds: secretIdTtl ? parseDuration(secretIdTtl, '--secret-id-ttl') : 0,
      boundCidrs: parseCidrs(f.csv('bound-cidrs')),
      roleIdOut: roleIdOut ? path.resolve(roleIdOut) : undefined,
      secretIdOut: secretIdOut ? path.resolve(secretIdOut) : undefined,
    };
  },
  planTitle: (input) => `build role ${input.mount}/roles/${input.role}`,
  async plan(run, input) {
    return (await roleImpl()).planBuildRole(run.vault(), input);
  },
  async apply(run, input) {
    return (await roleImpl()).applyBuildRole(run.session, run.vault(), input, run.report);
  },
  present(result, input) {
    const lines = [`Role ${input.mount}/roles/${result.role}: client-only, apps ${result.apps.join(', ')}`, `AppRole: auth/${result.approleMount}/role/${result.approle} (policy ${result.policy})`, `role_id: ${result.roleId}`];
    lines.push(result.secretIdFile ? `secret_id: in ${result.secretIdFile}${result.secretIdCreated ? ' (new)' : ' (still valid, kept)'}` : 'Give the build server a secret_id: certwright build-role ... --secret-id-out FILE');
    return lines.join('\n');
  },
});

type BuildCertPlan = Plan & { prepared: unknown; vault: VaultClient };

export const buildCert = defineStep<BuildCertInput & { roleIdFile?: string | undefined; secretIdFile?: string | undefined; approleMount?: string | undefined }, BuildCertPlan, BuildCertResult>({
  id: 'build-cert',
  command: 'build-cert',
  title: 'Build certificate',
  summary: 'CI: issues a fresh client certificate for one build (CN = app, the commit in a <sha>.git SAN) and writes key, certificate, chain, one bundle per trust path and a 12-factor env file, atomically; appends an audit line.',
  usage: 'build-cert --mount PATH --role NAME --app APP --git-sha SHA --out DIR [--ttl DURATION] [--trust-path NAME=CAFILE ...] [--env-out FILE] [--env-prefix PREFIX] [--install-dir DIR] [--role-id-file FILE --secret-id-file FILE]',
  mutates: true,
  where: 'online',
  session: 'none',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the build intermediate', required: true },
    { name: 'role', type: 'string', value: 'NAME', description: 'the client-only role (certwright build-role)', default: 'build' },
    { name: 'app', type: 'string', value: 'APP', description: 'the application: certificate CN and database user', required: true },
    { name: 'git-sha', type: 'string', value: 'SHA', description: 'full commit hash of the build (git rev-parse HEAD)', required: 'the full commit hash of the build' },
    { name: 'out', type: 'string', value: 'DIR', description: 'where key.pem, cert.pem, chain.pem, NAME.bundle.pem and the env file go', required: true },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'certificate lifetime', defaultText: 'the role\'s TTL' },
    { name: 'trust-path', type: 'string', multiple: true, value: 'NAME=CAFILE', description: 'one bundle (certificate + the intermediate as signed by that root) per trusted root; repeatable' },
    // Not --env-file: Node 20 reads that flag anywhere on its command line (issue 12).
    { name: 'env-out', type: 'string', value: 'FILE', description: 'the env file of PREFIX_NAME=path lines', defaultText: 'OUT/build-cert.env' },
    { name: 'env-prefix', type: 'string', value: 'PREFIX', description: 'variable prefix in the env file', defaultText: 'the app name in capitals' },
    { name: 'install-dir', type: 'string', value: 'DIR', description: 'where the files will live on the target; the env file points there', defaultText: '--out' },
    { name: 'role-id-file', type: 'string', value: 'FILE', description: 'AppRole role_id file (instead of VAULT_TOKEN)' },
    { name: 'secret-id-file', type: 'string', value: 'FILE', description: 'AppRole secret_id file (mode 0600)' },
    { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount', default: 'approle' },
    { name: 'audit-log', type: 'string', value: 'FILE', description: 'audit log to append to', defaultText: 'CERTWRIGHT_HOME/audit/MOUNT.jsonl' },
  ],
  async parse(run) {
    const f = run.flags;
    const { parseTrustPaths, validateAppName, validateEnvPrefix, defaultAuditLog } = await certImpl();
    const mount = validateMountPath(f.require('mount'));
    const ttl = f.string('ttl');
    const prefix = f.string('env-prefix');
    return {
      mount,
      role: validateRoleName(f.string('role')!),
      app: validateAppName(f.require('app')),
      gitSha: f.require('git-sha', 'the full commit hash of the build'),
      outDir: envFilePath(f.require('out'), f.string('install-dir') === undefined ? '--out' : undefined),
      ttlSeconds: ttl ? parseDuration(ttl) : undefined,
      trustPaths: parseTrustPaths(f.list('trust-path')),
      envFile: f.string('env-out'),
      envPrefix: prefix === undefined ? undefined : validateEnvPrefix(prefix),
      installDir: f.string('install-dir') === undefined ? undefined : envFilePath(f.string('install-dir')!, '--install-dir'),
      auditLog: f.string('audit-log') ?? defaultAuditLog(mount, run.home),
      auth: 'token',
      roleIdFile: f.string('role-id-file'),
      secretIdFile: f.string('secret-id-file'),
      approleMount: f.string('approle-mount'),
    };
  },
  planTitle: (input) => `build certificate for ${input.app}`,
  async plan(run, input) {
    const { authenticate, prepareBuildCert } = await certImpl();
    const appRole = Boolean(input.roleIdFile || input.secretIdFile);
    const { vault, auth } = await authenticate(run.vault({ requireToken: !appRole }), { roleIdFile: input.roleIdFile, secretIdFile: input.secretIdFile, approleMount: input.approleMount });
    input.auth = auth;
    const prepared = await prepareBuildCert(vault, input);
    return { ...prepared.plan, prepared, vault };
  },
  async apply(run, input, plan) {
    const { applyBuildCert } = await certImpl();
    return applyBuildCert(plan.vault, input, run.report, plan.prepared as Parameters<typeof applyBuildCert>[3]);
  },
  present(result) {
    const lines = [`Serial: ${result.serial}`, `Expires: ${result.notAfter}`, `Key: ${result.files.key}`, `Certificate: ${result.files.cert}`, `Chain: ${result.files.chain}`];
    for (const t of result.trustPaths) lines.push(`Bundle ${t.name}: ${t.file} (to ${t.root})`);
    lines.push(`Env file: ${result.files.envFile}`);
    return lines.join('\n');
  },
});

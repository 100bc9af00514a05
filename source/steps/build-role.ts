import path from 'node:path';
import fsp from 'node:fs/promises';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { diffRole, roleKeyFields } from '../vault/roles.js';
import * as approle from '../vault/approle.js';
import { vaultKeyParams, type KeyType } from '../pki/keys.js';
import { check, type Check } from '../pki/checks.js';
import { writeFileAtomic, exists, planOutputDir, ensureOutputDir } from '../system/files.js';
import { OperatorError } from '../errors.js';
import { humanDuration } from '../duration.js';
import { completeStep } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import { appendTranscript } from '../../state/transcript.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

/**
 * build-role (online) — the client-only PKI role build certificates come from, and the
 * least-privilege AppRole the build server logs in with.
 * plan reads: the mount, the role, the policy, the AppRole auth mount and role, the secret_id file.
 * apply writes: the PKI role (client_flag on, server_flag off, no IP SANs, no localhost, names
 *   limited to the apps and "*.git" for the commit SAN); an ACL policy allowing only
 *   MOUNT/issue/ROLE (and reading that role); the AppRole (batch tokens carrying only that
 *   policy); optionally the role_id / a fresh secret_id files (0600); the state's record; a
 *   transcript line. Each is written only when it differs, so a second run changes nothing.
 */
export const STEP_ID = 'build-role';

export interface BuildRoleInput {
  mount: string;
  role: string;
  /** undefined: keep the apps the role already allows. */
  apps?: string[] | undefined;
  ttlSeconds: number;
  keyType: KeyType;
  approleMount: string;
  approleName?: string | undefined;
  tokenTtlSeconds: number;
  secretIdTtlSeconds: number;
  boundCidrs: string[];
  roleIdOut?: string | undefined;
  secretIdOut?: string | undefined;
}

export const DEFAULT_BUILD_TTL = 8760 * 3600; // the seed's one year: builds stay deployable that long

export function mountSlug(mount: string): string {
  return mount.replace(/\//g, '-');
}

export function policyName(mount: string, role: string): string {
  return `certwright-build-${mountSlug(mount)}-${role}`;
}

export function defaultAppRoleName(mount: string, role: string): string {
  return `build-${mountSlug(mount)}-${role}`;
}

export function policyHcl(mount: string, role: string): string {
  return [
    `# Managed by certwright build-role: the build server may issue on ${mount}/roles/${role} and nothing else.`,
    `path "${mount}/issue/${role}" {`,
    '  capabilities = ["create", "update"]',
    '}',
    '',
    '# Read its own role, so a wrong app name is reported before anything is issued.',
    `path "${mount}/roles/${role}" {`,
    '  capabilities = ["read"]',
    '}',
    '',
  ].join('\n');
}

/** The role, complete: a POST replaces every field, so nothing is left to Vault's permissive defaults. */
export function desiredRole(apps: string[], input: Pick<BuildRoleInput, 'ttlSeconds' | 'keyType'>): Record<string, unknown> {
  const { key_type, key_bits } = vaultKeyParams(input.keyType);
  return {
    allowed_domains: [...apps, '*.git'],
    allow_bare_domains: true,
    allow_subdomains: false,
    allow_glob_domains: true,
    allow_any_name: false,
    allow_localhost: false,
    allow_ip_sans: false,
    allow_wildcard_certificates: false,
    enforce_hostnames: true,
    server_flag: false,
    client_flag: true,
    code_signing_flag: false,
    email_protection_flag: false,
    ...roleKeyFields(key_type, key_bits, 'client'),
    ext_key_usage: [],
    ttl: input.ttlSeconds,
    max_ttl: input.ttlSeconds,
    no_store: false,
    generate_lease: false,
    require_cn: true,
    issuer_ref: 'default',
  };
}

export function desiredAppRole(policy: string, input: Pick<BuildRoleInput, 'tokenTtlSeconds' | 'secretIdTtlSeconds' | 'boundCidrs'>): Record<string, unknown> {
  return {
    token_policies: [policy],
    token_no_default_policy: true,
    // Batch tokens: nothing stored per build, cheap to create, gone after token_ttl.
    token_type: 'batch',
    token_ttl: input.tokenTtlSeconds,
    token_max_ttl: input.tokenTtlSeconds,
    token_bound_cidrs: input.boundCidrs,
    bind_secret_id: true,
    secret_id_bound_cidrs: input.boundCidrs,
    secret_id_ttl: input.secretIdTtlSeconds,
    secret_id_num_uses: 0,
  };
}

function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => (Array.isArray(v) ? [...v].map(String).sort() : v === null || v === undefined ? [] : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** Fields of `want` that `current` holds differently. */
export function differences(current: Record<string, unknown> | undefined, want: Record<string, unknown>): string[] {
  if (!current) return Object.keys(want);
  return Object.keys(want).filter((k) => {
    const c = current[k];
    const w = want[k];
    if (typeof w === 'boolean' || typeof w === 'number' || typeof w === 'string') return c !== w;
    return !same(c, w);
  });
}

interface Situation {
  role: pki.PkiRole | undefined;
  apps: string[];
  policy: string | undefined;
  authMounted: boolean;
  approle: Partial<approle.AppRoleSettings> | undefined;
  approleName: string;
  policyName: string;
  roleDiff: string[];
  approleDiff: string[];
  wantRole: Record<string, unknown>;
  wantAppRole: Record<string, unknown>;
}

async function situation(vault: VaultClient, input: BuildRoleInput): Promise<Situation> {
  const mount = await pki.readMount(vault, input.mount);
  if (!mount || mount.type !== 'pki') {
    throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Install the build intermediate first: certwright intermediate --env ENV --mount PATH ...');
  }
  const role = await pki.readRole(vault, input.mount, input.role);
  const currentApps = (role?.allowed_domains ?? []).filter((d) => !d.includes('*'));
  const apps = input.apps ?? currentApps;
  if (apps.length === 0) {
    throw new OperatorError(`--allowed-apps is required: the role ${input.mount}/roles/${input.role} ${role ? 'allows no app yet' : 'does not exist yet'}.`, 'Pass the apps that may get build certificates, e.g. --allowed-apps billing,shop.');
  }
  const pName = policyName(input.mount, input.role);
  const aName = input.approleName ?? defaultAppRoleName(input.mount, input.role);
  const auths = await approle.listAuthMounts(vault);
  const authType = auths[`${input.approleMount}/`];
  if (authType && authType !== 'approle') {
    throw new OperatorError(`The auth mount ${input.approleMount}/ exists but is of type ${authType}, not approle.`, 'Pass --approle-mount with another path.');
  }
  const wantRole = desiredRole(apps, input);
  const wantAppRole = desiredAppRole(pName, input);
  const current = authType ? await approle.readAppRole(vault, input.approleMount, aName) : undefined;
  return {
    role,
    apps,
    policy: await approle.readPolicy(vault, pName),
    authMounted: Boolean(authType),
    approle: current,
    approleName: aName,
    policyName: pName,
    roleDiff: diffRole(role, wantRole).fields,
    approleDiff: differences(current as unknown as Record<string, unknown> | undefined, wantAppRole),
    wantRole,
    wantAppRole,
  };
}

/** The accessor of the secret_id in --secret-id-out when that file holds a valid one. */
async function secretIdFileAccessor(vault: VaultClient, input: BuildRoleInput, name: string): Promise<string | undefined> {
  if (!input.secretIdOut || !(await exists(input.secretIdOut))) return undefined;
  const secret = (await fsp.readFile(input.secretIdOut, 'utf8')).trim();
  if (secret === '') return undefined;
  const found = await approle.secretIdValid(vault, input.approleMount, name, secret);
  return found.valid ? found.accessor : undefined;
}

/**
 * Each secret_id build-role creates carries the absolute --secret-id-out path in its metadata,
 * recorded by Vault in the same call that creates it. So a run killed after Vault answered and
 * before the file was written leaves a secret_id that the next run finds and destroys: after a
 * run, the only live secret_id made for that file is the one in it.
 */
const SECRET_ID_OUT_KEY = 'secret_id_out';

async function strandedSecretIds(vault: VaultClient, input: BuildRoleInput, name: string, keep: string | undefined): Promise<string[]> {
  if (!input.secretIdOut) return [];
  return approle.secretIdsCreatedFor(vault, input.approleMount, name, SECRET_ID_OUT_KEY, path.resolve(input.secretIdOut), keep);
}

export async function planBuildRole(vault: VaultClient, input: BuildRoleInput): Promise<Plan> {
  await vault.assertReady();
  const s = await situation(vault, input);
  const plan = emptyPlan();
  plan.facts.push(
    ['Vault', vault.addr],
    ['Role', `${input.mount}/roles/${input.role}`],
    ['Apps (CN)', s.apps.join(', ')],
    ['Commit SAN', '<sha>.git'],
    ['Usage', 'client authentication only (no server, no IP SANs, no localhost)'],
    ['TTL', humanDuration(input.ttlSeconds)],
    ['Key', input.keyType],
    ['Policy', s.policyName],
    ['AppRole', `auth/${input.approleMount}/role/${s.approleName}`],
  );
  if (!s.role) plan.actions.push(`Create the client-only role ${input.mount}/roles/${input.role}`);
  else if (s.roleDiff.length) plan.actions.push(`Update the role ${input.mount}/roles/${input.role} (${s.roleDiff.join(', ')})`);
  if (s.policy !== policyHcl(input.mount, input.role)) plan.actions.push(`${s.policy === undefined ? 'Write' : 'Rewrite'} the policy ${s.policyName} (issue on this role only)`);
  if (!s.authMounted) plan.actions.push(`Enable AppRole at auth/${input.approleMount}/`);
  if (!s.approle) plan.actions.push(`Create the AppRole ${s.approleName} (batch tokens with only ${s.policyName})`);
  else if (s.approleDiff.length) plan.actions.push(`Update the AppRole ${s.approleName} (${s.approleDiff.join(', ')})`);
  for (const [file, flag] of [[input.roleIdOut, '--role-id-out'], [input.secretIdOut, '--secret-id-out']] as const) {
    const createDir = file ? await planOutputDir(path.dirname(file), `${flag} directory`) : undefined;
    if (createDir && !plan.actions.includes(createDir)) plan.actions.push(createDir);
  }
  if (input.roleIdOut) {
    const current = (await exists(input.roleIdOut)) ? (await fsp.readFile(input.roleIdOut, 'utf8')).trim() : undefined;
    const roleId = s.approle ? await approle.readRoleId(vault, input.approleMount, s.approleName) : undefined;
    if (current === undefined || current !== roleId) plan.actions.push(`Write the role_id to ${input.roleIdOut}`);
  }
  const held = s.approle ? await secretIdFileAccessor(vault, input, s.approleName) : undefined;
  if (input.secretIdOut && !held) plan.actions.push(`Create a secret_id and write it to ${input.secretIdOut} (0600)`);
  const stranded = s.approle ? await strandedSecretIds(vault, input, s.approleName, held) : [];
  if (stranded.length) plan.actions.push(`Destroy ${stranded.length} secret_id(s) made for ${input.secretIdOut} that it does not hold (left by an interrupted run, or replaced): accessor ${stranded.join(', ')}`);
  const mountInfo = await pki.readMount(vault, input.mount);
  if (mountInfo && mountInfo.maxLeaseTtlSeconds > 0 && mountInfo.maxLeaseTtlSeconds < input.ttlSeconds) {
    plan.warnings.push(`${input.mount}/ caps TTLs at ${humanDuration(mountInfo.maxLeaseTtlSeconds)}; Vault silently shortens longer build certificates.`);
  }
  return plan;
}

export interface BuildRoleResult {
  role: string;
  apps: string[];
  policy: string;
  approle: string;
  approleMount: string;
  roleId: string;
  roleIdFile?: string;
  secretIdFile?: string;
  secretIdCreated: boolean;
  changed: string[];
}

export async function applyBuildRole(session: EnvSession, vault: VaultClient, input: BuildRoleInput, report: Reporter): Promise<BuildRoleResult> {
  await vault.assertReady();
  const s = await situation(vault, input);
  const changed: string[] = [];
  if (s.roleDiff.length) {
    await pki.writeRole(vault, input.mount, input.role, s.wantRole);
    changed.push('role');
    report.done(`Role ${input.mount}/roles/${input.role} ${s.role ? 'updated' : 'created'}: client-only, apps ${s.apps.join(', ')}`);
  }
  const hcl = policyHcl(input.mount, input.role);
  if (s.policy !== hcl) {
    await approle.writePolicy(vault, s.policyName, hcl);
    changed.push('policy');
    report.done(`Policy ${s.policyName} written (issue on ${input.mount}/issue/${input.role} only)`);
  }
  if (!s.authMounted) {
    await approle.enableAppRole(vault, input.approleMount);
    changed.push('auth');
    report.done(`AppRole enabled at auth/${input.approleMount}/`);
  }
  if (s.approleDiff.length) {
    await approle.writeAppRole(vault, input.approleMount, s.approleName, s.wantAppRole);
    changed.push('approle');
    report.done(`AppRole ${s.approleName} ${s.approle ? 'updated' : 'created'} (batch tokens, policy ${s.policyName} only)`);
  }
  const roleId = await approle.readRoleId(vault, input.approleMount, s.approleName);
  if (input.roleIdOut) {
    const current = (await exists(input.roleIdOut)) ? (await fsp.readFile(input.roleIdOut, 'utf8')).trim() : undefined;
    if (current !== roleId) {
      await ensureOutputDir(path.dirname(path.resolve(input.roleIdOut)));
      await writeFileAtomic(path.resolve(input.roleIdOut), `${roleId}\n`, { mode: 0o600 });
      changed.push('role-id-file');
      report.done(`role_id written to ${input.roleIdOut}`);
    }
  }
  let secretIdCreated = false;
  let held = input.secretIdOut ? await secretIdFileAccessor(vault, input, s.approleName) : undefined;
  if (input.secretIdOut && !held) {
    const file = path.resolve(input.secretIdOut);
    await ensureOutputDir(path.dirname(file));
    const { secretId, accessor } = await approle.createSecretId(vault, input.approleMount, s.approleName, { created_by: 'certwright build-role', env: session.env, [SECRET_ID_OUT_KEY]: file });
    try {
      await writeFileAtomic(file, `${secretId}\n`, { mode: 0o600 });
    } catch (error) {
      // Not written: the secret_id must not stay live on no disk (a kill here is caught by the next run).
      await approle.destroySecretIdAccessor(vault, input.approleMount, s.approleName, accessor).catch(() => undefined);
      throw error;
    }
    held = accessor;
    secretIdCreated = true;
    changed.push('secret-id-file');
    report.done(`secret_id (accessor ${accessor}) written to ${input.secretIdOut} (0600)`);
  }
  const stranded = await strandedSecretIds(vault, input, s.approleName, held);
  for (const accessor of stranded) await approle.destroySecretIdAccessor(vault, input.approleMount, s.approleName, accessor);
  if (stranded.length) {
    changed.push('stranded-secret-ids');
    report.done(`${stranded.length} secret_id(s) made for ${input.secretIdOut} that it does not hold destroyed (accessor ${stranded.join(', ')})`);
  }
  const checks = await verifyBuildRoleLive(vault, input.mount, input.role, s.apps, s.policyName, input.approleMount, s.approleName);
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) throw new OperatorError(`The build role does not verify after writing: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}.`, 'Check the token may write PKI roles, ACL policies and AppRoles.');
  const key = stepKey(STEP_ID, input.mount);
  const previous = session.state.steps[key]?.facts ?? {};
  const roles = [...new Set([...((previous.roles as string[] | undefined) ?? []), input.role])].sort();
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, new Date(), session.state.steps[key]?.artefacts ?? [], {
      roles,
      [`apps:${input.role}`]: s.apps,
      [`policy:${input.role}`]: s.policyName,
      [`approle:${input.role}`]: s.approleName,
      [`approle-mount:${input.role}`]: input.approleMount,
      [`ttl:${input.role}`]: `${input.ttlSeconds}s`,
    }),
  );
  if (changed.length) {
    appendTranscript(session.paths.transcript, 'build-role', { env: session.env, mount: input.mount, role: input.role, apps: s.apps, policy: s.policyName, approle: `${input.approleMount}/${s.approleName}`, changed, secretIdCreated });
  } else {
    report.info(`The build role ${input.mount}/roles/${input.role}, its policy and AppRole are already as wanted.`);
  }
  return {
    role: input.role,
    apps: s.apps,
    policy: s.policyName,
    approle: s.approleName,
    approleMount: input.approleMount,
    roleId,
    ...(input.roleIdOut ? { roleIdFile: path.resolve(input.roleIdOut) } : {}),
    ...(input.secretIdOut ? { secretIdFile: path.resolve(input.secretIdOut) } : {}),
    secretIdCreated,
    changed,
  };
}

/** Reads the world afresh: the role is client-only with these apps, policy and AppRole are ours. */
export async function verifyBuildRoleLive(vault: VaultClient, mount: string, role: string, apps: string[], policy: string, approleMount: string, approleName: string): Promise<Check[]> {
  const r = await pki.readRole(vault, mount, role);
  const checks: Check[] = [check('role exists', r !== undefined, `${mount}/roles/${role}`)];
  if (r) {
    checks.push(check('client flag on', r.client_flag === true, String(r.client_flag)));
    checks.push(check('server flag off', r.server_flag === false, String(r.server_flag)));
    checks.push(check('no IP SANs', r.allow_ip_sans === false, String(r.allow_ip_sans)));
    checks.push(check('no localhost, no wildcards, no free names', r.allow_localhost === false && r.allow_any_name === false && r.allow_wildcard_certificates === false && r.allow_subdomains === false, 'allow_localhost/any_name/wildcards/subdomains'));
    checks.push(check('names limited to the apps', same(r.allowed_domains, [...apps, '*.git']), (r.allowed_domains ?? []).join(', ')));
  }
  checks.push(check('policy is the least-privilege one', (await approle.readPolicy(vault, policy)) === policyHcl(mount, role), policy));
  const a = await approle.readAppRole(vault, approleMount, approleName);
  checks.push(check('AppRole carries only that policy', a !== undefined && same(a.token_policies, [policy]) && a.token_no_default_policy === true, a ? (a.token_policies ?? []).join(', ') : 'missing'));
  return checks;
}

/** Re-checks a completed build-role from state. */
export async function verifyBuildRole(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const record = session.state.steps[stepKey(STEP_ID, mount)];
  if (!record) return [check('build role recorded', false, `no build-role step for ${mount}`)];
  const checks: Check[] = [];
  for (const role of (record.facts.roles as string[] | undefined) ?? []) {
    const approleMount = String(record.facts[`approle-mount:${role}`] ?? 'approle');
    checks.push(...(await verifyBuildRoleLive(vault, mount, role, (record.facts[`apps:${role}`] as string[]) ?? [], String(record.facts[`policy:${role}`]), approleMount, String(record.facts[`approle:${role}`]))));
  }
  return checks;
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { OperatorError, ExternalError } from '../errors.js';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { diffRole, roleKeyFields } from '../vault/roles.js';
import * as auth from '../vault/approle.js';
import { parseCertificates } from '../pki/pem.js';
import { isSelfSigned, pemOf } from '../pki/leaf.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';
import { humanDuration } from '../duration.js';
import { lookupUser, ownerFor, type LocalUser } from '../system/users.js';
import { completeStep } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import { agentPaths, renderAgentHcl, renderTemplate, renderUnit, renderInstallScript, installCommands, type AgentKind, type AgentSpec } from '../agent/render.js';
import { emptyPlan, type EnvSession, type Plan, type Reporter } from './context.js';
import type { Check } from '../pki/checks.js';
import { DEFAULT_TRUST_PATH } from './distribute-ca.js';
import { planInstall, applyInstall, planUninstall, applyUninstall, verifyUninstall, type InstallPlan, type UninstallPlan } from './agent-install.js';
import { forgetStep } from '../../state/transitions.js';

/**
 * agent-app / agent-proxy — everything one agent host needs for one workload.
 * plan reads: the PKI mount (default issuer, CA chain), the policy, the PKI role (app), the AppRole
 *   role and its secret_id accessors, the files already in --out, the service user.
 * apply writes: the ACL policy (app: issue on its own role only; proxy: read the CA chain only),
 *   the PKI role with exactly the allowed names (app), the AppRole role (periodic token), role_id and
 *   a response-wrapped secret_id (0600, owned by the service user), the pinned root, the agent HCL,
 *   the template, the systemd user unit; the install commands in the environment's artefacts; the
 *   state's record. Re-running updates in place: nothing is duplicated, unchanged files are not
 *   rewritten, a still-usable secret_id is kept.
 * verify reads: the same objects and files afresh and compares them with what apply would write.
 */

export interface AgentRolloutInput {
  kind: AgentKind;
  mount: string;
  name: string;
  commonName?: string | undefined;
  altNames: string[];
  ttlSeconds: number;
  tlsDir?: string | undefined;
  caOut?: string | undefined;
  outDir: string;
  user?: string | undefined;
  /** The address the agent uses (default: the address certwright talks to). */
  agentVaultAddr?: string | undefined;
  caFile?: string | undefined;
  allowHttp: boolean;
  tokenPeriodSeconds: number;
  wrapTtlSeconds: number;
  persistentSecretId: boolean;
  newSecretId: boolean;
  tokenSink: boolean;
  approleMount: string;
  baoPath: string;
  certwright: string[];
  select: string[];
  hookStateDir?: string | undefined;
  /** Put the unit into the service user's systemd, start it and wait for its first render. */
  install?: boolean | undefined;
  /** The reverse: stop, disable and remove the unit; destroy the secret_ids; remove --out's files. */
  uninstall?: boolean | undefined;
}

export function stepIdFor(kind: AgentKind, name: string): string {
  return `agent-${kind}-${name}`;
}

import { validateWorkloadName, splitNames } from './inputs.js';

export { validateWorkloadName, splitNames };

export function policyName(env: string, kind: AgentKind, name: string): string {
  return `certwright-${env}-${kind}-${name}`;
}

export function renderPolicy(env: string, kind: AgentKind, name: string, mount: string): string {
  if (kind === 'app') {
    return [
      `# certwright: app "${name}" in environment "${env}" may issue leaf certificates on its own role, nothing else.`,
      '# The role limits the names (allowed_domains, bare names only); the default policy lets the token renew itself.',
      `path "${mount}/issue/${name}" {`,
      '  capabilities = ["create", "update"]',
      '}',
      '',
    ].join('\n');
  }
  return [
    `# certwright: proxy "${name}" in environment "${env}" may only read the issuing CA chain of ${mount}.`,
    `path "${mount}/cert/ca_chain" {`,
    '  capabilities = ["read"]',
    '}',
    '',
  ].join('\n');
}

export function desiredPkiRole(dns: string[], ips: string[], ttlSeconds: number): Record<string, unknown> {
  return {
    allowed_domains: dns,
    allow_bare_domains: true,
    allow_subdomains: false,
    allow_glob_domains: false,
    allow_wildcard_certificates: false,
    allow_any_name: false,
    // localhost, when asked for, is one of allowed_domains (a bare name), never allow_localhost: the
    // health check's role_allows_localhost, and nobody overlooks it in the role.
    allow_localhost: false,
    enforce_hostnames: true,
    allow_ip_sans: ips.length > 0,
    ...(ips.length ? { allowed_ip_sans_cidr: ips.map((ip) => `${ip}/${net.isIPv6(ip) ? 128 : 32}`) } : {}),
    server_flag: true,
    client_flag: false,
    ...roleKeyFields('ec', 256),
    ext_key_usage: [],
    ttl: ttlSeconds,
    max_ttl: ttlSeconds,
    require_cn: true,
    no_store: false,
  };
}

function roleDiffers(current: Record<string, unknown> | undefined, want: Record<string, unknown>): string[] {
  if (!current) return ['missing'];
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    const have = current[k];
    const norm = (x: unknown) => (Array.isArray(x) ? JSON.stringify([...x].map(String).sort()) : x === null || x === undefined ? (Array.isArray(v) ? '[]' : String(x)) : typeof v === 'number' ? String(Number(x)) : String(x));
    if (norm(have) !== norm(v)) diffs.push(k);
  }
  return diffs;
}

type AgentAppRole = Omit<auth.AppRoleSettings, 'token_bound_cidrs' | 'secret_id_bound_cidrs'>;

export function desiredAppRole(policy: string, periodSeconds: number): AgentAppRole {
  return {
    token_policies: [policy],
    token_period: periodSeconds,
    token_ttl: 0,
    token_max_ttl: 0,
    token_explicit_max_ttl: 0,
    token_no_default_policy: false,
    bind_secret_id: true,
    secret_id_num_uses: 0,
    secret_id_ttl: 0,
    token_type: 'service',
  };
}

interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  kind: string;
  owned: boolean;
}

interface FileState {
  file: DesiredFile;
  action?: string;
}

async function safeRead(file: string): Promise<{ content: string; mode: number; uid: number; gid: number } | undefined> {
  let st: fs.Stats;
  try {
    st = await fsp.lstat(file);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) throw new OperatorError(`${file} is a symbolic link; certwright does not follow links in an agent directory.`, `Remove the link (rm ${file}) and run the command again.`);
  if (!st.isFile()) throw new OperatorError(`${file} exists and is not a regular file.`, `Move it away and run the command again.`);
  return { content: await fsp.readFile(file, 'utf8'), mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
}

async function compareFile(f: DesiredFile, owner: { uid: number; gid: number } | undefined): Promise<FileState> {
  const have = await safeRead(f.path);
  if (!have) return { file: f, action: `Write ${f.path} (${f.kind}, mode ${f.mode.toString(8).padStart(4, '0')})` };
  if (sha256Hex(have.content) !== sha256Hex(f.content)) return { file: f, action: `Update ${f.path} (${f.kind})` };
  if (have.mode !== f.mode || (owner && f.owned && (have.uid !== owner.uid || have.gid !== owner.gid))) return { file: f, action: `Fix owner/mode of ${f.path}` };
  return { file: f };
}

type SecretDecision = { mint: false; why: string } | { mint: true; why: string };

interface Resolved {
  env: string;
  spec: AgentSpec;
  user?: LocalUser | undefined;
  owner?: { uid: number; gid: number } | undefined;
  policy: string;
  policyText: string;
  pkiRole?: Record<string, unknown> | undefined;
  approle: AgentAppRole;
  files: FileState[];
  agentCaCopy?: string | undefined;
  secret: SecretDecision;
  accessors: string[];
  approleMountMissing: boolean;
  policyAction?: string | undefined;
  pkiRoleAction?: string | undefined;
  approleAction?: string | undefined;
  installScriptPath: string;
  install?: InstallPlan | undefined;
}

export type AgentPlan = Plan & { resolved: Resolved };

function certwrightSelf(): string[] {
  const script = process.argv[1] ? fs.realpathSync(process.argv[1]) : 'certwright';
  return [process.execPath, script];
}

export function defaultCertwrightCommand(): string[] {
  return certwrightSelf();
}

async function resolveAgentCa(input: AgentRolloutInput, vault: VaultClient, user: LocalUser | undefined, agentAddr: string, plan: Plan): Promise<{ file?: string; copy?: string; pem?: string }> {
  const https = agentAddr.startsWith('https:');
  let file: string | undefined;
  let pem: string | undefined;
  let copy: string | undefined;
  if (input.caFile) {
    file = path.resolve(input.caFile);
    try {
      pem = await fsp.readFile(file, 'utf8');
    } catch {
      throw new OperatorError(`--ca-file ${file} cannot be read.`, 'Pass the CA file the agent trusts for Vault\'s HTTPS (distribute it first with `certwright distribute-ca`).');
    }
  } else if (user && fs.existsSync(path.join(user.home, DEFAULT_TRUST_PATH))) {
    file = path.join(user.home, DEFAULT_TRUST_PATH);
    pem = await fsp.readFile(file, 'utf8');
    plan.facts.push(['Agent CA', `${file} (distributed to ${user.name})`]);
  } else if (vault.connection.ca) {
    pem = vault.connection.ca;
    copy = pem;
  } else if (https) {
    throw new OperatorError(`No CA file is known for the agent to trust Vault at ${agentAddr}.`, 'Pass --ca-file FILE (the root that signed Vault\'s certificate), or distribute it with `certwright distribute-ca --users SVCUSER`.');
  }
  if (pem !== undefined) parseCertificates(pem, file ?? 'the Vault CA');
  if (https && pem) {
    // The agent must be able to verify Vault with exactly this file.
    const probe = new VaultClient({ addr: agentAddr, ca: pem, caSource: file ?? 'the copied Vault CA', timeoutMs: 5000 });
    try {
      await probe.health();
    } catch (error) {
      const msg = (error as Error).message;
      if (/unknown authority|does not name|expired/.test(msg)) throw new OperatorError(`The agent's CA does not verify Vault at ${agentAddr}: ${msg}`, 'Pass --ca-file with the root that signed Vault\'s certificate.');
      plan.warnings.push(`Could not check the agent's CA against ${agentAddr} from here: ${msg}`);
    }
  }
  return { ...(file ? { file } : {}), ...(copy ? { copy } : {}), ...(pem ? { pem } : {}) };
}

async function decideSecret(vault: VaultClient, input: AgentRolloutInput, role: string, secretFile: string, accessors: string[]): Promise<SecretDecision> {
  if (input.newSecretId) return { mint: true, why: '--new-secret-id' };
  if (accessors.length === 0) return { mint: true, why: 'the AppRole has no secret_id yet' };
  const existing = (await safeRead(secretFile))?.content.trim();
  if (existing) {
    if (input.persistentSecretId) {
      const v = await auth.secretIdValid(vault, input.approleMount, role, existing);
      return v.valid ? { mint: false, why: 'the secret_id in the file is still valid' } : { mint: true, why: 'the file holds no valid secret_id' };
    }
    const w = await auth.lookupWrappingToken(vault, existing);
    if (w.valid && w.creationPath === `auth/${input.approleMount}/role/${role}/secret-id`) return { mint: false, why: 'the wrapped secret_id in the file is not used yet and still valid' };
    return { mint: true, why: 'the file holds a spent or expired wrapping token' };
  }
  if (input.persistentSecretId) return { mint: true, why: 'the secret_id file is missing' };
  return { mint: false, why: 'the agent consumed the wrapped secret_id (it keeps it in memory); after an agent restart run again with --new-secret-id' };
}

export async function planAgentRollout(session: EnvSession, vault: VaultClient, input: AgentRolloutInput): Promise<AgentPlan> {
  if (input.uninstall) return planAgentUninstall(session, vault, input);
  const env = session.env;
  const name = validateWorkloadName(input.name);
  const plan = emptyPlan();
  if (input.kind === 'app' && (!input.commonName || !input.tlsDir)) throw new OperatorError('An app agent needs --common-name and --tls-dir.', 'Pass --common-name CN --tls-dir DIR.');
  if (input.kind === 'proxy' && !input.caOut) throw new OperatorError('A proxy agent needs --ca-out FILE.', 'Pass --ca-out FILE (where the proxy reads the CA chain).');
  const names = input.kind === 'app' ? splitNames(input.commonName!, input.altNames) : { dns: [], ips: [] };
  const user = input.user ? lookupUser(input.user) : undefined;
  const owner = ownerFor(user);
  const agentAddr = (input.agentVaultAddr ?? vault.addr).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(agentAddr)) throw new OperatorError(`The agent's Vault address "${agentAddr}" is not an http(s) URL.`, 'Pass --agent-vault-addr https://HOST:PORT.');
  if (!agentAddr.startsWith('https:')) {
    if (!input.allowHttp) throw new OperatorError(`Agents talk to Vault over HTTPS, and ${agentAddr} is plain HTTP.`, 'Serve Vault over HTTPS first and pass --vault-addr https://HOST:PORT (or --allow-http for a throwaway lab).');
    plan.warnings.push(`The agent will talk to Vault over plain HTTP (${agentAddr}): only for a throwaway lab.`);
  }
  await vault.assertReady();
  const mountInfo = await pki.readMount(vault, input.mount);
  if (!mountInfo || mountInfo.type !== 'pki') throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Install the intermediate first: certwright intermediate --env ENV --mount PATH ...');
  const chainPem = await pki.readCaChainPem(vault, input.mount);
  const chain = chainPem.includes('BEGIN CERTIFICATE') ? parseCertificates(chainPem, `${input.mount}/ca_chain`) : [];
  const roots = chain.filter(isSelfSigned);
  if (chain.length === 0 || roots.length === 0) throw new OperatorError(`${input.mount}/ hands out no CA chain ending at a root.`, 'Install the intermediate together with its root: certwright intermediate install --env ENV --mount PATH --cert FILE --root FILE.');
  const ca = await resolveAgentCa(input, vault, user, agentAddr, plan);
  const p = agentPaths(input.outDir, input.kind, env, name);
  const spec: AgentSpec = {
    kind: input.kind,
    env,
    name,
    mount: input.mount,
    outDir: p.dir,
    vaultAddr: agentAddr,
    caCertFile: ca.copy ? p.vaultCa : ca.file,
    approleMount: input.approleMount,
    approleRole: policyName(env, input.kind, name),
    secretIdMode: input.persistentSecretId ? 'persistent' : 'wrapped',
    tokenSink: input.tokenSink,
    commonName: input.commonName?.trim().toLowerCase(),
    dnsNames: names.dns.slice(1),
    ipSans: names.ips,
    ttl: `${input.ttlSeconds}s`,
    tlsDir: input.tlsDir ? path.resolve(input.tlsDir) : undefined,
    caOut: input.caOut ? path.resolve(input.caOut) : undefined,
    certwright: input.certwright,
    baoPath: input.baoPath,
    select: input.select,
    hookStateDir: input.hookStateDir,
    user,
    pathEnv: [...new Set([path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])].join(':'),
  };
  if (!fs.existsSync(spec.baoPath)) plan.warnings.push(`${spec.baoPath} does not exist on this machine; the unit's ExecStart must name the bao binary on the agent host (--bao PATH).`);
  const policy = policyName(env, input.kind, name);
  const policyText = renderPolicy(env, input.kind, name, input.mount);
  const approle = desiredAppRole(policy, input.tokenPeriodSeconds);
  plan.facts.push(['Vault', vault.addr], ['Agent Vault address', agentAddr], ['Workload', `${input.kind} ${name}`], ['Policy', policy], ['AppRole', `auth/${input.approleMount}/role/${policy}`]);
  if (input.kind === 'app') plan.facts.push(['Names', [...names.dns, ...names.ips].join(', ')], ['Leaf TTL', humanDuration(input.ttlSeconds)], ['TLS dir', spec.tlsDir!]);
  else plan.facts.push(['CA file', spec.caOut!]);
  plan.facts.push(['Agent dir', p.dir], ['Service user', user ? `${user.name} (uid ${user.uid})` : 'the current user'], ['Unit', p.unitName]);

  const approleMountType = await auth.authMountType(vault, input.approleMount);
  if (approleMountType && approleMountType !== 'approle') throw new OperatorError(`auth/${input.approleMount} is a ${approleMountType} mount, not AppRole.`, 'Pass --approle-mount with another path.');
  const approleMountMissing = !approleMountType;
  if (approleMountMissing) plan.actions.push(`Enable AppRole at auth/${input.approleMount}`);
  const currentPolicy = await auth.readPolicy(vault, policy);
  const policyAction = currentPolicy === policyText ? undefined : `${currentPolicy === undefined ? 'Create' : 'Update'} policy ${policy} (${input.kind === 'app' ? `issue on ${input.mount}/issue/${name} only` : `read ${input.mount}/cert/ca_chain only`})`;
  if (policyAction) plan.actions.push(policyAction);
  let pkiRole: Record<string, unknown> | undefined;
  let pkiRoleAction: string | undefined;
  if (input.kind === 'app') {
    pkiRole = desiredPkiRole(names.dns, names.ips, input.ttlSeconds);
    const diff = diffRole(await pki.readRole(vault, input.mount, name), pkiRole);
    if (diff.changes.length) pkiRoleAction = `${diff.missing ? 'Create' : `Update (${diff.fields.join(', ')})`} PKI role ${input.mount}/roles/${name}: exactly ${[...names.dns, ...names.ips].join(', ')}, TTL ${humanDuration(input.ttlSeconds)}`;
    if (pkiRoleAction) plan.actions.push(pkiRoleAction);
  }
  const currentAppRole = approleMountMissing ? undefined : await auth.readAppRole(vault, input.approleMount, policy);
  const approleDiffs = roleDiffers(currentAppRole as Record<string, unknown> | undefined, approle as unknown as Record<string, unknown>);
  const approleAction = approleDiffs.length ? `${approleDiffs[0] === 'missing' ? 'Create' : `Update (${approleDiffs.join(', ')})`} AppRole ${policy} (periodic token, period ${input.tokenPeriodSeconds}s)` : undefined;
  if (approleAction) plan.actions.push(approleAction);

  const accessors = approleMountMissing || !currentAppRole ? [] : await auth.listSecretIdAccessors(vault, input.approleMount, policy);
  let secret = await decideSecret(vault, input, policy, p.secretId, accessors);

  const roleId = currentAppRole ? await auth.readRoleId(vault, input.approleMount, policy) : undefined;
  const desired: DesiredFile[] = [
    { path: p.trustRoot, content: pemOf(roots), mode: 0o644, kind: 'pinned root for the hook', owned: true },
    ...(ca.copy ? [{ path: p.vaultCa, content: ca.copy, mode: 0o644, kind: 'CA for Vault\'s HTTPS', owned: true }] : []),
    { path: p.template, content: renderTemplate(spec), mode: 0o644, kind: 'template', owned: true },
    { path: p.hcl, content: renderAgentHcl(spec), mode: 0o644, kind: 'agent config', owned: true },
    { path: p.unit, content: renderUnit(spec), mode: 0o644, kind: 'systemd user unit', owned: true },
  ];
  const files: FileState[] = [];
  if (roleId !== undefined) {
    const rid = await compareFile({ path: p.roleId, content: `${roleId}\n`, mode: 0o600, kind: 'role_id', owned: true }, owner);
    files.push(rid);
  } else {
    files.push({ file: { path: p.roleId, content: '', mode: 0o600, kind: 'role_id', owned: true }, action: `Write ${p.roleId} (role_id, mode 0600)` });
  }
  for (const f of desired) files.push(await compareFile(f, owner));
  for (const f of files) if (f.action) plan.actions.push(f.action);
  let install: InstallPlan | undefined;
  if (input.install) {
    const configChanged = files.some((f) => f.action && (f.file.path === p.hcl || f.file.path === p.template));
    install = await planInstall(spec, renderUnit(spec), configChanged);
    // A restarted agent has no secret_id left (the wrapped one was consumed at its first login):
    // a restart that certwright itself does comes with a fresh one.
    if (install.restart && !input.persistentSecretId && !secret.mint) secret = { mint: true, why: `${p.unitName} restarts to read its changed config, and a restarted agent needs a fresh wrapped secret_id` };
  }
  if (secret.mint) plan.actions.push(`Write a new ${input.persistentSecretId ? 'secret_id' : 'response-wrapped secret_id'} to ${p.secretId} (0600) and destroy the ${accessors.length} older one(s): ${secret.why}`);
  else plan.facts.push(['secret_id', `kept: ${secret.why}`]);
  if (install) {
    plan.actions.push(...install.actions);
    plan.facts.push(['Installed for', `${install.target.user.name}: ${install.target.unitPath}`]);
    if (!input.persistentSecretId) {
      plan.facts.push(['After a restart', `the wrapped secret_id is single use and the agent keeps the unwrapped one in memory only, so after ${p.unitName} restarts (crash, kill, reboot) it cannot log in until you run this command again with --new-secret-id (it keeps retrying and logs in by itself then). --persistent-secret-id trades a secret at rest (0600) for unattended restarts.`]);
    }
  }
  const installScriptPath = path.join(session.paths.artefacts, `install-${p.unitName.replace(/\.service$/, '')}.sh`);
  const installScript = renderInstallScript(spec);
  const scriptSame = fs.existsSync(installScriptPath) && sha256Hex(fs.readFileSync(installScriptPath, 'utf8')) === sha256Hex(installScript);
  if (!scriptSame) plan.actions.push(`Write the install commands to ${installScriptPath}`);
  const dirs = [p.dir, ...(spec.tlsDir ? [spec.tlsDir] : [])];
  for (const d of dirs) if (!fs.existsSync(d)) plan.actions.push(`Create ${d}${user ? ` owned by ${user.name}` : ''}`);
  return {
    ...plan,
    resolved: { env, spec, user, owner, policy, policyText, pkiRole, approle, files, agentCaCopy: ca.copy, secret, accessors, approleMountMissing, policyAction, pkiRoleAction, approleAction, installScriptPath, install },
  };
}

export interface AgentRolloutResult {
  kind: AgentKind;
  name: string;
  outDir: string;
  unit: string;
  unitFile: string;
  installScript: string;
  installCommands: string[];
  policy: string;
  approleRole: string;
  secretId: 'written' | 'kept';
  secretIdNote: string;
  /** The agent config or template changed for an agent set up before: a running agent must be restarted. */
  restartNeeded: boolean;
  changed: string[];
  checks: Check[];
  /** --install: where the unit went and what the manager says now. */
  installed?: { user: string; unitPath: string; checks: Check[] } | undefined;
  /** --uninstall: what was removed. */
  uninstalled?: { user: string; removed: string[]; checks: Check[] } | undefined;
}

async function ensureOwnedDir(dir: string, mode: number, owner: { uid: number; gid: number } | undefined): Promise<void> {
  const existed = fs.existsSync(dir);
  if (!existed) {
    await fsp.mkdir(dir, { recursive: true, mode });
    await fsp.chmod(dir, mode);
  }
  const st = await fsp.lstat(dir);
  if (!st.isDirectory()) throw new OperatorError(`${dir} is not a directory.`, 'Pass a directory path.');
  if (owner && (!existed || st.uid !== owner.uid)) await fsp.chown(dir, owner.uid, owner.gid);
}

export async function applyAgentRollout(session: EnvSession, vault: VaultClient, input: AgentRolloutInput, report: Reporter): Promise<AgentRolloutResult> {
  if (input.uninstall) return applyAgentUninstall(session, vault, input, report);
  const plan = await planAgentRollout(session, vault, input);
  const r = plan.resolved;
  const p = agentPaths(r.spec.outDir, r.spec.kind, r.env, r.spec.name);
  const changed: string[] = [];
  if (r.approleMountMissing) {
    await auth.enableAppRole(vault, input.approleMount);
    report.done(`AppRole enabled at auth/${input.approleMount}`);
    changed.push('approle-mount');
  }
  if (r.policyAction) {
    await auth.writePolicy(vault, r.policy, r.policyText);
    report.done(`Policy ${r.policy} written`);
    changed.push('policy');
  }
  if (r.pkiRole && r.pkiRoleAction) {
    await pki.writeRole(vault, input.mount, r.spec.name, r.pkiRole);
    report.done(`PKI role ${input.mount}/roles/${r.spec.name} written (names: ${[r.spec.commonName, ...r.spec.dnsNames, ...r.spec.ipSans].join(', ')})`);
    changed.push('pki-role');
  }
  if (r.approleAction) {
    await auth.writeAppRole(vault, input.approleMount, r.policy, r.approle);
    report.done(`AppRole ${r.policy} written (periodic token)`);
    changed.push('approle');
  }
  await ensureOwnedDir(p.dir, 0o700, r.owner);
  if (r.spec.tlsDir) await ensureOwnedDir(r.spec.tlsDir, 0o750, r.owner);
  if (r.spec.caOut && !fs.existsSync(path.dirname(r.spec.caOut))) await ensureOwnedDir(path.dirname(r.spec.caOut), 0o755, r.owner);
  const roleId = await auth.readRoleId(vault, input.approleMount, r.policy);
  for (const f of r.files) {
    const file = f.file.kind === 'role_id' ? { ...f.file, content: `${roleId}\n` } : f.file;
    const state = f.file.kind === 'role_id' ? await compareFile(file, r.owner) : f;
    if (!state.action) continue;
    await writeFileAtomic(file.path, file.content, { mode: file.mode, owner: file.owned ? r.owner : undefined });
    report.done(`${path.basename(file.path)} written (${file.kind})`);
    changed.push(path.basename(file.path));
  }
  let secretNote = r.secret.why;
  let accessor: string | undefined;
  if (r.secret.mint) {
    const metadata = { certwright: `${r.env}/${r.spec.kind}/${r.spec.name}` };
    let content: string;
    if (input.persistentSecretId) {
      const s = await auth.createSecretId(vault, input.approleMount, r.policy, metadata);
      content = `${s.secretId}\n`;
      accessor = s.accessor;
    } else {
      const w = await auth.createWrappedSecretId(vault, input.approleMount, r.policy, input.wrapTtlSeconds, metadata);
      content = `${w.token}\n`;
      accessor = w.accessor;
      secretNote = `response-wrapped, single use, unwrap within ${w.ttl}s (start the agent before then)`;
    }
    await writeFileAtomic(p.secretId, content, { mode: 0o600, owner: r.owner });
    const stale = r.accessors.filter((a) => a !== accessor);
    for (const a of stale) await auth.destroySecretIdAccessor(vault, input.approleMount, r.policy, a);
    report.done(`secret_id written to ${p.secretId} (${input.persistentSecretId ? 'plain, kept across restarts' : 'response-wrapped'})${stale.length ? `; ${stale.length} older secret_id(s) destroyed` : ''}`);
    changed.push('secret_id');
  }
  await fsp.mkdir(session.paths.artefacts, { recursive: true, mode: 0o700 });
  const script = renderInstallScript(r.spec);
  if (!fs.existsSync(r.installScriptPath) || fs.readFileSync(r.installScriptPath, 'utf8') !== script) {
    await writeFileAtomic(r.installScriptPath, script, { mode: 0o700 });
    changed.push('install.sh');
  }
  let installed: AgentRolloutResult['installed'];
  if (r.install) {
    const installChecks = await applyInstall(r.spec, renderUnit(r.spec), r.install, report);
    installed = { user: r.install.target.user.name, unitPath: r.install.target.unitPath, checks: installChecks };
    if (r.install.actions.length) changed.push('unit-installed');
  }
  const checks = await verifyAgentRollout(session, vault, { ...input, install: false });
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) throw new ExternalError(`The agent setup does not verify after writing: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}.`);
  const previous = session.state.steps[stepKey(stepIdFor(r.spec.kind, r.spec.name), input.mount)];
  const artefacts = [p.hcl, p.template, p.unit, p.trustRoot].map((file) => ({ kind: `agent-${path.basename(file)}`, path: file, sha256: sha256Hex(fs.readFileSync(file)) }));
  session.commit(
    completeStep(session.state, stepIdFor(r.spec.kind, r.spec.name), input.mount, new Date(), artefacts, {
      kind: r.spec.kind,
      name: r.spec.name,
      outDir: p.dir,
      ...(r.spec.tlsDir ? { tlsDir: r.spec.tlsDir } : {}),
      ...(r.spec.caOut ? { caOut: r.spec.caOut } : {}),
      ...(r.spec.commonName ? { commonName: r.spec.commonName, names: [r.spec.commonName, ...r.spec.dnsNames, ...r.spec.ipSans] } : {}),
      ttl: r.spec.ttl,
      user: r.user?.name ?? '',
      vaultAddr: r.spec.vaultAddr,
      policy: r.policy,
      approleRole: r.policy,
      secretIdMode: r.spec.secretIdMode,
      secretIdAccessor: accessor ?? String(previous?.facts.secretIdAccessor ?? ''),
      unit: p.unitName,
      tokenPeriod: input.tokenPeriodSeconds,
    }),
  );
  return {
    kind: r.spec.kind,
    name: r.spec.name,
    outDir: p.dir,
    unit: p.unitName,
    unitFile: p.unit,
    installScript: r.installScriptPath,
    installCommands: installCommands(r.spec),
    policy: r.policy,
    approleRole: r.policy,
    secretId: r.secret.mint ? 'written' : 'kept',
    secretIdNote: secretNote,
    restartNeeded: !r.install && previous !== undefined && changed.some((c) => c === path.basename(p.hcl) || c === path.basename(p.template)),
    changed,
    checks,
    ...(installed ? { installed } : {}),
  };
}

/** Reads Vault and the files afresh and compares them with what apply writes. */
export async function verifyAgentRollout(session: EnvSession, vault: VaultClient, input: AgentRolloutInput): Promise<Check[]> {
  const checks: Check[] = [];
  const c = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const plan = await planAgentRollout(session, vault, { ...input, newSecretId: false });
  const r = plan.resolved;
  c('policy', !r.policyAction, r.policyAction ?? `${r.policy} as written`);
  if (r.spec.kind === 'app') c('PKI role', !r.pkiRoleAction, r.pkiRoleAction ?? `${input.mount}/roles/${r.spec.name} allows exactly the app's names`);
  c('AppRole', !r.approleAction, r.approleAction ?? `${r.policy}: periodic token, policy ${r.policy}`);
  for (const f of r.files) c(`file ${path.basename(f.file.path)}`, !f.action, f.action ?? `${f.file.path} as written`);
  c('secret_id', !r.secret.mint || input.newSecretId, r.secret.why);
  return checks;
}

// --uninstall: the reverse of --install, and of what the rollout left on the agent host.

interface UninstallResolved {
  spec: AgentSpec;
  unit: UninstallPlan;
  policy: string;
  accessors: string[];
  files: string[];
  installScriptPath: string;
}

function uninstallSpec(session: EnvSession, input: AgentRolloutInput, user: LocalUser | undefined): AgentSpec {
  return {
    kind: input.kind,
    env: session.env,
    name: input.name,
    mount: input.mount,
    outDir: path.resolve(input.outDir),
    vaultAddr: input.agentVaultAddr ?? '',
    approleMount: input.approleMount,
    approleRole: policyName(session.env, input.kind, input.name),
    secretIdMode: input.persistentSecretId ? 'persistent' : 'wrapped',
    tokenSink: input.tokenSink,
    dnsNames: [],
    ipSans: [],
    ttl: '',
    tlsDir: input.tlsDir,
    caOut: input.caOut,
    certwright: input.certwright,
    baoPath: input.baoPath,
    select: input.select,
    user,
    pathEnv: '',
  };
}

async function resolveUninstall(session: EnvSession, vault: VaultClient, input: AgentRolloutInput): Promise<UninstallResolved> {
  const user = input.user ? lookupUser(input.user) : undefined;
  const spec = uninstallSpec(session, input, user);
  const unit = await planUninstall(spec);
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const policy = policyName(session.env, input.kind, input.name);
  await vault.assertReady();
  const mountType = await auth.authMountType(vault, input.approleMount);
  const role = mountType === 'approle' ? await auth.readAppRole(vault, input.approleMount, policy) : undefined;
  const accessors = role ? await auth.listSecretIdAccessors(vault, input.approleMount, policy) : [];
  const candidates = [p.secretId, p.roleId, p.token, p.destination, p.payload, p.hcl, p.template, p.unit, p.trustRoot, p.vaultCa, p.install];
  const files: string[] = [];
  for (const f of [...new Set(candidates)]) {
    const st = await fsp.lstat(f).catch(() => undefined);
    if (st) files.push(f);
  }
  const installScriptPath = path.join(session.paths.artefacts, `install-${p.unitName.replace(/\.service$/, '')}.sh`);
  return { spec, unit, policy, accessors, files, installScriptPath };
}

async function planAgentUninstall(session: EnvSession, vault: VaultClient, input: AgentRolloutInput): Promise<AgentPlan> {
  const u = await resolveUninstall(session, vault, input);
  const plan = emptyPlan();
  plan.facts.push(['Unit', `${u.unit.target.unitName} of ${u.unit.target.user.name}`], ['Agent dir', u.spec.outDir]);
  plan.actions.push(...u.unit.actions);
  if (u.accessors.length) plan.actions.push(`Destroy the ${u.accessors.length} secret_id(s) of AppRole ${u.policy} (nothing can log in as this agent afterwards)`);
  for (const f of u.files) plan.actions.push(`Remove ${f}`);
  if (fs.existsSync(u.installScriptPath)) plan.actions.push(`Remove ${u.installScriptPath}`);
  const key = stepKey(stepIdFor(input.kind, input.name), input.mount);
  if (session.state.steps[key]) plan.actions.push(`Forget the agent in the environment's state (${key})`);
  plan.facts.push(['Kept', `the TLS dir${u.spec.tlsDir ? ` ${u.spec.tlsDir}` : ''} or CA file the app still serves, and the policy, AppRole and PKI role in Vault (re-running without --uninstall sets the agent up again)`]);
  // The plan carries what apply needs; the rollout's other fields do not apply here.
  return { ...plan, resolved: { uninstall: u } as unknown as Resolved };
}

async function applyAgentUninstall(session: EnvSession, vault: VaultClient, input: AgentRolloutInput, report: Reporter): Promise<AgentRolloutResult> {
  const u = await resolveUninstall(session, vault, input);
  const removed: string[] = [];
  await applyUninstall(u.unit, report);
  if (u.unit.actions.length) removed.push(u.unit.target.unitPath);
  for (const a of u.accessors) await auth.destroySecretIdAccessor(vault, input.approleMount, u.policy, a);
  if (u.accessors.length) report.done(`${u.accessors.length} secret_id(s) of ${u.policy} destroyed`);
  for (const f of [...u.files, u.installScriptPath]) {
    if (!fs.existsSync(f)) continue;
    await fsp.rm(f, { force: true });
    removed.push(f);
  }
  await fsp.rmdir(u.spec.outDir).catch(() => undefined);
  const key = stepKey(stepIdFor(input.kind, input.name), input.mount);
  if (session.state.steps[key]) session.commit(forgetStep(session.state, key, new Date()));
  const checks = await verifyUninstall(u.spec);
  for (const f of u.files) checks.push({ name: `removed ${path.basename(f)}`, ok: !fs.existsSync(f), detail: f });
  const left = u.accessors.length ? await auth.listSecretIdAccessors(vault, input.approleMount, u.policy) : [];
  checks.push({ name: 'secret_ids destroyed', ok: left.length === 0, detail: `${left.length} left on AppRole ${u.policy}` });
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) throw new ExternalError(`The agent was not removed completely: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}.`, 'Run the same command with --uninstall again.');
  const p = agentPaths(u.spec.outDir, u.spec.kind, u.spec.env, u.spec.name);
  return {
    kind: input.kind,
    name: input.name,
    outDir: u.spec.outDir,
    unit: p.unitName,
    unitFile: u.unit.target.unitPath,
    installScript: u.installScriptPath,
    installCommands: [],
    policy: u.policy,
    approleRole: u.policy,
    secretId: 'kept',
    secretIdNote: u.accessors.length ? 'destroyed' : 'none existed',
    restartNeeded: false,
    changed: removed,
    checks,
    uninstalled: { user: u.unit.target.user.name, removed, checks },
  };
}

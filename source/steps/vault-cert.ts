import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { diffRole, describeChanges, roleKeyFields } from '../vault/roles.js';
import { parseCertificate, parseCertificates, fingerprint } from '../pki/pem.js';
import { verifyChain, allOk, failed, check, type Check } from '../pki/verify.js';
import { buildServerBundle, certNames, sameNames, describeNames, keyMatchesCert, type ServerNames } from '../pki/server-cert.js';
import { vaultKeyParams, type KeyType } from '../pki/keys.js';
import { writeFileSetAtomic, sha256Hex, assertWritableDir } from '../system/files.js';
import { assertCanGive, currentOwner, describeStat, formatOwner, permitted, type Owner } from '../system/ownership.js';
import { assertReloadTarget, describeTarget, sendReload, waitForFingerprint, type ReloadTarget } from '../system/reload.js';
import { recordedRootFile } from '../vault/trust.js';
import { humanDuration, vaultDuration } from '../duration.js';
import { OperatorError, ExternalError } from '../errors.js';
import { appendEvent } from '../status/events.js';
import { completeStep } from '../../state/transitions.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import { nodeApiAddr, nodeDir, nodeNames, type ClusterNode } from '../vault/cluster.js';
import { serverPaths } from '../vault/server-config.js';
import { runningPid, configOf } from '../system/bao-process.js';

/**
 * vault-cert (online) — Vault's own server certificate, issued from the environment's PKI.
 * plan reads: the mount and role, DIR's four files (names, validity, key match, owner and mode),
 *   the reload target.
 * apply writes: the role (only the names and IPs asked for, server flag only), one certificate
 *   from MOUNT/issue/ROLE, DIR/server.key (0600), server.crt, fullchain.pem, ca-chain.pem (0644) —
 *   each with its final owner and mode before any byte, all renamed into place together — the
 *   state's record; then SIGHUPs the server and checks the new certificate on the wire.
 */
export const STEP_ID = 'vault-cert';

export const TLS_FILES = { key: 'server.key', cert: 'server.crt', fullchain: 'fullchain.pem', caChain: 'ca-chain.pem' } as const;

export interface VaultCertInput {
  mount: string;
  role: string;
  names: ServerNames;
  outDir: string;
  owner?: Owner | undefined;
  ttlSeconds: number;
  renew: boolean;
  /** Re-issue when less than this is left (default: a third of the lifetime). */
  renewBeforeSeconds?: number | undefined;
  keyType: KeyType;
  reload?: ReloadTarget | undefined;
  /** Where the server is reached, to see the new certificate on the wire after the reload. */
  checkAddr?: string | undefined;
  /**
   * The environment's Vault is a raft cluster (vault/cluster.ts): one certificate per node in
   * OUT/ENV-k, naming the shared names plus the node's own host; `only` limits the run to one
   * node (--node), whose server alone is sent SIGHUP after a re-issue.
   */
  cluster?: { dir: string; nodes: ClusterNode[]; only?: string | undefined } | undefined;
  /** The names the role allows (the union over the cluster's nodes); default: names. */
  roleNames?: ServerNames | undefined;
  /** Set by the cluster loop: the node this one certificate is for. */
  node?: ClusterNode | undefined;
}

export function tlsPaths(dir: string) {
  const d = path.resolve(dir);
  return { dir: d, key: path.join(d, TLS_FILES.key), cert: path.join(d, TLS_FILES.cert), fullchain: path.join(d, TLS_FILES.fullchain), caChain: path.join(d, TLS_FILES.caChain) };
}

export function desiredRole(input: Pick<VaultCertInput, 'names' | 'ttlSeconds' | 'keyType' | 'roleNames'>): pki.RoleData {
  const { key_type, key_bits } = vaultKeyParams(input.keyType);
  const names = input.roleNames ?? input.names;
  return {
    allowed_domains: names.dns,
    allow_bare_domains: true,
    allow_subdomains: false,
    allow_glob_domains: false,
    allow_wildcard_certificates: false,
    allow_any_name: false,
    // localhost, when asked for, is one of allowed_domains (a bare name), never allow_localhost: the
    // health check's role_allows_localhost, and nobody overlooks it in the role.
    allow_localhost: false,
    enforce_hostnames: true,
    allow_ip_sans: names.ips.length > 0,
    // OpenBao >= 2.5 enforces this; Vault ignores the unknown field.
    allowed_ip_sans_cidr: names.ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
    allowed_uri_sans: [],
    server_flag: true,
    client_flag: false,
    code_signing_flag: false,
    email_protection_flag: false,
    ...roleKeyFields(key_type, key_bits),
    ext_key_usage: [],
    ttl: input.ttlSeconds,
    max_ttl: input.ttlSeconds,
    require_cn: true,
    no_store: false,
  };
}

/** Fields of the role that differ from what is wanted, as "field: have -> want" (the one role diff, vault/roles.ts). */
export function roleDiff(current: pki.RoleData | undefined, want: pki.RoleData): string[] {
  const diff = diffRole(current, want);
  return diff.missing ? ['role does not exist'] : describeChanges(diff);
}

export interface ExistingFiles {
  /** nothing there / a good certificate to keep / something to replace. */
  status: 'missing' | 'ok' | 'replace';
  reasons: string[];
  /** Owner or mode of the key is wrong: refused without --renew, never silently changed. */
  keyProblems: string[];
  leaf?: X509Certificate | undefined;
}

export async function inspectTlsDir(dir: string, names: ServerNames, owner: Owner, renewBeforeSeconds: number | undefined, now = new Date()): Promise<ExistingFiles> {
  const p = tlsPaths(dir);
  const present = [p.key, p.cert, p.fullchain, p.caChain].filter((f) => fs.existsSync(f));
  if (present.length === 0) return { status: 'missing', reasons: [], keyProblems: [] };
  const reasons: string[] = [];
  const keyProblems: string[] = [];
  if (present.length < 4) reasons.push(`incomplete set: ${[TLS_FILES.key, TLS_FILES.cert, TLS_FILES.fullchain, TLS_FILES.caChain].filter((f) => !present.includes(path.join(p.dir, f))).join(', ')} missing`);
  let leaf: X509Certificate | undefined;
  if (fs.existsSync(p.key)) {
    const stat = await fsp.stat(p.key);
    if (stat.mode & 0o077) keyProblems.push(`${p.key} is readable by others (${describeStat(stat)}); a server key must be 0600`);
    if (stat.uid !== owner.uid || stat.gid !== owner.gid) keyProblems.push(`${p.key} belongs to ${stat.uid}:${stat.gid}, not to the Vault user ${formatOwner(owner)}`);
  }
  if (fs.existsSync(p.cert)) {
    try {
      leaf = parseCertificate(await fsp.readFile(p.cert, 'utf8'), p.cert);
    } catch {
      reasons.push(`${TLS_FILES.cert} cannot be parsed`);
    }
  }
  if (leaf) {
    const have = certNames(leaf);
    if (!sameNames(have, names)) reasons.push(`names differ: certificate has ${describeNames(have)}, asked for ${describeNames(names)}`);
    const notAfter = new Date(leaf.validTo).getTime();
    const lifetime = (notAfter - new Date(leaf.validFrom).getTime()) / 1000;
    const window = renewBeforeSeconds ?? Math.floor(lifetime / 3);
    const left = Math.floor((notAfter - now.getTime()) / 1000);
    if (left <= 0) reasons.push('the certificate has expired');
    else if (left <= window) reasons.push(`near expiry: ${humanDuration(left)} left, renewal window ${humanDuration(window)}`);
    if (fs.existsSync(p.key)) {
      try {
        if (!keyMatchesCert(await fsp.readFile(p.key, 'utf8'), leaf)) reasons.push(`${TLS_FILES.key} does not match ${TLS_FILES.cert}`);
      } catch {
        reasons.push(`${TLS_FILES.key} cannot be read`);
      }
    }
    if (fs.existsSync(p.fullchain)) {
      try {
        const chain = parseCertificates(await fsp.readFile(p.fullchain, 'utf8'), p.fullchain);
        if (fingerprint(chain[0]!) !== fingerprint(leaf)) reasons.push(`${TLS_FILES.fullchain} does not start with ${TLS_FILES.cert}`);
        else if (chain.length < 2) reasons.push(`${TLS_FILES.fullchain} holds no intermediate`);
        if (fs.existsSync(p.caChain)) {
          const ca = parseCertificates(await fsp.readFile(p.caChain, 'utf8'), p.caChain);
          const root = ca.at(-1)!;
          const checks = verifyChain(chain, root, now);
          if (!allOk(checks)) reasons.push(`the chain does not verify: ${failed(checks).map((c) => c.name).join('; ')}`);
        }
      } catch {
        reasons.push(`${TLS_FILES.fullchain} or ${TLS_FILES.caChain} cannot be parsed`);
      }
    }
  }
  return { status: reasons.length === 0 && keyProblems.length === 0 ? 'ok' : 'replace', reasons, keyProblems, leaf };
}

export interface VaultCertPlan extends Plan {
  issue: boolean;
  roleChanges: string[];
  existing: ExistingFiles;
  /** A cluster: each selected node's own plan. */
  nodes?: Array<{ node: ClusterNode; plan: VaultCertPlan }> | undefined;
}

/** The per-node inputs of a cluster run: the node's TLS directory, names, reload target and address. */
export function nodeInputs(input: VaultCertInput): Array<{ node: ClusterNode; input: VaultCertInput }> {
  const c = input.cluster!;
  const all = c.nodes.map((node) => ({ node, names: nodeNames(node, input.names) }));
  const roleNames: ServerNames = { dns: [...new Set(all.flatMap((n) => n.names.dns))], ips: [...new Set(all.flatMap((n) => n.names.ips))] };
  return all
    .filter((n) => c.only === undefined || n.node.id === c.only)
    .map(({ node, names }) => {
      // The node's own server, when it already serves TLS from its directory: SIGHUP it, and it alone.
      const sp = serverPaths(nodeDir(c.dir, node));
      const pid = runningPid(sp.pidFile);
      const servesTls = pid !== undefined && configOf(pid) === sp.hostConfig;
      return {
        node,
        input: { ...input, cluster: undefined, node, names, roleNames, outDir: path.join(input.outDir, node.id), reload: servesTls ? { pid } : undefined, checkAddr: servesTls ? nodeApiAddr(node) : undefined },
      };
    });
}

export async function planVaultCert(session: EnvSession, vault: VaultClient, input: VaultCertInput): Promise<VaultCertPlan> {
  if (!input.cluster) return planOneCert(session, vault, input);
  const nodes: NonNullable<VaultCertPlan['nodes']> = [];
  for (const n of nodeInputs(input)) nodes.push({ node: n.node, plan: await planOneCert(session, vault, n.input) });
  const first = nodes[0]!.plan;
  const plan: VaultCertPlan = { ...emptyPlan(), issue: nodes.some((n) => n.plan.issue), roleChanges: first.roleChanges, existing: first.existing, nodes };
  plan.facts.push(['Cluster', `${input.cluster.nodes.length} nodes; ${input.cluster.only ? `this run: ${input.cluster.only} only` : 'one certificate per node'} in ${path.resolve(input.outDir)}/ENV-k`]);
  for (const { node, plan: p } of nodes) {
    plan.facts.push([node.id, p.facts.find(([k]) => k === 'Names')?.[1] ?? '']);
    plan.actions.push(...p.actions.filter((a) => !plan.actions.includes(a)).map((a) => (a.startsWith('Create role') || a.startsWith('Update role') ? a : `${node.id}: ${a}`)));
    plan.warnings.push(...p.warnings);
  }
  return plan;
}

async function planOneCert(session: EnvSession, vault: VaultClient, input: VaultCertInput): Promise<VaultCertPlan> {
  assertCanGive(input.owner);
  const owner = input.owner ?? currentOwner();
  const p = tlsPaths(input.outDir);
  const createDir = await assertOutDir(p.dir, owner);
  await vault.assertReady();
  const mount = await pki.readMount(vault, input.mount);
  if (!mount || mount.type !== 'pki') throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Pass the intermediate\'s mount (--mount), or create it with `certwright intermediate`.');
  if (!(await pki.readDefaultIssuer(vault, input.mount))) throw new OperatorError(`${input.mount}/ has no default issuer yet.`, 'Install the intermediate first: certwright intermediate install (or certwright intermediate).');
  const want = desiredRole(input);
  const roleChanges = roleDiff(await pki.readRole(vault, input.mount, input.role), want);
  const existing = await inspectTlsDir(p.dir, input.names, owner, input.renewBeforeSeconds);
  if (existing.keyProblems.length > 0 && !input.renew) {
    throw new OperatorError(
      `The existing key in ${p.dir} is not safe to serve: ${existing.keyProblems.join('; ')}. Nothing was changed.`,
      `Re-issue with fresh files owned by the Vault user: certwright vault-cert ... --owner ${formatOwner(owner)} --renew (or fix it by hand: chown ${formatOwner(owner)} ${p.key} && chmod 600 ${p.key}).`,
    );
  }
  if (input.reload) await assertReloadTarget(input.reload);
  const plan: VaultCertPlan = { ...emptyPlan(), issue: false, roleChanges, existing };
  plan.facts.push(['Vault', vault.addr], ['Mount / role', `${input.mount}/roles/${input.role}`], ['Names', describeNames(input.names)], ['Validity', humanDuration(input.ttlSeconds)], ['Files', `${p.dir} (owner ${formatOwner(owner)})`]);
  if (existing.leaf) plan.facts.push(['Current', `${fingerprint(existing.leaf)} until ${new Date(existing.leaf.validTo).toISOString()}`]);
  if (roleChanges.length > 0) plan.actions.push(roleChanges[0] === 'role does not exist' ? `Create role ${input.role} (server flag only, exactly these names)` : `Update role ${input.role}: ${roleChanges.join(', ')}`);
  plan.issue = input.renew || existing.status !== 'ok';
  if (plan.issue) {
    const why = input.renew ? '--renew' : existing.status === 'missing' ? 'no certificate yet' : [...existing.keyProblems, ...existing.reasons].join('; ');
    if (createDir) plan.actions.push(createDir);
    plan.actions.push(`Issue a new server certificate (${why}) and write ${Object.values(TLS_FILES).join(', ')}`);
    if (input.reload) plan.actions.push(`Send SIGHUP to ${describeTarget(input.reload)} and check the new certificate on the wire`);
  }
  return plan;
}

/** The TLS directory must be enterable by the Vault user; one that does not exist is created 0755 (missing parents 0755), as the plan says. */
async function assertOutDir(dir: string, owner: Owner): Promise<string | undefined> {
  let stat: fs.Stats;
  try {
    stat = await fsp.stat(dir);
  } catch {
    let parent = path.dirname(dir);
    while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    await assertWritableDir(parent, '--out (its nearest existing parent)');
    return `Create ${dir} (mode 0755, so that the Vault user can enter it${path.dirname(dir) !== parent ? '; missing parents 0755' : ''})`;
  }
  if (!stat.isDirectory()) throw new OperatorError(`--out ${dir} is not a directory.`, 'Pass a directory to --out.');
  if (!permitted(stat, owner, 'x')) {
    throw new OperatorError(`The Vault user ${formatOwner(owner)} cannot enter ${dir} (${describeStat(stat)}), so it could not read its key there.`, `chmod 755 ${dir} (or chown ${formatOwner(owner)} ${dir}), or pass another --out.`);
  }
  return undefined;
}

export interface VaultCertResult {
  issued: boolean;
  fingerprint: string;
  serial: string;
  notAfter: string;
  names: ServerNames;
  files: ReturnType<typeof tlsPaths>;
  reloaded: boolean;
  onWire?: string | undefined;
  checks: Check[];
  node?: string | undefined;
  nodes?: VaultCertResult[] | undefined;
}

export async function applyVaultCert(session: EnvSession, vault: VaultClient, input: VaultCertInput, report: Reporter): Promise<VaultCertResult> {
  if (!input.cluster) return applyOneCert(session, vault, input, report);
  // One node at a time: each reloaded node presents its new certificate before the next is touched,
  // so at most one node is between certificates and the others keep serving.
  const results: VaultCertResult[] = [];
  for (const n of nodeInputs(input)) results.push(await applyOneCert(session, vault, n.input, report));
  const first = results[0]!;
  return { ...first, issued: results.some((r) => r.issued), reloaded: results.some((r) => r.reloaded), checks: results.flatMap((r) => r.checks), nodes: results };
}

async function applyOneCert(session: EnvSession, vault: VaultClient, input: VaultCertInput, report: Reporter): Promise<VaultCertResult> {
  const plan = await planOneCert(session, vault, input);
  const owner = input.owner ?? currentOwner();
  const p = tlsPaths(input.outDir);
  if (plan.roleChanges.length > 0) {
    await pki.writeRole(vault, input.mount, input.role, desiredRole(input));
    report.done(`Role ${input.role} ${plan.roleChanges[0] === 'role does not exist' ? 'created' : 'updated'} (server flag, ${describeNames(input.names)})`);
  }
  if (!plan.issue) {
    const leaf = plan.existing.leaf!;
    report.info(`The server certificate in ${p.dir} is valid until ${new Date(leaf.validTo).toISOString()} and has the names asked for; nothing to issue.`);
    const checks = await verifyVaultCert(p.dir, input.names, owner);
    return { issued: false, fingerprint: fingerprint(leaf), serial: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString(), names: input.names, files: p, reloaded: false, checks };
  }
  report.progress(`Issuing the server certificate from ${input.mount}/issue/${input.role}`);
  const issued = await pki.issueCertificate(vault, input.mount, input.role, {
    common_name: input.names.dns[0]!,
    ...(input.names.dns.length > 1 ? { alt_names: input.names.dns.slice(1).join(',') } : {}),
    ...(input.names.ips.length > 0 ? { ip_sans: input.names.ips.join(',') } : {}),
    ttl: vaultDuration(input.ttlSeconds),
  });
  const leaf = parseCertificate(issued.certificate, `${input.mount}/issue/${input.role}`);
  const chain = issued.caChain.map((pem, i) => parseCertificate(pem, `ca_chain[${i}]`));
  const rootFile = recordedRootFile(session.state);
  const fallbackRoot = rootFile ? parseCertificate(fs.readFileSync(rootFile, 'utf8'), rootFile) : undefined;
  const bundle = buildServerBundle(leaf, chain, fallbackRoot);
  // Everything is checked in memory before a byte reaches the disk.
  const precheck = [...verifyChain([leaf, ...bundle.intermediates], bundle.root), check('key matches certificate', keyMatchesCert(issued.privateKey, leaf), 'private key'), check('names', sameNames(certNames(leaf), input.names), describeNames(certNames(leaf)))];
  if (!allOk(precheck)) throw new ExternalError(`The certificate Vault issued does not check out: ${failed(precheck).map((c) => `${c.name} (${c.detail})`).join('; ')}. Nothing was written.`);
  const lifetime = (new Date(leaf.validTo).getTime() - Date.now()) / 1000;
  if (lifetime < input.ttlSeconds - 120) report.warn(`Vault capped the validity to ${humanDuration(Math.round(lifetime))} (asked ${humanDuration(input.ttlSeconds)}): the role, mount or issuer allows no more.`);
  const fp = fingerprint(leaf);
  report.done(`Certificate issued: serial ${issued.serialNumber}, ${describeNames(input.names)}, until ${new Date(leaf.validTo).toISOString()}`);
  if (input.node && !fs.existsSync(path.dirname(p.dir))) await fsp.mkdir(path.dirname(p.dir), { mode: 0o755 });
  if (!fs.existsSync(p.dir)) {
    await fsp.mkdir(path.dirname(p.dir), { recursive: true, mode: 0o755 });
    await fsp.mkdir(p.dir, { mode: 0o755 });
    if (input.owner) await fsp.chown(p.dir, owner.uid, owner.gid);
    await fsp.chmod(p.dir, 0o755);
  }
  const key = issued.privateKey.endsWith('\n') ? issued.privateKey : `${issued.privateKey}\n`;
  const opts = (mode: number) => ({ mode, ...(input.owner ? { owner: input.owner } : {}) });
  await writeFileSetAtomic([
    { path: p.key, data: key, options: opts(0o600) },
    { path: p.cert, data: bundle.cert, options: opts(0o644) },
    { path: p.fullchain, data: bundle.fullchain, options: opts(0o644) },
    { path: p.caChain, data: bundle.caChain, options: opts(0o644) },
  ]);
  report.done(`Wrote ${p.key} (0600), ${TLS_FILES.cert}, ${TLS_FILES.fullchain}, ${TLS_FILES.caChain} (0644), owner ${formatOwner(owner)}`);
  const checks = await verifyVaultCert(p.dir, input.names, owner);
  if (!allOk(checks)) throw new ExternalError(`The files written in ${p.dir} do not verify: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}.`);
  const artefacts = [
    { kind: 'vault-server-key', path: p.key, sha256: sha256Hex(key) },
    { kind: 'vault-server-certificate', path: p.cert, sha256: sha256Hex(bundle.cert), fingerprint: fp },
    { kind: 'vault-fullchain', path: p.fullchain, sha256: sha256Hex(bundle.fullchain) },
    { kind: 'vault-ca-chain', path: p.caChain, sha256: sha256Hex(bundle.caChain), fingerprint: fingerprint(bundle.root) },
  ];
  const recorded = session.state.steps[STEP_ID];
  const node = input.node;
  const previousSerial = node ? (recorded?.facts[`node ${node.id}`] as string[] | undefined)?.[0] : recorded?.facts.serial;
  const notAfter = new Date(leaf.validTo).toISOString();
  const common = { mount: input.mount, role: input.role, owner: formatOwner(owner), ttlSeconds: input.ttlSeconds, rootFingerprint: fingerprint(bundle.root) };
  if (node) {
    // A cluster keeps one record: the shared names, the TLS directory above the nodes', and each
    // node's certificate as "node ENV-k": [serial, fingerprint, notAfter]. The other nodes' entries
    // and artefacts stay as they were.
    const kept = (recorded?.artefacts ?? []).filter((a) => path.dirname(a.path) !== p.dir);
    session.commit(
      completeStep(session.state, STEP_ID, undefined, new Date(), [...kept, ...artefacts], {
        ...common,
        dns: input.roleNames?.dns ?? input.names.dns,
        ips: input.roleNames?.ips ?? input.names.ips,
        outDir: path.dirname(p.dir),
        [`node ${node.id}`]: [issued.serialNumber, fp, notAfter],
      }),
    );
  } else {
    session.commit(completeStep(session.state, STEP_ID, undefined, new Date(), artefacts, { ...common, dns: input.names.dns, ips: input.names.ips, outDir: p.dir, serial: issued.serialNumber, fingerprint: fp, notAfter }));
  }
  const workload = node ? `vault/${node.id}` : 'vault/server';
  // The status screen's event log: the first certificate is "issued", a replacement "rotated".
  appendEvent(session.paths.events, session.env, previousSerial ? 'rotated' : 'issued', { workload, serial: issued.serialNumber, fingerprint: fp, notAfter });
  let onWire: string | undefined;
  if (input.reload) {
    await sendReload(input.reload);
    report.done(`Sent SIGHUP to ${describeTarget(input.reload)}`);
    appendEvent(session.paths.events, session.env, 'reloaded', { workload, container: describeTarget(input.reload), serial: issued.serialNumber });
    const addr = input.checkAddr ?? recordedHttpsAddr(session);
    if (addr) {
      report.progress(`Waiting for ${addr} to present the new certificate`);
      onWire = await waitForFingerprint(addr, bundle.caChain.slice(bundle.caChain.lastIndexOf('-----BEGIN CERTIFICATE-----')), fp);
      report.done(`Vault at ${addr} now presents the new certificate (${fp})`);
    } else {
      report.warn('No HTTPS address is recorded for this Vault, so the new certificate was not checked on the wire (pass --check-addr).');
    }
  }
  return { issued: true, fingerprint: fp, serial: issued.serialNumber, notAfter, names: input.names, files: p, reloaded: Boolean(input.reload), onWire, checks, ...(node ? { node: node.id } : {}) };
}

function recordedHttpsAddr(session: EnvSession): string | undefined {
  const rendered = session.state.steps['vault-https']?.facts.apiAddr;
  if (typeof rendered === 'string') return rendered;
  const addr = session.state.vault?.addr;
  return addr?.startsWith('https:') ? addr : undefined;
}

/** Re-reads DIR: four files, modes and owner, key matches, names, chain to the root in ca-chain.pem. */
export async function verifyVaultCert(dir: string, names: ServerNames, owner: Owner): Promise<Check[]> {
  const p = tlsPaths(dir);
  const checks: Check[] = [];
  for (const [file, mode] of [[p.key, 0o600], [p.cert, 0o644], [p.fullchain, 0o644], [p.caChain, 0o644]] as const) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    checks.push(check(`${path.basename(file)} mode and owner`, Boolean(stat && (stat.mode & 0o777) === mode && stat.uid === owner.uid && stat.gid === owner.gid), stat ? describeStat(stat) : 'missing'));
  }
  if (!allOk(checks)) return checks;
  const leaf = parseCertificate(fs.readFileSync(p.cert, 'utf8'), p.cert);
  const full = parseCertificates(fs.readFileSync(p.fullchain, 'utf8'), p.fullchain);
  const ca = parseCertificates(fs.readFileSync(p.caChain, 'utf8'), p.caChain);
  checks.push(check('key matches certificate', keyMatchesCert(fs.readFileSync(p.key, 'utf8'), leaf), p.key));
  checks.push(check('fullchain starts with the leaf', fingerprint(full[0]!) === fingerprint(leaf), `${full.length} certificate(s)`));
  checks.push(check('names', sameNames(certNames(leaf), names), describeNames(certNames(leaf))));
  checks.push(...verifyChain(full, ca.at(-1)!));
  return checks;
}

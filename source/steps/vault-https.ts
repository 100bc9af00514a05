import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import { execa } from 'execa';
import type { X509Certificate } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import { parseCertificates, fingerprint, certPem } from '../pki/pem.js';
import { verifyChain, allOk, failed, check, type Check } from '../pki/verify.js';
import { keyMatchesCert, namesHost, certNames, hasServerAuth } from '../pki/server-cert.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';
import { currentOwner, describeStat, formatOwner, permitted, type Owner } from '../system/ownership.js';
import { containerIdsFor, hostIdsFor, rootlessNamespace } from '../system/userns.js';
import { assertPortFree, formatListen, isWildcard, type ListenAddress } from '../system/ports.js';
import { startBaoServer, runningPid, hasExited, logTail, stopBaoServer, configOf, waitUntilActive } from '../system/bao-process.js';
import { podmanAvailable, commandExists, inspectContainer, imageExists, containerLogs, containerMounts, removeContainer, runPodman, diagnoseVaultLog, pullNotice } from '../system/podman.js';
import { findBao, baoVersion, supportsFileStorage } from '../system/openbao.js';
import { renderHcl, renderCompose, podmanRunArgs, serverPaths, configOfMounts, CONTAINER, type ServerModel, type Storage } from '../vault/server-config.js';
import { probeTls, explainProbe } from '../vault/tls-diagnosis.js';
import { tlsPaths } from './vault-cert.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setVault } from '../../state/transitions.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import { sealStatus, type SealStatus } from '../vault/pki.js';
import { submitShare } from './vault-unseal.js';
import type { ClusterNode } from '../vault/cluster.js';

/**
 * vault-https — Vault serving HTTPS with the certificate vault-cert wrote.
 * plan reads: the TLS directory (key owner and mode against the container user, names against the
 *   address clients use, chain), OUT's rendered files, the data directory's owner, the port, the
 *   container or process already running.
 * apply writes: OUT/config/vault.hcl and OUT/vault-host.hcl (same server, container and host
 *   paths), OUT/compose.yaml, OUT/data (0700, owned by the container user); with --start, the
 *   container (podman-compose or podman run) or a bao process, then waits until Vault answers
 *   over HTTPS trusting only the environment's root, and records the address and CA in state.
 */
export const STEP_ID = 'vault-https';

export type Runtime = 'podman' | 'process';

export interface VaultHttpsInput {
  tlsDir: string;
  outDir: string;
  listen: ListenAddress;
  storage: Storage;
  image: string;
  baoBinary?: string | undefined;
  /** uid:gid the container runs as; default: the owner of server.key. */
  user?: Owner | undefined;
  containerName: string;
  network: 'host' | 'bridge';
  apiAddr?: string | undefined;
  start: boolean;
  runtime: Runtime;
  waitSeconds: number;
  /** PEM of the CA to trust (the environment's root) and where it came from. */
  ca: string;
  caFile?: string | undefined;
  /**
   * The server is the environment's own, run by `certwright vault-server` from this directory:
   * vault-https restarts that same process (or recreates that same container, with the same data
   * mount) on the TLS configuration and unseals it over HTTPS with these shares (or typed ones).
   */
  managed?: { keyShares: string[]; unsealShare: (status: SealStatus) => Promise<string | undefined> } | undefined;
  /** The environment's Vault is a raft cluster (vault-server --nodes): see steps/vault-cluster.ts. */
  cluster?: { dir: string; nodes: ClusterNode[] } | undefined;
  /** A token, when one is known: the cluster's membership is read with it. */
  token?: string | undefined;
}

export { DEFAULT_IMAGE } from '../defaults.js';

export interface TlsMaterial {
  leaf: X509Certificate;
  root: X509Certificate;
  keyOwner: Owner;
}

/** The TLS directory as the server will use it; every problem is an error with its fix. */
export async function checkTlsDir(input: VaultHttpsInput, user: Owner): Promise<TlsMaterial> {
  const p = tlsPaths(input.tlsDir);
  for (const f of [p.key, p.fullchain, p.caChain]) {
    if (!fs.existsSync(f)) throw new OperatorError(`${f} does not exist.`, `Write the server certificate first: certwright vault-cert --env ENV ... --out ${p.dir}.`);
  }
  const dirStat = await fsp.stat(p.dir);
  if (!permitted(dirStat, user, 'x')) {
    throw new OperatorError(`Vault, running as ${formatOwner(user)}, cannot enter ${p.dir} (${describeStat(dirStat)}).`, `chmod 755 ${p.dir}, or issue the files for that user: certwright vault-cert ... --owner ${formatOwner(user)} --renew.`);
  }
  const keyStat = await fsp.stat(p.key);
  if (keyStat.mode & 0o077) {
    throw new OperatorError(`${p.key} is readable by others (${describeStat(keyStat)}).`, `chmod 600 ${p.key}, or re-issue it: certwright vault-cert ... --renew.`);
  }
  if (!permitted(keyStat, user, 'r')) {
    throw new OperatorError(
      `Vault, running as ${formatOwner(user)}, cannot read ${p.key} (${describeStat(keyStat)}): it would fail with "permission denied" on the key.`,
      `Issue the files for that user: certwright vault-cert ... --owner ${formatOwner(user)} --renew (or chown ${formatOwner(user)} ${p.key}); or pass --user ${keyStat.uid}:${keyStat.gid} to run Vault as the key's owner.`,
    );
  }
  const full = parseCertificates(await fsp.readFile(p.fullchain, 'utf8'), p.fullchain);
  const ca = parseCertificates(await fsp.readFile(p.caChain, 'utf8'), p.caChain);
  const leaf = full[0]!;
  if (!keyMatchesCert(await fsp.readFile(p.key, 'utf8'), leaf)) throw new OperatorError(`${p.key} does not match the certificate in ${p.fullchain}.`, 'Re-issue both together: certwright vault-cert ... --renew.');
  if (full.length < 2) throw new OperatorError(`${p.fullchain} holds only the leaf; clients that trust only the root could not verify Vault.`, 'Re-issue with certwright vault-cert, which writes leaf + intermediates.');
  const root = ca.at(-1)!;
  const checks = verifyChain(full, root);
  if (!allOk(checks)) throw new OperatorError(`The certificate in ${p.fullchain} does not verify against ${p.caChain}: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}.`, 'Re-issue it: certwright vault-cert ... --renew.');
  if (!hasServerAuth(leaf)) throw new OperatorError(`The certificate in ${p.fullchain} is not for TLS servers (no serverAuth).`, 'Re-issue it with certwright vault-cert (its role has the server flag).');
  return { leaf, root, keyOwner: { uid: keyStat.uid, gid: keyStat.gid } };
}

export function apiAddrFor(input: Pick<VaultHttpsInput, 'listen' | 'apiAddr'>, leaf: X509Certificate): string {
  if (input.apiAddr) return new URL(input.apiAddr).origin;
  let host = input.listen.host;
  if (isWildcard(host)) host = certNames(leaf).dns[0] ?? '127.0.0.1';
  return `https://${host.includes(':') ? `[${host}]` : host}:${input.listen.port}`;
}

export interface VaultHttpsPlan extends Plan {
  model: ServerModel;
  files: Array<{ path: string; content: string; changed: boolean }>;
  createData: boolean;
  /** What --start will do: nothing (already running with this config), start, recreate, or restart the managed server on TLS. */
  startAction: 'none' | 'start' | 'recreate' | 'running' | 'restart';
  /** The managed server's PID while it still runs its loopback-HTTP configuration. */
  bootstrapPid?: number | undefined;
  material: TlsMaterial;
}

export async function planVaultHttps(session: EnvSession, input: VaultHttpsInput): Promise<VaultHttpsPlan> {
  if (input.cluster) return (await import('./vault-cluster.js')).planVaultCluster(session, input);
  const p = serverPaths(input.outDir);
  if (!fs.existsSync(path.dirname(p.dir))) throw new OperatorError(`--out ${p.dir}: its parent directory does not exist.`, `mkdir -p ${p.dir}, or pass another --out.`);
  // The process runtime runs Vault as this user; a container as --user or the key's owner.
  const keyStat = fs.statSync(tlsPaths(input.tlsDir).key, { throwIfNoEntry: false });
  // Rootless Podman (certwright not run as root): the container user is an id inside the user
  // namespace; what it may read is decided by the host id it maps to.
  const ns = input.runtime === 'podman' ? rootlessNamespace() : undefined;
  let user: Owner;
  let hostUser: Owner;
  if (ns) {
    const keyOwner = keyStat ? { uid: keyStat.uid, gid: keyStat.gid } : { uid: ns.uid, gid: ns.gid };
    const mapped = input.user ?? containerIdsFor(ns, keyOwner);
    if (!mapped) {
      throw new OperatorError(
        `${tlsPaths(input.tlsDir).key} is owned by ${formatOwner(keyOwner)}, an id ${ns.user}'s rootless Podman does not map: no container user can read it.`,
        `Issue the files for ${ns.user}: certwright vault-cert ... --owner ${ns.uid}:${ns.gid} --renew (container root 0:0 is ${ns.user} on the host: no keep-id, no chown, no capabilities).`,
      );
    }
    user = mapped;
    const host = hostIdsFor(ns, user);
    if (!host) throw new OperatorError(`--user ${formatOwner(user)} is outside ${ns.user}'s subordinate id ranges (/etc/subuid, /etc/subgid).`, `Drop --user (certwright runs the container as 0:0, which is ${ns.user} on the host).`);
    hostUser = host;
    if (keyStat && !(keyStat.mode & 0o077) && !permitted(keyStat, hostUser, 'r')) {
      throw new OperatorError(
        `In ${ns.user}'s rootless Podman, container user ${formatOwner(user)} is host ${formatOwner(hostUser)}, which cannot read ${tlsPaths(input.tlsDir).key} (${describeStat(keyStat)}): Vault would fail with "permission denied" on the key.`,
        keyStat.uid === ns.uid
          ? `Drop --user: container root (0:0) is ${ns.user} on the host, who owns the key; no keep-id, no chown and no capabilities are needed.`
          : `Issue the files for ${ns.user}: certwright vault-cert ... --owner ${ns.uid}:${ns.gid} --renew, and drop --user.`,
      );
    }
  } else {
    user = input.runtime === 'process' ? currentOwner() : (input.user ?? (keyStat ? { uid: keyStat.uid, gid: keyStat.gid } : currentOwner()));
    hostUser = user;
  }
  if (input.runtime === 'process' && input.user && (input.user.uid !== user.uid || input.user.gid !== user.gid)) {
    throw new OperatorError(`--user ${formatOwner(input.user)} applies to the container; --runtime process runs Vault as this user (${formatOwner(user)}).`, 'Drop --user, or use --runtime podman.');
  }
  const material = await checkTlsDir(input, hostUser);
  const warnings: string[] = [];
  if (input.storage === 'file') {
    const binary = input.baoBinary ?? (input.runtime === 'process' ? findBao() : undefined);
    const version = binary ? baoVersion(binary) : undefined;
    if (binary && !supportsFileStorage(version)) {
      throw new OperatorError(`${version!.product} ${version!.major}.${version!.minor}.${version!.patch} (${binary}) has no file storage backend (removed in OpenBao 2.7).`, 'Use --storage raft (single-node integrated storage in the same data directory).');
    }
    if (!binary) warnings.push(`File storage needs HashiCorp Vault or OpenBao before 2.7; check that ${input.image} has it, or use --storage raft.`);
  }
  const apiAddr = apiAddrFor(input, material.leaf);
  const apiHost = new URL(apiAddr).hostname.replace(/^\[|\]$/g, '');
  if (!namesHost(material.leaf, apiHost)) {
    throw new OperatorError(
      `Clients will reach Vault at ${apiAddr}, but its certificate names only ${material.leaf.subjectAltName ?? 'nothing'}: every TLS check would fail on the name.`,
      `Re-issue with that name: certwright vault-cert ... --${net.isIP(apiHost) ? 'ip' : 'dns'} ${apiHost} --renew; or listen on / pass --api-addr with a name it carries.`,
    );
  }
  if (fs.existsSync(p.data)) {
    const stat = await fsp.stat(p.data);
    if (!permitted(stat, hostUser, 'wx')) {
      throw new OperatorError(`Vault, running as ${formatOwner(hostUser)}${ns ? ` (container ${formatOwner(user)})` : ''}, cannot write its storage ${p.data} (${describeStat(stat)}).`, `chown -R ${formatOwner(hostUser)} ${p.data} (certwright creates it so when it does not exist).`);
    }
  }
  const model: ServerModel = {
    env: session.env,
    listen: input.listen,
    apiAddr,
    ...(input.storage === 'raft' ? { clusterAddr: `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${input.listen.port + 1}` } : {}),
    storage: input.storage,
    outDir: p.dir,
    tlsDir: tlsPaths(input.tlsDir).dir,
    dataDir: p.data,
    image: input.image,
    containerName: input.containerName,
    user,
    hostUser,
    network: input.network,
    baoBinary: input.baoBinary ? fs.realpathSync(input.baoBinary) : undefined,
    // The Vault certwright runs keeps the audit device vault-server declared (a dropped stanza removes it).
    ...(input.managed ? (input.runtime === 'podman' ? { auditLog: p.containerAudit, auditInContainer: true } : { auditLog: p.audit }) : {}),
  };
  const files = [
    { path: p.config, content: renderHcl(model, 'container') },
    { path: p.hostConfig, content: renderHcl(model, 'host') },
    { path: p.compose, content: renderCompose(model) },
  ].map((f) => ({ ...f, changed: !fs.existsSync(f.path) || fs.readFileSync(f.path, 'utf8') !== f.content }));
  const plan: VaultHttpsPlan = { ...emptyPlan(), model, files, createData: !fs.existsSync(p.data), startAction: 'none', material };
  plan.warnings.push(...warnings);
  plan.facts.push(['API address', apiAddr], ['Listener', `${formatListen(input.listen)} (TLS 1.2+, ${path.basename(tlsPaths(input.tlsDir).fullchain)})`], ['Certificate', `${fingerprint(material.leaf)} (${material.leaf.subjectAltName})`], ['Storage', `${input.storage} in ${p.data}`], ['Runs as', ns ? `${formatOwner(user)} in ${ns.user}'s rootless Podman = host ${formatOwner(hostUser)} (owner of the key; no keep-id, no chown, no added capabilities)` : formatOwner(user)]);
  if (input.runtime === 'podman') plan.facts.push(['Image', input.image + (input.baoBinary ? ` + ${model.baoBinary}` : '')], ['Container', `${input.containerName} (network ${input.network})`]);
  for (const f of files) if (f.changed) plan.actions.push(`Write ${f.path}`);
  if (plan.createData) plan.actions.push(`Create ${p.data} (0700, owner ${formatOwner(hostUser)})`);
  if (input.start) {
    const anyChange = files.some((f) => f.changed);
    plan.startAction = await startSituation(input, model, anyChange);
    const ports = [input.listen, ...(input.storage === 'raft' ? [{ host: input.listen.host, port: input.listen.port + 1 }] : [])];
    if (plan.startAction === 'start') for (const l of ports) await assertPortFree(l);
    if (plan.startAction === 'restart' && formatListen(input.listen) !== String(session.state.steps['vault-server']?.facts.listen)) {
      // The raft cluster port moves with the listener; the storage stays.
      for (const l of ports) await assertPortFree(l);
    }
    if (input.runtime === 'podman' && (plan.startAction === 'start' || plan.startAction === 'recreate' || plan.startAction === 'restart') && !(await imageExists(input.image))) {
      // Said before anything runs: an air-gapped host has to load the image first (podman load -i FILE).
      plan.actions.push(pullNotice(input.image));
    }
    if (plan.startAction === 'start') plan.actions.push(input.runtime === 'podman' ? `Start container ${input.containerName}` : 'Start bao server as a background process');
    if (plan.startAction === 'recreate') plan.actions.push(`Recreate container ${input.containerName} with the new configuration`);
    if (plan.startAction === 'restart' && input.runtime === 'podman') {
      plan.actions.push(`Recreate the environment's Vault container ${input.containerName} from ${p.bootstrapConfig} on ${p.config}: same server, same storage (${p.data} mounted at ${CONTAINER.data}); its loopback HTTP listener goes`);
    } else if (plan.startAction === 'restart') {
      plan.bootstrapPid = runningPid(p.pidFile);
      plan.actions.push(`Restart the environment's Vault (PID ${plan.bootstrapPid}) from ${p.bootstrapConfig} on ${p.hostConfig}: same server, same storage (${p.data}); its loopback HTTP listener goes`);
    }
    if (plan.startAction !== 'none' && plan.startAction !== 'running') plan.actions.push(`Wait until ${apiAddr} answers over HTTPS, trusting only the environment's root`);
    if (input.managed && (plan.startAction === 'restart' || plan.startAction === 'start' || plan.startAction === 'recreate')) {
      plan.actions.push(`Unseal it over HTTPS, trusting only the environment's root (${input.managed.keyShares.length ? `${input.managed.keyShares.length} share(s) from --key-file` : 'shares typed, hidden'})`);
      if (plan.startAction === 'restart') plan.actions.push(`Check that ${apiAddr.replace('https:', 'http:')} no longer answers in plain HTTP`);
    }
  }
  return plan;
}

async function startSituation(input: VaultHttpsInput, model: ServerModel, configChanged: boolean): Promise<VaultHttpsPlan['startAction']> {
  const p = serverPaths(input.outDir);
  if (input.runtime === 'process') {
    const pid = runningPid(p.pidFile);
    if (pid !== undefined && input.managed && configOf(pid) === p.bootstrapConfig) return 'restart';
    if (pid !== undefined) {
      if (configChanged) throw new OperatorError(`Vault (PID ${pid}) already runs from ${p.dir}, and the configuration would change.`, `Stop it first (kill ${pid}), then run this again with --start.`);
      return 'running';
    }
    return 'start';
  }
  const podman = await podmanAvailable();
  if (!podman.ok) throw new OperatorError(`--start needs podman, and ${podman.why}.`, 'Install podman (apt-get install podman), or use --runtime process to run bao on the host, or drop --start and use compose.yaml elsewhere.');
  const info = await inspectContainer(model.containerName);
  // The environment's Vault in its loopback-HTTP container (vault-server): moved, not started anew.
  if (info?.running && input.managed && configOfMounts(p.dir, (await containerMounts(model.containerName)) ?? new Map()) === 'bootstrap') return 'restart';
  if (info?.running && !configChanged) return 'running';
  if (info) return 'recreate';
  return 'start';
}

export interface VaultHttpsResult {
  apiAddr: string;
  files: string[];
  started: boolean;
  runtime: Runtime;
  pid?: number | undefined;
  container?: string | undefined;
  fingerprint: string;
  checks: Check[];
}

export async function applyVaultHttps(session: EnvSession, input: VaultHttpsInput, report: Reporter): Promise<VaultHttpsResult> {
  if (input.cluster) return (await import('./vault-cluster.js')).applyVaultCluster(session, input, report);
  const plan = await planVaultHttps(session, input);
  const p = serverPaths(input.outDir);
  const { model } = plan;
  for (const dir of [p.dir, p.configDir]) {
    if (!fs.existsSync(dir)) {
      await fsp.mkdir(dir, { mode: 0o755 });
      await fsp.chmod(dir, 0o755);
    }
  }
  for (const f of plan.files) {
    if (f.changed) {
      await writeFileAtomic(f.path, f.content, { mode: 0o644 });
      report.done(`Wrote ${f.path}`);
    }
  }
  if (plan.createData) {
    await fsp.mkdir(p.data, { mode: 0o700 });
    const owner = model.hostUser ?? model.user;
    if (owner.uid !== currentOwner().uid || owner.gid !== currentOwner().gid) await fsp.chown(p.data, owner.uid, owner.gid);
    await fsp.chmod(p.data, 0o700);
    report.done(`Created ${p.data} (0700, owner ${formatOwner(owner)}): nothing in the container needs to chown it`);
  }
  let pid: number | undefined;
  let started = false;
  const checks: Check[] = [];
  if (input.start && plan.startAction !== 'none') {
    if (plan.startAction === 'running') report.info(`Vault already runs with this configuration (${input.runtime === 'podman' ? `container ${model.containerName}` : 'process'}).`);
    else if (input.runtime === 'podman') await startContainer(input, model, plan.startAction === 'recreate' || plan.startAction === 'restart', report);
    else {
      if (plan.startAction === 'restart' && plan.bootstrapPid !== undefined) {
        report.progress(`Stopping the loopback-HTTP configuration of the environment's Vault (PID ${plan.bootstrapPid})`);
        await stopBaoServer(plan.bootstrapPid);
        report.done(`Stopped PID ${plan.bootstrapPid}; its storage ${p.data} stays`);
      }
      pid = await startProcess(input, report);
    }
    started = plan.startAction !== 'running';
    if (input.runtime === 'process' && pid === undefined) pid = Number(fs.readFileSync(p.pidFile, 'utf8').trim());
    report.progress(`Waiting for Vault to answer at ${model.apiAddr} over HTTPS`);
    await waitForHttps(input, model, pid);
    const probe = await probeTls(model.apiAddr, input.ca);
    if (!probe.authorized) throw explainProbe(model.apiAddr, probe, input.caFile ?? 'the environment\'s root', input.ca);
    checks.push(check('presents the certificate in the TLS directory', probe.fingerprint === fingerprint(plan.material.leaf), probe.fingerprint));
    checks.push(check('sends leaf and intermediate', probe.sent.length >= 2, `${probe.sent.length} certificate(s)`));
    checks.push(check('chain verifies to the environment root only', probe.authorized, input.caFile ?? 'root'));
    if (!allOk(checks)) throw new ExternalError(`Vault at ${model.apiAddr} does not serve what certwright rendered: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}.`, `Is another server listening on ${formatListen(input.listen)}? Stop it and run again.`);
    if (input.managed && started) await unsealManaged(input, model.apiAddr, report, checks);
    if (plan.startAction === 'restart') {
      const plain = await fetch(`${model.apiAddr.replace('https:', 'http:')}/v1/sys/health`).then((r) => r.text(), (e: Error) => `no answer (${e.message})`);
      checks.push(check('loopback HTTP listener gone', !/"initialized"/.test(plain), plain.slice(0, 80)));
      if (!allOk(checks)) throw new ExternalError(`Vault at ${model.apiAddr} still answers in plain HTTP after the move to TLS.`, `Look for another server on ${formatListen(input.listen)} (ss -ltnp).`);
    }
    const health = await new VaultClient({ addr: model.apiAddr, ca: input.ca, caSource: input.caFile }).health();
    report.done(`Vault answers over HTTPS at ${model.apiAddr} (${probe.protocol}; ${health.initialized ? (health.sealed ? 'initialised, sealed' : 'unsealed') : 'not initialised yet: run certwright vault-init'})`);
    session.commit(setVault(session.state, model.apiAddr, input.caFile, new Date()));
  }
  session.commit(
    completeStep(
      session.state,
      STEP_ID,
      undefined,
      new Date(),
      plan.files.map((f) => ({ kind: path.basename(f.path), path: f.path, sha256: sha256Hex(f.content) })),
      {
        apiAddr: model.apiAddr,
        listen: formatListen(input.listen),
        storage: input.storage,
        outDir: p.dir,
        tlsDir: model.tlsDir,
        runtime: input.runtime,
        user: formatOwner(model.user),
        image: input.image,
        containerName: model.containerName,
        ...(pid !== undefined ? { pid } : {}),
        certFingerprint: fingerprint(plan.material.leaf),
      },
    ),
  );
  return { apiAddr: model.apiAddr, files: plan.files.map((f) => f.path), started, runtime: input.runtime, pid, container: input.runtime === 'podman' ? model.containerName : undefined, fingerprint: fingerprint(plan.material.leaf), checks };
}

/** The managed server comes back sealed after a restart: unseal it over HTTPS, trusting only the root. */
async function unsealManaged(input: VaultHttpsInput, apiAddr: string, report: Reporter, checks: Check[]): Promise<void> {
  const vault = new VaultClient({ addr: apiAddr, ca: input.ca, caSource: input.caFile, timeoutMs: input.waitSeconds * 1000 });
  let status = await sealStatus(vault);
  const queue = [...input.managed!.keyShares];
  const seen = new Set<string>();
  while (status.sealed) {
    const share = queue.shift() ?? (await input.managed!.unsealShare(status));
    if (share === undefined) throw new ExternalError(`Vault at ${apiAddr} is still sealed: ${status.progress} of ${status.t} key shares given.`, `Unseal it: certwright vault-unseal --env ${'ENV'} --key-file FILE (the vault-server --keys-out file), then run vault-https again.`);
    if (seen.has(share.trim())) continue;
    seen.add(share.trim());
    status = await submitShare(vault, share);
  }
  report.done(`Vault at ${apiAddr} is unsealed (over HTTPS, trusting only ${input.caFile ?? 'the root'})`);
  if (!(await waitUntilActive(() => vault.health(), input.waitSeconds))) throw new ExternalError(`Vault at ${apiAddr} is unsealed but its raft node did not become active within ${input.waitSeconds} s.`, 'Run the same command again (nothing is lost).');
  checks.push(check('unsealed over HTTPS', !status.sealed, apiAddr));
}

async function startContainer(input: VaultHttpsInput, model: ServerModel, recreate: boolean, report: Reporter): Promise<void> {
  const p = serverPaths(input.outDir);
  if (recreate) {
    await removeContainer(model.containerName);
    report.done(input.managed ? `Removed the container ${model.containerName} of the old configuration; its storage ${p.data} stays` : `Removed the old container ${model.containerName}`);
    for (const l of [input.listen]) await assertPortFree(l);
  }
  if (!(await imageExists(model.image))) report.warn(`The image ${model.image} is not on this machine; podman will try to pull it.`);
  report.progress(`Starting container ${model.containerName}`);
  // podman-compose 1.0.x (Debian 12) adds its project network even to `network_mode: host`
  // services, which podman refuses; for host networking the equivalent podman run is used.
  // The environment's Vault stays the container vault-server started with podman run (same network).
  if (!input.managed && model.network === 'bridge' && (await commandExists('podman-compose'))) {
    const r = await execa('podman-compose', ['-f', p.compose, '-p', `certwright-${model.env}`, 'up', '-d'], { reject: false, all: true, timeout: 120_000, cwd: p.dir });
    if (r.exitCode !== 0 || !(await inspectContainer(model.containerName))) {
      const log = (await inspectContainer(model.containerName)) ? await containerLogs(model.containerName) : String(r.all ?? '');
      throw diagnoseStart(log, input, model) ?? new ExternalError(`podman-compose up failed: ${String(r.all ?? '').trim().split('\n').slice(-4).join(' | ')}`, `Run podman-compose -f ${p.compose} up by hand to see the whole message.`);
    }
    report.done(`Started container ${model.containerName} with podman-compose (${p.compose})`);
  } else {
    await runPodman(podmanRunArgs(model), 'podman run');
    report.done(`Started container ${model.containerName} with podman run (the equivalent of ${p.compose}; ${input.managed ? 'as vault-server started it' : model.network === 'host' ? 'podman-compose 1.0 mishandles network_mode: host' : 'podman-compose is not installed'})`);
  }
}

function diagnoseStart(log: string, input: VaultHttpsInput, model: ServerModel): OperatorError | undefined {
  return diagnoseVaultLog(log, { keyFile: tlsPaths(input.tlsDir).key, user: formatOwner(model.user), dataDir: model.dataDir, listen: formatListen(input.listen) });
}

async function startProcess(input: VaultHttpsInput, report: Reporter): Promise<number> {
  const p = serverPaths(input.outDir);
  const pid = await startBaoServer(input.baoBinary ?? findBao(), p.hostConfig, p);
  report.done(`Started bao server (PID ${pid}, log ${p.log})`);
  return pid;
}

export async function waitForHttps(input: VaultHttpsInput, model: ServerModel, pid: number | undefined): Promise<void> {
  const p = serverPaths(input.outDir);
  const deadline = Date.now() + input.waitSeconds * 1000;
  const client = new VaultClient({ addr: model.apiAddr, ca: input.ca, caSource: input.caFile, timeoutMs: 2000 });
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await client.health();
      return;
    } catch (error) {
      lastError = error;
      // A TLS verification failure will not go away by waiting.
      if (/unknown authority|does not name|expired/.test((error as Error).message)) break;
    }
    const dead = input.runtime === 'process' ? hasExited(pid!) : !(await inspectContainer(model.containerName))?.running;
    if (dead) {
      const log = input.runtime === 'process' ? logTail(p.log) : await containerLogs(model.containerName);
      throw diagnoseStart(log, input, model) ?? new ExternalError(`Vault exited while starting. Its last log lines: ${log.trim().split('\n').slice(-4).join(' | ')}`, input.runtime === 'process' ? `Read ${p.log}.` : `Read podman logs ${model.containerName}.`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const probe = await probeTls(model.apiAddr, input.ca).catch(() => undefined);
  if (probe && !probe.authorized) throw explainProbe(model.apiAddr, probe, input.caFile, input.ca);
  throw new ExternalError(`Vault did not answer at ${model.apiAddr} within ${input.waitSeconds} s (${(lastError as Error | undefined)?.message ?? 'no answer'}).`, input.runtime === 'process' ? `Read ${p.log}.` : `Read podman logs ${model.containerName}.`);
}

export function rootPemFromTlsDir(tlsDir: string): string {
  const ca = parseCertificates(fs.readFileSync(tlsPaths(tlsDir).caChain, 'utf8'), tlsPaths(tlsDir).caChain);
  return certPem(ca.at(-1)!);
}


import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { VaultClient } from '../vault/client.js';
import { sealStatus } from '../vault/pki.js';
import { AUDIT_DEVICE, renderBootstrapHcl, serverPaths, podmanRunArgs, configOfMounts, CONTAINER, type ContainerModel } from '../vault/server-config.js';
import { podmanAvailable, inspectContainer, imageExists, containerLogs, containerMounts, removeContainer, runPodman, pullNotice } from '../system/podman.js';
import { currentOwner, describeStat, formatOwner, permitted, type Owner } from '../system/ownership.js';
import { containerIdentity } from '../system/userns.js';
import { writeFileAtomic, ensureOutputDir, planOutputDir, sha256Hex } from '../system/files.js';
import { assertPortFree, formatListen, type ListenAddress } from '../system/ports.js';
import { startBaoServer, stopBaoServer, runningPid, hasExited, logTail, configOf, waitUntilActive } from '../system/bao-process.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setVault } from '../../state/transitions.js';
import { appendTranscript } from '../../state/transcript.js';
import { check, type Check } from '../pki/checks.js';
import { keysFileContent, type InitSecrets } from './vault-init.js';
import { submitShare } from './vault-unseal.js';
import { emptyPlan, type EnvSession, type Plan, type Reporter } from './context.js';
import type { Interaction } from './step.js';
import { nodeDir, nodePorts, nodesToFacts, describeNode, type ClusterNode } from '../vault/cluster.js';

/**
 * vault-server — the environment's own Vault, run by certwright: a real server (raft storage in a
 * data directory that is kept, not dev mode) started as a host process, or (--runtime podman) as
 * a Podman container with DIR/data bind-mounted, before its certificate exists. It listens on a loopback address over plain HTTP only, is initialised (the unseal keys
 * and root token go to --keys-out, a new 0600 file, or are shown once) and unsealed, so that the
 * intermediate can be installed into it. `vault-https` then moves this same server, with this
 * same storage, to TLS.
 * plan reads: the server directory, the listen address (loopback, free), whether a server already
 *   runs from this directory, and its seal status.
 * apply writes: DIR/vault-bootstrap.hcl, DIR/data (0700), starts `bao server` (PID in DIR/vault.pid,
 *   log DIR/vault.log), sys/init and sys/unseal, the state's Vault address and the step's record.
 *   The podman runtime writes DIR/vault-bootstrap.hcl with the container's paths, creates DIR/data
 *   and DIR/audit (0700, owned by the container user's host ids) and runs the container with
 *   `podman run` (the one Podman module; the API published on the loopback address only).
 *   The configuration declares a file audit device (DIR/audit.log, 0600), which Vault opens once
 *   it is unsealed: Vault's own record of every request, held against certwright's by `audit verify`.
 */
export const STEP_ID = 'vault-server';

export type ServerRuntime = 'process' | 'podman';

export interface VaultServerInput {
  outDir: string;
  listen: ListenAddress;
  bao: string;
  /** process: `bao server` on the host; podman: the same configuration in a container. */
  runtime?: ServerRuntime | undefined;
  /** The podman runtime: image, container name, network, container user, a bao binary to bind-mount. */
  container?: { image: string; name: string; network: 'bridge' | 'host'; user?: Owner | undefined; baoBinary?: string | undefined } | undefined;
  shares: number;
  threshold: number;
  keysOut?: string | undefined;
  /** Shares to unseal a server that restarts on existing storage (from --key-file). */
  keyShares?: string[] | undefined;
  waitSeconds: number;
  /**
   * A raft cluster (vault/cluster.ts): this step starts, initialises and unseals its first node
   * only, on loopback HTTP in DIR/ENV-1; the other nodes start in vault-https, where they join
   * over TLS (retry_join trusting only the environment root) once their certificates exist.
   */
  cluster?: ClusterNode[] | undefined;
}

/** The directory of the server this step runs: DIR, or the first node's DIR/ENV-1. */
function firstServerDir(input: Pick<VaultServerInput, 'outDir' | 'cluster'>): string {
  return input.cluster ? nodeDir(input.outDir, input.cluster[0]!) : input.outDir;
}

export type ServerSituation = 'start' | 'running' | 'moved-to-https';

export interface VaultServerPlan extends Plan {
  situation: ServerSituation;
  /** The podman runtime: the container as it will run, and whether a stopped one is removed first. */
  container?: { model: ContainerModel; hostUser: Owner; removeStopped: boolean } | undefined;
  pid?: number | undefined;
  initialized?: boolean | undefined;
  sealed?: boolean | undefined;
  /**
   * The server runs vault-https's TLS configuration, which vault-https never recorded (a run
   * stopped between the restart and its record): it is stopped (the process) or removed (the
   * container; storage kept) and started again on the loopback-HTTP configuration, so the state
   * and the server agree again; vault-https then moves it to TLS once more.
   */
  rollBack?: { pid: number } | undefined;
}

const ROLL_BACK_WHY = 'it runs vault-https\'s TLS configuration, which vault-https never recorded (a run stopped part-way); vault-https moves it to TLS again';

export interface VaultServerResult {
  addr: string;
  pid: number;
  container?: string | undefined;
  dir: string;
  started: boolean;
  initialized: boolean;
  secrets?: InitSecrets | undefined;
  keysFile?: string | undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function httpAddr(listen: ListenAddress): string {
  return `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

export async function planVaultServer(session: EnvSession, input: VaultServerInput): Promise<VaultServerPlan> {
  if (!isLoopback(input.listen.host)) {
    throw new OperatorError(
      `--listen ${formatListen(input.listen)} is not a loopback address; before it has its certificate, Vault speaks plain HTTP and certwright keeps that on this machine.`,
      'Pass --listen 127.0.0.1:PORT here; `certwright vault-https --listen HOST:PORT` moves the server to its real address over TLS.',
    );
  }
  if (input.runtime === 'podman') return planContainer(session, input);
  if (!fs.existsSync(input.bao)) throw new OperatorError(`The bao binary ${input.bao} does not exist.`, 'Pass --bao PATH (or run `npm run tools`, which installs the pinned OpenBao into .tools/).');
  const p = serverPaths(firstServerDir(input));
  const plan: VaultServerPlan = { ...emptyPlan(), situation: 'start' };
  if (input.cluster) {
    plan.facts.push(['Cluster', `${input.cluster.length} raft nodes in ${path.resolve(input.outDir)}: ${input.cluster.map(describeNode).join(', ')}`]);
    if (input.cluster.length > 1) plan.facts.push(['Other nodes', `${input.cluster.slice(1).map((n) => n.id).join(', ')} start in vault-https, joining over TLS once vault-cert has issued their certificates`]);
  }
  plan.facts.push(['Server directory', p.dir], ['Listener', `${httpAddr(input.listen)} (loopback, plain HTTP until vault-https)`], ['Storage', `raft in ${p.data} (kept)`], ['Binary', input.bao], ['Key shares', `${input.shares}, threshold ${input.threshold}`]);
  const https = session.state.steps['vault-https'];
  if (https?.status === 'done' && https.facts.outDir === path.resolve(input.outDir)) {
    plan.situation = 'moved-to-https';
    plan.facts.push(['Now', `served over TLS at ${String(https.facts.apiAddr)} (vault-https)`]);
    return plan;
  }
  const running = runningPid(p.pidFile);
  if (running !== undefined && configOf(running) === p.hostConfig) {
    plan.rollBack = { pid: running };
    plan.actions.push(`Stop the bao server (PID ${running}): ${ROLL_BACK_WHY}`);
  }
  const pid = plan.rollBack ? undefined : running;
  if (pid !== undefined) {
    if (configOf(pid) !== p.bootstrapConfig) throw new OperatorError(`A bao server (PID ${pid}) already runs from ${p.dir} with another configuration (${configOf(pid) ?? 'unknown'}).`, `Stop it (kill ${pid}) or choose another --out.`);
    await planRunningServer(plan, pid, input);
  } else {
    await planNewServer(plan, p.dir, input);
    // Raft listens for cluster traffic on PORT+1: that port must be free too (and every node's pair).
    if (!plan.rollBack) await assertPortFree({ host: input.listen.host, port: input.listen.port + 1 }, '--listen');
    for (const n of input.cluster?.slice(1) ?? []) for (const port of nodePorts(n)) await assertPortFree(port, '--listen');
    const bootstrap = renderBootstrapHcl({ env: session.env, listen: input.listen, dataDir: p.data, nodeId: input.cluster?.[0]?.id, auditLog: p.audit });
    if (!fs.existsSync(p.bootstrapConfig) || fs.readFileSync(p.bootstrapConfig, 'utf8') !== bootstrap) plan.actions.push(`Write ${p.bootstrapConfig}`);
    if (!fs.existsSync(p.data)) plan.actions.push(`Create ${p.data} (0700)`);
    plan.facts.push(['Audit log', `${p.audit} (file audit device declared in the configuration, 0600; secrets in it are HMACed)`]);
    plan.actions.push(`Start bao server as a background process (PID in ${p.pidFile}, log ${p.log})`);
  }
  await planInitialisation(session, input, plan, p.data);
  return plan;
}

/** A server that runs already (either runtime): its seal status says what is left to do. */
async function planRunningServer(plan: VaultServerPlan, pid: number, input: VaultServerInput): Promise<void> {
  plan.situation = 'running';
  plan.pid = pid;
  const status = await sealStatus(new VaultClient({ addr: httpAddr(input.listen), timeoutMs: input.waitSeconds * 1000 }));
  plan.initialized = status.initialized;
  plan.sealed = status.sealed;
}

/** A server to start (either runtime): its directory, and its API port free. */
async function planNewServer(plan: VaultServerPlan, dir: string, input: VaultServerInput): Promise<void> {
  const createDir = await planOutputDir(dir, '--out');
  if (createDir) plan.actions.push(createDir);
  // A server rolled back holds the port until it is stopped.
  if (!plan.rollBack) await assertPortFree(input.listen);
}

/** What both runtimes plan after the server runs: initialise, unseal, record; the keys file. */
async function planInitialisation(session: EnvSession, input: VaultServerInput, plan: VaultServerPlan, data: string): Promise<void> {
  if (plan.initialized !== true) {
    plan.actions.push(`Initialise it, unless its storage already is: ${input.shares} key share(s), ${input.threshold} to unseal`);
    plan.actions.push(input.keysOut ? `Write the unseal keys and root token to ${input.keysOut} (new file, 0600), and show them nowhere else` : 'Show the unseal keys and root token once, on standard output; they are stored nowhere');
  }
  if (plan.sealed !== false) plan.actions.push('Unseal it (with the new keys, or --key-file for storage initialised before)');
  // Running, initialised and unsealed, but never recorded (a run killed just before it recorded
  // the server): the later steps find the server's address in state, so recording it is work to do.
  if (plan.actions.length === 0 && session.state.steps[STEP_ID]?.status !== 'done') plan.actions.push(`Record the server (${httpAddr(input.listen)}) in the environment's state`);
  if (input.keysOut && fs.existsSync(input.keysOut) && plan.initialized !== true && !fs.existsSync(data)) {
    throw new OperatorError(`--keys-out ${input.keysOut} already exists; certwright never overwrites unseal keys.`, 'Name a new file.');
  }
  if (input.keysOut) {
    const keysDir = await planOutputDir(path.dirname(input.keysOut), '--keys-out directory');
    if (keysDir) plan.actions.push(keysDir);
  }
}

/**
 * The podman runtime: the same bootstrap configuration (container paths) in a container that
 * bind-mounts DIR/data (the raft storage, kept across restarts and vault-https's recreate) and
 * DIR/audit, publishes the API on the loopback address only and runs as a user that owns both
 * on the host (rootless: container root, which is the user running certwright).
 */
async function planContainer(session: EnvSession, input: VaultServerInput): Promise<VaultServerPlan> {
  const c = input.container!;
  const p = serverPaths(input.outDir);
  const podman = await podmanAvailable();
  if (!podman.ok) throw new OperatorError(`--runtime podman needs podman, and ${podman.why}.`, 'Install podman (apt-get install podman), or drop --runtime podman to run bao as a host process.');
  if (c.baoBinary && !fs.existsSync(c.baoBinary)) throw new OperatorError(`The bao binary ${c.baoBinary} does not exist.`, 'Pass --bao with the path of a bao binary to bind-mount into the image, or drop it to use the image\'s own.');
  const who = containerIdentity(c.user, currentOwner());
  if ('error' in who) throw new OperatorError(`--user: ${who.error}.`, 'Drop --user: certwright runs the container as 0:0, which is you on the host.');
  const model: ContainerModel = { env: session.env, listen: input.listen, outDir: p.dir, dataDir: p.data, image: c.image, containerName: c.name, user: who.user, network: c.network, baoBinary: c.baoBinary ? fs.realpathSync(c.baoBinary) : undefined, auditLog: p.containerAudit, auditInContainer: true };
  const plan: VaultServerPlan = { ...emptyPlan(), situation: 'start', container: { model, hostUser: who.hostUser, removeStopped: false } };
  plan.facts.push(
    ['Server directory', p.dir],
    ['Listener', `${httpAddr(input.listen)} (published on loopback only, plain HTTP until vault-https)`],
    ['Storage', `raft in ${p.data} (kept; mounted at ${CONTAINER.data})`],
    ['Runtime', `podman container ${c.name}, image ${c.image}${model.baoBinary ? ` + ${model.baoBinary}` : ''}, network ${c.network}`],
    ['Runs as', who.ns ? `${formatOwner(who.user)} in ${who.ns.user}'s rootless Podman = host ${formatOwner(who.hostUser)} (no keep-id, no chown, no added capabilities)` : formatOwner(who.user)],
    ['Key shares', `${input.shares}, threshold ${input.threshold}`],
  );
  const https = session.state.steps['vault-https'];
  if (https?.status === 'done' && https.facts.outDir === p.dir) {
    plan.situation = 'moved-to-https';
    plan.facts.push(['Now', `served over TLS at ${String(https.facts.apiAddr)} (vault-https)`]);
    return plan;
  }
  for (const dir of [p.data, path.dirname(p.containerAudit)]) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (stat && !permitted(stat, who.hostUser, 'wx')) throw new OperatorError(`Vault, running as ${formatOwner(who.hostUser)}${who.ns ? ` (container ${formatOwner(who.user)})` : ''}, cannot write ${dir} (${describeStat(stat)}).`, `chown -R ${formatOwner(who.hostUser)} ${dir} (certwright creates it so when it does not exist).`);
  }
  let info = await inspectContainer(c.name);
  if (info?.running && configOfMounts(p.dir, (await containerMounts(c.name)) ?? new Map()) === 'tls') {
    plan.rollBack = { pid: info.pid };
    plan.actions.push(`Remove the container ${c.name} (its storage ${p.data} stays): ${ROLL_BACK_WHY}`);
    info = undefined;
  }
  if (info?.running) {
    const config = configOfMounts(p.dir, (await containerMounts(c.name)) ?? new Map());
    if (config !== 'bootstrap') throw new OperatorError(`A container ${c.name} already runs, and not with ${p.bootstrapConfig}${config === 'tls' ? ' (it runs the TLS configuration, but vault-https never recorded it)' : ''}.`, config === 'tls' ? `Run certwright vault-https --env ${session.env} again: it finishes the move to TLS.` : `Remove it (podman rm -f ${c.name}) or pass another --name.`);
    await planRunningServer(plan, info.pid, input);
  } else {
    await planNewServer(plan, p.dir, input);
    // On the host network raft's cluster port (PORT+1) is the host's too.
    if (c.network === 'host' && !plan.rollBack) await assertPortFree({ host: input.listen.host, port: input.listen.port + 1 }, '--listen');
    const bootstrap = renderBootstrapHcl({ env: session.env, listen: input.listen, dataDir: p.data, auditLog: p.containerAudit, container: { network: c.network } });
    if (!fs.existsSync(p.bootstrapConfig) || fs.readFileSync(p.bootstrapConfig, 'utf8') !== bootstrap) plan.actions.push(`Write ${p.bootstrapConfig} (container paths)`);
    for (const dir of [p.data, path.dirname(p.containerAudit)]) if (!fs.existsSync(dir)) plan.actions.push(`Create ${dir} (0700, owner ${formatOwner(who.hostUser)})`);
    plan.facts.push(['Audit log', `${p.containerAudit} (file audit device declared in the configuration, 0600; secrets in it are HMACed)`]);
    if (info) {
      plan.container!.removeStopped = true;
      plan.actions.push(`Remove the stopped container ${c.name} (${info.status}); its storage ${p.data} stays`);
    }
    if (!(await imageExists(c.image))) plan.actions.push(pullNotice(c.image));
    plan.actions.push(`Start container ${c.name} (podman run, ${c.network === 'bridge' ? `port published on ${formatListen(input.listen)} only` : 'host network'})`);
  }
  await planInitialisation(session, input, plan, p.data);
  return plan;
}

/** How the server that is starting is watched: whether it has gone, and where its log is read. */
interface Watched {
  gone: () => Promise<string | undefined>;
  readHint: string;
}

function watchProcess(pid: number, log: string): Watched {
  return { gone: async () => (hasExited(pid) ? logTail(log) : undefined), readHint: `Read ${log}.` };
}

function watchContainer(name: string): Watched {
  return { gone: async () => ((await inspectContainer(name))?.running ? undefined : await containerLogs(name)), readHint: `Read podman logs ${name}.` };
}

async function waitForHttp(addr: string, watched: Watched, seconds: number): Promise<void> {
  const client = new VaultClient({ addr, timeoutMs: 2000 });
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await client.health();
      return;
    } catch (error) {
      last = error;
    }
    const log = await watched.gone();
    if (log !== undefined) throw new ExternalError(`bao server exited while starting. Its last log lines: ${log.trim().split('\n').slice(-4).join(' | ')}`, watched.readHint);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ExternalError(`Vault did not answer at ${addr} within ${seconds} s (${(last as Error | undefined)?.message ?? 'no answer'}).`, watched.readHint);
}

/** Starts the bootstrap container: its directories owned by the container user's host ids, then podman run. */
async function startContainer(session: EnvSession, input: VaultServerInput, plan: VaultServerPlan, report: Reporter): Promise<number> {
  const { model, hostUser, removeStopped } = plan.container!;
  const p = serverPaths(input.outDir);
  await ensureOutputDir(p.dir);
  await writeFileAtomic(p.bootstrapConfig, renderBootstrapHcl({ env: session.env, listen: input.listen, dataDir: p.data, auditLog: p.containerAudit, container: { network: model.network } }), { mode: 0o644 });
  const me = currentOwner();
  for (const dir of [p.data, path.dirname(p.containerAudit)]) {
    if (fs.existsSync(dir)) continue;
    await fsp.mkdir(dir, { mode: 0o700 });
    if (hostUser.uid !== me.uid || hostUser.gid !== me.gid) await fsp.chown(dir, hostUser.uid, hostUser.gid);
    report.done(`Created ${dir} (0700, owner ${formatOwner(hostUser)}): nothing in the container needs to chown it`);
  }
  if (removeStopped) {
    await removeContainer(model.containerName);
    report.done(`Removed the stopped container ${model.containerName}; its storage ${p.data} stays`);
  }
  if (!(await imageExists(model.image))) report.warn(`The image ${model.image} is not on this machine; podman will try to pull it.`);
  report.progress(`Starting container ${model.containerName} on ${httpAddr(input.listen)}`);
  await runPodman(podmanRunArgs(model), 'podman run');
  await waitForHttp(httpAddr(input.listen), watchContainer(model.containerName), input.waitSeconds);
  const pid = (await inspectContainer(model.containerName))?.pid ?? 0;
  report.done(`Started container ${model.containerName} (image ${model.image}, PID ${pid}) on ${httpAddr(input.listen)}`);
  return pid;
}

export async function applyVaultServer(session: EnvSession, input: VaultServerInput, interact: Interaction, report: Reporter): Promise<VaultServerResult> {
  const plan = await planVaultServer(session, input);
  const p = serverPaths(firstServerDir(input));
  const addr = httpAddr(input.listen);
  if (plan.situation === 'moved-to-https') {
    report.info(`The Vault in ${p.dir} already serves over TLS (vault-https); nothing to do here.`);
    const https = session.state.steps['vault-https']!;
    return { addr: String(https.facts.apiAddr), pid: plan.container ? ((await inspectContainer(input.container!.name))?.pid ?? 0) : (runningPid(p.pidFile) ?? 0), dir: p.dir, started: false, initialized: true, container: input.container?.name };
  }
  let pid = plan.pid;
  let started = false;
  if (plan.rollBack && plan.container) {
    await removeContainer(input.container!.name);
    report.done(`Removed the container ${input.container!.name} of vault-https's unrecorded TLS configuration; its storage ${p.data} stays`);
  } else if (plan.rollBack) {
    await stopBaoServer(plan.rollBack.pid);
    report.done(`Stopped PID ${plan.rollBack.pid} (vault-https's unrecorded TLS configuration); its storage ${p.data} stays`);
  }
  if (pid === undefined && plan.container) {
    pid = await startContainer(session, input, plan, report);
    started = true;
  } else if (pid === undefined) {
    if (input.cluster) await ensureOutputDir(path.resolve(input.outDir));
    await ensureOutputDir(p.dir);
    await writeFileAtomic(p.bootstrapConfig, renderBootstrapHcl({ env: session.env, listen: input.listen, dataDir: p.data, nodeId: input.cluster?.[0]?.id, auditLog: p.audit }), { mode: 0o644 });
    if (!fs.existsSync(p.data)) await fsp.mkdir(p.data, { mode: 0o700 });
    report.progress(`Starting bao server on ${addr}`);
    pid = await startBaoServer(input.bao, p.bootstrapConfig, p);
    started = true;
    await waitForHttp(addr, watchProcess(pid, p.log), input.waitSeconds);
    report.done(`Started bao server (PID ${pid}, log ${p.log}) on ${addr}`);
  }
  // sys/init bootstraps raft storage: on a busy machine that takes seconds, so the wait is the step's own.
  const vault = new VaultClient({ addr, timeoutMs: input.waitSeconds * 1000 });
  let status = await sealStatus(vault);
  let secrets: InitSecrets | undefined;
  let keysFile: string | undefined;
  if (!status.initialized) {
    if (input.keysOut) await ensureOutputDir(path.dirname(input.keysOut));
    const res = await vault.write<never>('sys/init', { secret_shares: input.shares, secret_threshold: input.threshold }, { anonymous: true });
    const body = res.json as unknown as { keys?: string[]; keys_base64?: string[]; root_token?: string };
    if (!body?.keys_base64 || !body.root_token) throw new ExternalError(`Vault at ${addr} answered sys/init without keys.`, plan.container ? `Read podman logs ${input.container!.name}.` : `Read ${p.log}.`);
    secrets = { keysB64: body.keys_base64, keysHex: body.keys ?? [], rootToken: body.root_token, shares: input.shares, threshold: input.threshold };
    // The keys go to disk before anything else is said or done: between Vault's answer and this
    // write, a kill would lose them (no API can hand them out again), so that window is kept to
    // one atomic write.
    if (input.keysOut) {
      try {
        await ensureOutputDir(path.dirname(input.keysOut));
        await writeFileAtomic(input.keysOut, keysFileContent(secrets), { mode: 0o600, noClobber: true });
        keysFile = input.keysOut;
        report.done(`Unseal keys and root token written to ${keysFile} (0600)`);
      } catch (error) {
        // The keys exist only in this process now: losing them would lose the Vault. Show them instead.
        report.warn(`Could not write ${input.keysOut} (${(error as Error).message}); the keys are shown below instead.`);
      }
    }
    report.done(`Vault initialised: ${input.shares} key share(s), threshold ${input.threshold}`);
    appendTranscript(session.paths.transcript, 'vault-init', { addr, shares: input.shares, threshold: input.threshold, keysFile: keysFile ?? 'shown once on the terminal', managedBy: 'vault-server' });
    status = await sealStatus(vault);
  }
  if (status.sealed) {
    const queue = [...(secrets?.keysB64 ?? []), ...(input.keyShares ?? [])];
    const seen = new Set<string>();
    while (status.sealed) {
      const share = queue.shift() ?? (await interact.unsealShare(status));
      if (share === undefined && !session.state.steps[STEP_ID] && input.keysOut && !fs.existsSync(input.keysOut) && !input.keyShares?.length) {
        // Initialised by a run that was killed between Vault's answer and the keys file: nobody
        // holds its keys, and (never recorded as done) nothing was put in it.
        throw new OperatorError(
          `The Vault in ${p.dir} was initialised by an earlier run that did not finish, and its unseal keys were never written to ${input.keysOut}: nobody can unseal it.`,
          `It holds nothing yet (vault-server never completed). Stop it (${plan.container ? `podman rm -f ${input.container!.name}` : `kill ${pid}`}), remove ${p.data}, and run again: it is initialised anew and the keys go to ${input.keysOut}.`,
        );
      }
      if (share === undefined) throw new ExternalError(`Vault at ${addr} is still sealed: ${status.progress} of ${status.t} key shares given.`, `Give the shares with --key-file FILE (the --keys-out file of the first run), or run in a terminal to type them.`);
      if (seen.has(share.trim())) continue;
      seen.add(share.trim());
      status = await submitShare(vault, share);
    }
    report.done(`Vault at ${addr} is unsealed`);
  }
  const readLog = plan.container ? `Read podman logs ${input.container!.name}` : `Read ${p.log}`;
  const auditLog = plan.container ? p.containerAudit : p.audit;
  if (!(await waitUntilActive(() => vault.health(), input.waitSeconds))) throw new ExternalError(`Vault at ${addr} is unsealed but its raft node did not become active within ${input.waitSeconds} s.`, `${readLog}; run the same command again (nothing is lost).`);
  // The declared audit device opens on the active node. With the new root token, ask Vault that it
  // is enabled (the request is itself the log's first entry); then the log must exist.
  if (secrets) {
    const devices = await new VaultClient({ addr, token: secrets.rootToken, timeoutMs: input.waitSeconds * 1000 }).read<Record<string, unknown>>('sys/audit');
    const listed = (devices.json?.data ?? devices.json ?? {}) as Record<string, unknown>;
    if (!(`${AUDIT_DEVICE}/` in listed)) throw new ExternalError(`Vault at ${addr} did not enable the file audit device ${AUDIT_DEVICE}/ declared in ${p.bootstrapConfig}.`, `${readLog} (a bao older than 2.4 has no declarative audit devices).`);
  }
  const deadline = Date.now() + input.waitSeconds * 1000;
  while (!fs.existsSync(auditLog) && Date.now() < deadline && secrets) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(auditLog)) report.warn(`Vault's audit log ${auditLog} is not there yet; Vault writes it with the first audited request.`);
  session.commit(setVault(session.state, addr, undefined, new Date()));
  session.commit(
    completeStep(session.state, STEP_ID, undefined, new Date(), [{ kind: 'vault-bootstrap.hcl', path: p.bootstrapConfig, sha256: sha256Hex(fs.readFileSync(p.bootstrapConfig)) }], {
      addr,
      outDir: input.cluster ? path.resolve(input.outDir) : p.dir,
      ...(input.cluster ? { clusterNodes: nodesToFacts(input.cluster) } : {}),
      dataDir: p.data,
      listen: formatListen(input.listen),
      ...(plan.container
        ? {
            runtime: 'podman',
            image: plan.container.model.image,
            containerName: plan.container.model.containerName,
            network: plan.container.model.network,
            user: formatOwner(plan.container.model.user),
            ...(plan.container.model.baoBinary ? { baoBinary: plan.container.model.baoBinary } : {}),
          }
        : { runtime: 'process', bao: input.bao }),
      auditLog,
      pid,
      shares: status.n,
      threshold: status.t,
      ...(keysFile ? { keysFile } : {}),
    }),
  );
  return { addr, pid, dir: p.dir, started, initialized: true, container: input.container?.name, ...(secrets && !keysFile ? { secrets } : {}), ...(keysFile ? { keysFile } : {}) };
}

/** The server runs from its directory (over HTTP, or over TLS after vault-https). */
export async function verifyVaultServer(session: EnvSession, input: Pick<VaultServerInput, 'outDir' | 'cluster' | 'runtime' | 'container'>): Promise<Check[]> {
  const p = serverPaths(firstServerDir(input));
  const outDir = path.resolve(input.outDir);
  const https = session.state.steps['vault-https'];
  if (input.cluster && https?.status === 'done' && https.facts.outDir === outDir) {
    // The cluster serves over TLS: a node that is down is vault-https's to start again (it rejoins),
    // not a drift of this step; this step's server is gone only when no node runs at all.
    const running = input.cluster.map((n) => ({ n, pid: runningPid(serverPaths(nodeDir(outDir, n)).pidFile) }));
    const up = running.filter((r) => r.pid !== undefined);
    return [check('Vault cluster nodes run', up.length > 0, running.map((r) => `${r.n.id} ${r.pid !== undefined ? `PID ${r.pid}` : 'down (vault-https starts it)'}`).join(', '))];
  }
  let pid: number | undefined;
  let checks: Check[];
  let tls = false;
  if (input.runtime === 'podman') {
    const name = input.container!.name;
    const info = await inspectContainer(name);
    pid = info?.running ? info.pid : undefined;
    if (pid !== undefined) tls = configOfMounts(p.dir, (await containerMounts(name)) ?? new Map()) === 'tls';
    checks = [check('Vault server container runs', pid !== undefined, info ? `${name}: ${info.status}${pid !== undefined ? `, PID ${pid}` : ''}` : `no container ${name}`)];
  } else {
    pid = runningPid(p.pidFile);
    tls = pid !== undefined && configOf(pid) === p.hostConfig;
    checks = [check('Vault server process runs', pid !== undefined, pid !== undefined ? `PID ${pid} (${configOf(pid) ?? '?'})` : `no live bao server for ${p.pidFile}`)];
  }
  const moved = https?.status === 'done' && https.facts.outDir === outDir;
  // On TLS, but vault-https never recorded it: the state still names the plain-HTTP address, so
  // the plan starts this server again on that one (ROLL_BACK_WHY).
  if (pid !== undefined && tls && !moved) return [check('Vault server runs its loopback-HTTP configuration', false, `PID ${pid}: ${ROLL_BACK_WHY}`)];
  if (pid !== undefined && !moved) {
    const status = await sealStatus(new VaultClient({ addr: String(session.state.steps[STEP_ID]?.facts.addr ?? ''), timeoutMs: 3000 })).catch(() => undefined);
    checks.push(check('Vault initialised and unsealed', status?.initialized === true && status.sealed === false, status ? `initialised ${status.initialized}, sealed ${status.sealed}` : 'did not answer'));
  }
  // Servers started before the audit device was declared have no such fact; theirs is not checked
  // here, nor a log Vault has not written yet (it does so with the first audited request).
  const auditLog = session.state.steps[STEP_ID]?.facts.auditLog;
  if (pid !== undefined && typeof auditLog === 'string' && fs.existsSync(auditLog)) {
    const stat = fs.statSync(auditLog, { throwIfNoEntry: false });
    checks.push(check('Vault audit log written (file device, 0600)', stat !== undefined && (stat.mode & 0o777) === 0o600, `${auditLog} mode ${((stat?.mode ?? 0) & 0o777).toString(8).padStart(4, '0')}`));
  }
  return checks;
}

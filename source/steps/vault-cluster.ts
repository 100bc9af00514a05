import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { VaultClient } from '../vault/client.js';
import { fingerprint } from '../pki/pem.js';
import { check, allOk, failed, type Check } from '../pki/verify.js';
import { namesHost } from '../pki/server-cert.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';
import { currentOwner, formatOwner } from '../system/ownership.js';
import { assertPortFree, formatListen } from '../system/ports.js';
import { startBaoServer, runningPid, stopBaoServer, configOf, waitUntilActive } from '../system/bao-process.js';
import { findBao } from '../system/openbao.js';
import { renderHcl, serverPaths, type ServerModel } from '../vault/server-config.js';
import { nodeApiAddr, nodeClusterAddr, nodeDir, nodePorts, nodesToFacts, describeNode, type ClusterNode } from '../vault/cluster.js';
import { readLeader, readRaftConfiguration } from '../vault/raft.js';
import { probeTls, explainProbe } from '../vault/tls-diagnosis.js';
import { sealStatus, type SealStatus } from '../vault/pki.js';
import { tlsPaths } from './vault-cert.js';
import { submitShare } from './vault-unseal.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setVault } from '../../state/transitions.js';
import { emptyPlan, type EnvSession, type Reporter } from './context.js';
import { checkTlsDir, waitForHttps, type VaultHttpsInput, type VaultHttpsPlan, type VaultHttpsResult } from './vault-https.js';

/**
 * vault-https for a raft cluster (vault-server --nodes): every node of the environment's Vault
 * serves HTTPS with its own certificate (vault-cert wrote TLS-DIR/ENV-k), its storage stanza has
 * one retry_join per other node over HTTPS whose leader_ca_cert_file holds only the environment's
 * root, and its cluster_addr is https on PORT+1. Node 1 (initialised by vault-server on loopback
 * HTTP) restarts on TLS first and is unsealed; each other node starts, is given the unseal shares
 * (which is when it joins: the leader's challenge is answered with them) and is waited for until
 * it is unsealed and in the raft configuration. A node that is down is started again and unsealed,
 * so this same step brings a killed node back; running nodes with their configuration are left alone.
 * Host processes only: the container runtime serves the single server.
 */

export interface NodePlan {
  node: ClusterNode;
  model: ServerModel;
  file: { path: string; content: string; changed: boolean };
  createData: boolean;
  action: 'restart' | 'start' | 'running';
  pid?: number | undefined;
  fingerprint: string;
}

export interface ClusterPlan extends VaultHttpsPlan {
  nodes: NodePlan[];
  leaderCa: { path: string; content: string; changed: boolean };
}

export function leaderCaFile(clusterDir: string): string {
  return path.join(path.resolve(clusterDir), 'raft-leader-ca.pem');
}

export async function planVaultCluster(session: EnvSession, input: VaultHttpsInput): Promise<ClusterPlan> {
  const c = input.cluster!;
  if (input.runtime !== 'process') throw new OperatorError('A raft cluster runs as host processes (vault-server --nodes); the container runtime serves a single server.', 'Drop --runtime.');
  const user = currentOwner();
  const leaderCa = { path: leaderCaFile(c.dir), content: input.ca.endsWith('\n') ? input.ca : `${input.ca}\n` };
  const plan: ClusterPlan = { ...emptyPlan(), nodes: [], leaderCa: { ...leaderCa, changed: !fs.existsSync(leaderCa.path) || fs.readFileSync(leaderCa.path, 'utf8') !== leaderCa.content }, model: undefined as never, files: [], createData: false, startAction: 'none', material: undefined as never };
  plan.facts.push(['Cluster', `${c.nodes.length} raft nodes: ${c.nodes.map(describeNode).join(', ')}`], ['Raft joins trust', `${leaderCa.path} (the environment's root only)`]);
  for (const node of c.nodes) {
    const dir = nodeDir(c.dir, node);
    const p = serverPaths(dir);
    const nodeTls = path.join(input.tlsDir, node.id);
    const material = await checkTlsDir({ ...input, tlsDir: nodeTls }, user);
    const apiAddr = nodeApiAddr(node);
    if (!namesHost(material.leaf, node.listen.host)) {
      throw new OperatorError(`Node ${node.id} is reached at ${apiAddr}, but its certificate in ${nodeTls} names only ${material.leaf.subjectAltName ?? 'nothing'}.`, `Re-issue it: certwright vault-cert --env ${session.env} --out ${input.tlsDir} --node ${node.id} --renew.`);
    }
    const model: ServerModel = {
      env: session.env,
      listen: node.listen,
      apiAddr,
      clusterAddr: nodeClusterAddr(node),
      storage: 'raft',
      outDir: dir,
      tlsDir: tlsPaths(nodeTls).dir,
      dataDir: p.data,
      image: input.image,
      containerName: `${input.containerName}-${node.index}`,
      user,
      network: 'host',
      nodeId: node.id,
      retryJoin: c.nodes.filter((o) => o.id !== node.id).map((o) => ({ apiAddr: nodeApiAddr(o), caFile: leaderCa.path })),
    };
    const content = renderHcl(model, 'host');
    const file = { path: p.hostConfig, content, changed: !fs.existsSync(p.hostConfig) || fs.readFileSync(p.hostConfig, 'utf8') !== content };
    const pid = runningPid(p.pidFile);
    let action: NodePlan['action'];
    if (pid !== undefined && configOf(pid) === p.bootstrapConfig) action = 'restart';
    else if (pid !== undefined && configOf(pid) === p.hostConfig) {
      if (file.changed) throw new OperatorError(`Node ${node.id} (PID ${pid}) runs, and its configuration would change.`, `Stop it first (kill ${pid}), then run this again: it restarts on the new configuration and rejoins.`);
      action = 'running';
    } else if (pid !== undefined) throw new OperatorError(`A bao server (PID ${pid}) runs from ${dir} with another configuration (${configOf(pid) ?? 'unknown'}).`, `Stop it (kill ${pid}) and run this again.`);
    else {
      action = 'start';
      for (const port of nodePorts(node)) await assertPortFree(port, '--listen');
    }
    const np: NodePlan = { node, model, file, createData: !fs.existsSync(p.data), action, pid, fingerprint: fingerprint(material.leaf) };
    plan.nodes.push(np);
    plan.facts.push([node.id, `${apiAddr}, cluster ${model.clusterAddr}, certificate ${np.fingerprint}: ${action === 'running' ? `runs (PID ${pid})` : action === 'restart' ? `moves from loopback HTTP (PID ${pid}) to TLS` : 'starts'}`]);
    if (file.changed) plan.actions.push(`Write ${p.hostConfig} (retry_join ${model.retryJoin!.map((j) => j.apiAddr).join(', ')})`);
    if (np.createData) plan.actions.push(`Create ${p.data} (0700)`);
    if (action === 'restart') plan.actions.push(`Restart ${node.id} (PID ${pid}) from ${p.bootstrapConfig} on ${p.hostConfig}: same storage; its loopback HTTP listener goes; unseal it over HTTPS`);
    if (action === 'start') plan.actions.push(`Start ${node.id} (bao server, PID in ${p.pidFile}), unseal it over HTTPS${node.index === 1 ? '' : ': it joins the cluster then'}, trusting only the environment's root`);
  }
  if (plan.leaderCa.changed) plan.actions.unshift(`Write ${leaderCa.path} (the root only: what retry_join trusts)`);
  plan.model = plan.nodes[0]!.model;
  if (plan.nodes.some((n) => n.action !== 'running')) plan.actions.push('Wait until every node is unsealed, follows the active node and is listed in the raft configuration');
  return plan;
}

/**
 * Gives a node the unseal shares. A node joining the cluster stays sealed after the threshold
 * (it answers the leader's challenge with them and then unseals): that is waited for, bounded.
 */
export async function unsealNode(vault: VaultClient, shares: string[], ask: (s: SealStatus) => Promise<string | undefined>, waitSeconds: number): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  const queue = [...shares];
  const seen = new Set<string>();
  let given = 0;
  for (;;) {
    const status = await sealStatus(vault);
    if (!status.sealed) return;
    if (given >= status.t && status.progress === 0) {
      if (Date.now() > deadline) throw new ExternalError(`Vault at ${vault.addr} took the unseal shares but is still sealed after ${waitSeconds} s: it has not joined the cluster.`, 'Read its vault.log ("join attempt failed" names the reason); run the same command again.');
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const share = queue.shift() ?? (await ask(status));
    if (share === undefined) throw new ExternalError(`Vault at ${vault.addr} is still sealed: ${status.progress} of ${status.t} key shares given.`, 'Give the shares with --key-file FILE (the vault-server --keys-out file), or run in a terminal to type them.');
    if (seen.has(share.trim())) continue;
    seen.add(share.trim());
    await submitShare(vault, share);
    given += 1;
  }
}

export async function applyVaultCluster(session: EnvSession, input: VaultHttpsInput, report: Reporter): Promise<VaultHttpsResult> {
  const plan = await planVaultCluster(session, input);
  const c = input.cluster!;
  if (plan.leaderCa.changed) {
    await writeFileAtomic(plan.leaderCa.path, plan.leaderCa.content, { mode: 0o644 });
    report.done(`Wrote ${plan.leaderCa.path} (the environment's root: what raft joins trust)`);
  }
  const checks: Check[] = [];
  const client = (n: ClusterNode, timeoutMs = input.waitSeconds * 1000) => new VaultClient({ addr: nodeApiAddr(n), ca: input.ca, caSource: input.caFile, timeoutMs, ...(input.token ? { token: input.token } : {}) });
  const pids: number[] = [];
  for (const np of plan.nodes) {
    const p = serverPaths(np.model.outDir);
    if (!fs.existsSync(p.dir)) await fsp.mkdir(p.dir, { mode: 0o755 });
    if (np.file.changed) {
      await writeFileAtomic(np.file.path, np.file.content, { mode: 0o644 });
      report.done(`Wrote ${np.file.path}`);
    }
    if (np.createData) await fsp.mkdir(p.data, { mode: 0o700 });
    if (np.action === 'running') {
      pids.push(np.pid!);
      continue;
    }
    if (np.action === 'restart') {
      report.progress(`Stopping the loopback-HTTP configuration of ${np.node.id} (PID ${np.pid})`);
      await stopBaoServer(np.pid!);
    }
    const pid = await startBaoServer(input.baoBinary ?? findBao(), p.hostConfig, p);
    pids.push(pid);
    report.done(`Started ${np.node.id} (PID ${pid}, log ${p.log}) on ${np.model.apiAddr}`);
    const nodeInput: VaultHttpsInput = { ...input, outDir: p.dir, listen: np.node.listen, tlsDir: np.model.tlsDir };
    await waitForHttps(nodeInput, np.model, pid);
    const probe = await probeTls(np.model.apiAddr, input.ca);
    if (!probe.authorized) throw explainProbe(np.model.apiAddr, probe, input.caFile ?? "the environment's root", input.ca);
    checks.push(check(`${np.node.id} presents its own certificate`, probe.fingerprint === np.fingerprint, probe.fingerprint));
    if (!allOk(checks)) throw new ExternalError(`${np.node.id} at ${np.model.apiAddr} does not serve its certificate: ${failed(checks).map((x) => x.detail).join('; ')}.`, `Is another server listening on ${formatListen(np.node.listen)}?`);
    await unsealNode(client(np.node), input.managed?.keyShares ?? [], input.managed?.unsealShare ?? (async () => undefined), input.waitSeconds);
    report.done(`${np.node.id} is unsealed (over HTTPS, trusting only ${input.caFile ?? 'the root'})`);
    // The first move to TLS: node 1 is the only voter; it leads before anyone can join it.
    if (np.action === 'restart' && !(await waitUntilActive(() => client(np.node).health(), input.waitSeconds))) {
      throw new ExternalError(`${np.node.id} is unsealed but did not become active within ${input.waitSeconds} s.`, `Read ${p.log}; run the same command again (nothing is lost).`);
    }
    if (np.action === 'restart') {
      const plain = await fetch(`${nodeApiAddr(np.node, 'http')}/v1/sys/health`).then((r) => r.text(), (e: Error) => `no answer (${e.message})`);
      checks.push(check(`${np.node.id}: loopback HTTP listener gone`, !/"initialized"/.test(plain), plain.slice(0, 80)));
    }
  }
  if (plan.nodes.some((n) => n.action !== 'running')) {
    report.progress('Waiting until every node is in the raft configuration');
    const members = await waitForMembers(c.nodes, client, input.waitSeconds, Boolean(input.token));
    checks.push(check('every node in the raft configuration', members.ok, members.detail));
    if (!members.ok) throw new ExternalError(`The cluster did not form within ${input.waitSeconds} s: ${members.detail}.`, `Read the nodes' vault.log under ${c.dir}; run the same command again.`);
    report.done(`Raft cluster: ${members.detail}`);
  }
  const first = plan.nodes[0]!;
  const addrs = c.nodes.map((n) => nodeApiAddr(n));
  session.commit(setVault(session.state, addrs[0]!, input.caFile, new Date(), addrs));
  session.commit(
    completeStep(
      session.state,
      'vault-https',
      undefined,
      new Date(),
      [...plan.nodes.map((n) => ({ kind: `vault-host.hcl ${n.node.id}`, path: n.file.path, sha256: sha256Hex(n.file.content) })), { kind: 'raft-leader-ca.pem', path: plan.leaderCa.path, sha256: sha256Hex(plan.leaderCa.content) }],
      {
        apiAddr: addrs[0]!,
        listen: formatListen(first.node.listen),
        storage: 'raft',
        outDir: path.resolve(c.dir),
        tlsDir: path.resolve(input.tlsDir),
        runtime: 'process',
        user: formatOwner(first.model.user),
        image: input.image,
        containerName: first.model.containerName,
        pid: pids[0]!,
        clusterNodes: nodesToFacts(c.nodes),
        certFingerprint: first.fingerprint,
      },
    ),
  );
  return { apiAddr: addrs[0]!, files: plan.nodes.map((n) => n.file.path), started: plan.nodes.some((n) => n.action !== 'running'), runtime: 'process', pid: pids[0], fingerprint: first.fingerprint, checks };
}

/**
 * Every node unsealed, and (with a token) every node id in sys/storage/raft/configuration as read
 * through whichever node answers. Without a token the membership cannot be read: said so.
 */
async function waitForMembers(nodes: ClusterNode[], client: (n: ClusterNode, timeoutMs?: number) => VaultClient, seconds: number, withToken: boolean): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + seconds * 1000;
  let detail = 'no node answered';
  while (Date.now() < deadline) {
    const health = await Promise.all(nodes.map((n) => client(n, 3000).health().catch(() => undefined)));
    const sealed = nodes.filter((_, i) => health[i]?.sealed !== false).map((n) => n.id);
    // A standby that has rejoined knows the active node (sys/leader); until then it cannot forward.
    const leaders = sealed.length === 0 ? await Promise.all(nodes.map((n) => readLeader(client(n, 3000)).catch(() => undefined))) : [];
    const lost = nodes.filter((_, i) => sealed.length === 0 && !leaders[i]?.leader_address).map((n) => n.id);
    if (sealed.length === 0 && lost.length > 0) detail = `not yet following an active node (sys/leader names none): ${lost.join(', ')}`;
    else if (sealed.length === 0) {
      if (!withToken) return { ok: true, detail: `${nodes.length} nodes unsealed (membership not checked: no token)` };
      for (const n of nodes) {
        const conf = await readRaftConfiguration(client(n, 3000)).catch(() => undefined);
        if (!conf) continue;
        const missing = nodes.filter((x) => !conf.servers.some((s) => s.node_id === x.id)).map((x) => x.id);
        const leader = nodes.find((_, i) => health[i] && !health[i].sealed && !health[i].standby)?.id;
        detail = missing.length === 0 ? `${conf.servers.length} members, leader ${leader ?? 'none'}` : `not yet in the raft configuration: ${missing.join(', ')}`;
        if (missing.length === 0) return { ok: true, detail };
        break;
      }
    } else detail = `still sealed: ${sealed.join(', ')}`;
    await new Promise((r) => setTimeout(r, 300));
  }
  return { ok: false, detail };
}

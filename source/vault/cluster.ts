import path from 'node:path';
import net from 'node:net';
import { formatListen, parseListen, type ListenAddress } from '../system/ports.js';
import { UsageError } from '../errors.js';
import type { StepRecord } from '../../state/schema.js';

/**
 * The environment's Vault as a raft cluster of N nodes certwright runs (HA on integrated storage).
 * One layout rule, used by vault-server, vault-cert, vault-https, status and doctor:
 * - node k (1..N) is `ENV-k` (node 1 keeps the single server's node id, `ENV-1`);
 * - with a base address HOST:PORT, node k listens on HOST:(PORT + 2(k-1)) for the API and uses the
 *   next port, PORT + 2(k-1) + 1, for raft cluster traffic, so that a node's two ports sit side by
 *   side as for the single server ("raft uses PORT+1"); an explicit node list gives each node's
 *   HOST:PORT, its cluster port is again PORT+1;
 * - node k's server directory is DIR/ENV-k (config, data/, vault.pid, vault.log), its TLS
 *   directory TLS-DIR/ENV-k (server.key, server.crt, fullchain.pem, ca-chain.pem).
 * Cluster traffic is always TLS (OpenBao's own cluster certificates); the API is HTTPS with the
 * node's certificate from the environment's PKI, and raft joins trust only the environment root.
 */

export interface ClusterNode {
  /** Raft node id, ENV-k. */
  id: string;
  /** 1-based position. */
  index: number;
  listen: ListenAddress;
}

export const MAX_NODES = 9;

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function nodeApiAddr(node: ClusterNode, scheme: 'https' | 'http' = 'https'): string {
  return `${scheme}://${bracket(node.listen.host)}:${node.listen.port}`;
}

export function nodeClusterAddr(node: ClusterNode): string {
  return `https://${bracket(node.listen.host)}:${node.listen.port + 1}`;
}

export function nodePorts(node: ClusterNode): ListenAddress[] {
  return [node.listen, { host: node.listen.host, port: node.listen.port + 1 }];
}

export function nodeDir(clusterDir: string, node: ClusterNode): string {
  return path.join(path.resolve(clusterDir), node.id);
}

/** Nodes from a base address and a count (node k at base port + 2(k-1)). */
export function nodesFromBase(env: string, base: ListenAddress, count: number): ClusterNode[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new UsageError(`--nodes ${count} is not a node count from 1 to ${MAX_NODES}.`, 'Pass --nodes 3 (raft needs an odd number: 3 or 5 tolerate 1 or 2 failures).');
  if (base.port + 2 * count - 1 > 65535) throw new UsageError(`--listen ${formatListen(base)} leaves no room for ${count} nodes (each takes two ports).`, 'Pass a lower base port.');
  return Array.from({ length: count }, (_, i) => ({ id: `${env}-${i + 1}`, index: i + 1, listen: { host: base.host, port: base.port + 2 * i } }));
}

/** Nodes from an explicit list of HOST:PORT (cluster port PORT+1 each); no two may share a port. */
export function nodesFromList(env: string, listens: string[], flag = '--node-listen'): ClusterNode[] {
  if (listens.length < 1 || listens.length > MAX_NODES) throw new UsageError(`${flag} names ${listens.length} nodes; a cluster has 1 to ${MAX_NODES}.`, `Repeat ${flag} HOST:PORT once per node.`);
  const nodes = listens.map((l, i) => ({ id: `${env}-${i + 1}`, index: i + 1, listen: parseListen(l, flag) }));
  const taken = new Map<string, string>();
  for (const n of nodes) {
    for (const p of nodePorts(n)) {
      const key = `${p.host}:${p.port}`;
      const other = taken.get(key);
      if (other) throw new UsageError(`${flag}: nodes ${other} and ${n.id} both need ${formatListen(p)} (each node takes PORT and PORT+1).`, 'Space the nodes two ports apart, or give each its own address.');
      taken.set(key, n.id);
    }
  }
  return nodes;
}

/** The names a node's certificate must carry: the shared ones plus the node's own host. */
export function nodeNames(node: ClusterNode, shared: { dns: string[]; ips: string[] }): { dns: string[]; ips: string[] } {
  const dns = [...shared.dns];
  const ips = [...shared.ips];
  const host = node.listen.host;
  if (net.isIP(host)) {
    if (!ips.includes(host)) ips.push(host);
  } else if (!dns.includes(host)) dns.push(host);
  return { dns, ips };
}

/** How the nodes are kept in a step record's facts (flat values only): "ENV-k HOST:PORT". */
export function nodesToFacts(nodes: ClusterNode[]): string[] {
  return nodes.map((n) => `${n.id} ${formatListen(n.listen)}`);
}

export function nodesFromFacts(value: unknown): ClusterNode[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((entry, i) => {
    const [id, listen] = String(entry).split(' ');
    return { id: id!, index: i + 1, listen: parseListen(listen!) };
  });
}

/** The cluster vault-server recorded for this environment, with its directory; undefined for a single server. */
export function recordedCluster(steps: Record<string, StepRecord> | undefined): { dir: string; nodes: ClusterNode[] } | undefined {
  const rec = steps?.['vault-server'];
  if (rec?.status !== 'done' || typeof rec.facts.outDir !== 'string') return undefined;
  const nodes = nodesFromFacts(rec.facts.clusterNodes);
  return nodes ? { dir: rec.facts.outDir, nodes } : undefined;
}

export function describeNode(node: ClusterNode): string {
  return `${node.id} (${formatListen(node.listen)}, cluster port ${node.listen.port + 1})`;
}

import path from 'node:path';
import { daysUntil, expiryLevel, warnAtDays, worst, type Level, type VaultNodeStatus } from '../types.js';
import type { StatusContext } from '../context.js';
import { readCertFile } from '../cert-files.js';

/**
 * A raft cluster's nodes (vault-server --nodes): each node read on its own address, trusting only
 * the environment's CA. sys/health (sealed, standby), sys/leader (raft applied index), one TLS
 * handshake (its certificate: expiry, verifies, names its own host), and, with a token, one
 * sys/storage/raft/configuration and sys/storage/raft/autopilot/state through whichever node
 * answers (membership, voter, healthy). A node that does not answer is "down", never guessed.
 */
export async function clusterNodes(ctx: StatusContext): Promise<VaultNodeStatus[] | undefined> {
  const { recordedCluster, nodeApiAddr } = await import('../../vault/cluster.js');
  const cluster = recordedCluster(ctx.state?.steps);
  if (!cluster || cluster.nodes.length < 2 || !ctx.vault) return undefined;
  const { VaultClient } = await import('../../vault/client.js');
  const { readLeader, readRaftConfiguration, readAutopilot } = await import('../../vault/raft.js');
  const { handshake } = await import('../../system/tls-probe.js');
  const { namesHost } = await import('../../pki/server-cert.js');
  const base = ctx.vault.connection;
  const tlsDir = typeof ctx.state?.steps['vault-https']?.facts.tlsDir === 'string' ? String(ctx.state.steps['vault-https'].facts.tlsDir) : undefined;
  const client = (addr: string, alternates?: string[]) => new VaultClient({ addr, ...(base.ca ? { ca: base.ca, caSource: base.caSource } : {}), ...(base.token ? { token: base.token } : {}), timeoutMs: 4000, ...(alternates ? { alternates } : {}) });
  const addrs = cluster.nodes.map((n) => nodeApiAddr(n));
  // Membership, read once through whichever node answers.
  let members: { ids: Map<string, { voter: boolean; leader: boolean }>; autopilot?: Awaited<ReturnType<typeof readAutopilot>> } | undefined;
  let membersReason: string | undefined;
  if (base.token) {
    const any = client(addrs[0]!, addrs.slice(1));
    try {
      const conf = await readRaftConfiguration(any);
      members = { ids: new Map(conf.servers.map((s) => [s.node_id, { voter: s.voter, leader: s.leader }])) };
      members.autopilot = await readAutopilot(any).catch(() => undefined);
    } catch (error) {
      membersReason = `raft configuration not read: ${(error as Error).message}`;
    }
  } else membersReason = 'raft configuration not read: no token (set VAULT_TOKEN)';
  return Promise.all(
    cluster.nodes.map(async (node, i): Promise<VaultNodeStatus> => {
      const addr = addrs[i]!;
      const out: VaultNodeStatus = { id: node.id, addr, state: 'unknown', role: 'down', sealed: null, appliedIndex: null, inRaftConfig: null, voter: null, certificate: null };
      const levels: Level[] = [];
      const reasons: string[] = [];
      const c = client(addr);
      try {
        const h = await c.health();
        out.sealed = Boolean(h.sealed);
        out.role = h.sealed ? 'sealed' : h.standby ? 'standby' : 'leader';
        if (h.sealed) {
          levels.push('fail');
          reasons.push(`${node.id} is sealed (certwright vault-https --env ${ctx.state?.env ?? 'ENV'} --key-file FILE unseals it)`);
        } else levels.push('ok');
        const leader = await readLeader(c).catch(() => undefined);
        if (leader?.raft_applied_index !== undefined) out.appliedIndex = leader.raft_applied_index;
      } catch (error) {
        levels.push('fail');
        reasons.push(`${node.id} does not answer: ${(error as Error).message}`);
      }
      if (members) {
        const m = members.ids.get(node.id);
        out.inRaftConfig = m !== undefined;
        out.voter = m?.voter ?? null;
        const ap = members.autopilot?.servers[node.id];
        if (ap && out.appliedIndex === null && out.role !== 'down' && typeof ap.last_index === 'number') out.appliedIndex = ap.last_index;
        if (ap) out.autopilot = `${ap.status}, ${ap.node_status}${ap.healthy ? ', healthy' : ', unhealthy'}`;
        if (!m) {
          levels.push('fail');
          reasons.push(`${node.id} is not in the raft configuration`);
        }
      } else if (membersReason) out.membershipReason = membersReason;
      // Its certificate: what it serves, else (down) what its TLS directory holds.
      try {
        const served = await handshake(node.listen.host, node.listen.port, { ca: base.ca, timeoutMs: 4000, signal: ctx.signal });
        const daysLeft = daysUntil(new Date(served.notAfter), ctx.now);
        const warnAt = warnAtDays(ctx.options.warnDays, served.notBefore, served.notAfter);
        out.certificate = { source: 'served', notAfter: served.notAfter, daysLeft, warnAtDays: warnAt, fingerprint: served.fingerprint, verified: served.authorized, namesOwnAddress: namesHost(served.leaf, node.listen.host) };
      } catch {
        const file = tlsDir ? path.join(tlsDir, node.id, 'server.crt') : undefined;
        const read = file ? readCertFile(file) : undefined;
        if (read?.ok && read.file.certs[0]) {
          const leaf = read.file.certs[0];
          const daysLeft = daysUntil(new Date(leaf.validTo), ctx.now);
          const warnAt = warnAtDays(ctx.options.warnDays, new Date(leaf.validFrom).toISOString(), new Date(leaf.validTo).toISOString());
          out.certificate = { source: 'file', file: file!, notAfter: new Date(leaf.validTo).toISOString(), daysLeft, warnAtDays: warnAt, fingerprint: leaf.fingerprint256, verified: null, namesOwnAddress: namesHost(leaf, node.listen.host) };
        }
      }
      if (out.certificate) {
        const exp = expiryLevel(out.certificate.daysLeft, out.certificate.warnAtDays);
        levels.push(exp);
        if (exp !== 'ok') reasons.push(`${node.id}'s certificate expires ${out.certificate.notAfter}`);
        if (!out.certificate.namesOwnAddress) {
          levels.push('fail');
          reasons.push(`${node.id}'s certificate does not name its own address ${node.listen.host}`);
        }
        if (out.certificate.verified === false) {
          levels.push('fail');
          reasons.push(`${node.id}'s certificate does not verify against the environment's CA`);
        }
      }
      out.state = worst(levels, 'unknown');
      if (reasons.length) out.reason = reasons.join('; ');
      return out;
    }),
  );
}

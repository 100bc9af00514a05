import { daysUntil, expiryLevel, warnAtDays, worst, type Level, type VaultSection } from '../types.js';
import type { StatusContext } from '../context.js';

/**
 * Vault: sys/health over the environment's address, trusting only the environment's CA (no
 * system store, never skipping verification), and one TLS handshake to read Vault's own
 * certificate: expiry, and whether it verifies against that CA.
 */
export async function vaultSection(ctx: StatusContext): Promise<VaultSection> {
  const base: VaultSection = { state: 'unknown', addr: null, https: null, caFile: ctx.vaultCaFile ?? null, reachable: null, initialized: null, sealed: null, standby: null, version: null, certificate: null };
  if (!ctx.vault) return { ...base, reason: ctx.vaultReason ?? 'no Vault address is known' };
  const vault = ctx.vault;
  const out: VaultSection = { ...base, addr: vault.addr, https: vault.isHttps };
  const levels: Level[] = [];
  const reasons: string[] = [];
  try {
    const h = await vault.health();
    out.reachable = true;
    out.initialized = Boolean(h.initialized);
    out.sealed = Boolean(h.sealed);
    out.standby = Boolean(h.standby);
    out.version = h.version ?? null;
    if (!h.initialized) {
      levels.push('fail');
      reasons.push('Vault is not initialised');
    } else if (h.sealed) {
      levels.push('fail');
      reasons.push('Vault is sealed');
    } else levels.push('ok');
    if (h.standby && !h.sealed) reasons.push('this node is a standby');
  } catch (error) {
    out.reachable = false;
    levels.push('fail');
    reasons.push((error as Error).message);
  }
  if (vault.isHttps) {
    const { handshake, endpointOf } = await import('../../system/tls-probe.js');
    const ep = endpointOf(vault.addr);
    if (ep) {
      try {
        const served = await handshake(ep.host, ep.port, { ca: vault.connection.ca, timeoutMs: 5000, signal: ctx.signal });
        const daysLeft = daysUntil(new Date(served.notAfter), ctx.now);
        const warnAt = warnAtDays(ctx.options.warnDays, served.notBefore, served.notAfter);
        out.certificate = { subject: served.subject, notAfter: served.notAfter, daysLeft, warnAtDays: warnAt, fingerprint: served.fingerprint, verified: served.authorized, ...(served.authorizationError ? { error: served.authorizationError } : {}) };
        const exp = expiryLevel(daysLeft, warnAt);
        levels.push(exp);
        if (exp !== 'ok') reasons.push(daysLeft < 0 ? `Vault's certificate expired on ${served.notAfter}` : `Vault's certificate expires in ${daysLeft} days (${served.notAfter})`);
        if (!served.authorized) {
          levels.push('fail');
          reasons.push(vault.connection.ca ? `Vault's certificate does not verify against ${ctx.vaultCaFile}: ${served.authorizationError ?? 'unknown authority'}` : 'no CA is known to verify Vault\'s certificate (pass --vault-ca)');
        }
      } catch (error) {
        if (out.reachable !== false) {
          levels.push('fail');
          reasons.push(`no TLS handshake with ${vault.addr}: ${(error as Error).message}`);
        }
      }
    }
  } else {
    levels.push('warn');
    reasons.push(`Vault is served over plain HTTP (${vault.addr}); serve it over HTTPS (certwright vault-https)`);
  }
  const { clusterNodes } = await import('./cluster.js');
  const nodes = await clusterNodes(ctx);
  if (nodes) {
    out.nodes = nodes;
    // A cluster that still has a leader is available: a node down or sealed is a warning for the
    // whole, and the node itself says why.
    const bad = nodes.filter((n) => n.state === 'fail');
    const leader = nodes.find((n) => n.role === 'leader');
    if (!leader) {
      levels.push('fail');
      reasons.push('no node of the cluster is the leader');
    } else if (bad.length) {
      levels.push('warn');
      reasons.push(...bad.map((n) => n.reason ?? `${n.id}: ${n.role}`));
    }
    for (const n of nodes) if (n.state === 'warn' && n.reason) reasons.push(n.reason);
  }
  out.state = worst(levels, 'unknown');
  if (reasons.length) out.reason = reasons.join('; ');
  return out;
}

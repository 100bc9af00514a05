import path from 'node:path';
import { worst, type ContainerEntry, type ContainersSection, type Level } from '../types.js';
import type { StatusContext } from '../context.js';
import { listContainers, inspectContainers, TLS_LABEL, RELOAD_LABEL, DEFAULT_RELOAD, type ContainerDetail } from '../../system/podman.js';
import { readCertFile } from '../cert-files.js';
import type { EventEntry } from '../types.js';

/**
 * Running Podman containers labelled tls=true (and every --select LABEL=VALUE): image, the reload
 * command (label tls.reload, else issue 4's default "nginx -s reload"), the last reload outcome
 * from the event log, and — when a label names the endpoint (tls.check=HOST:PORT or tls.port=PORT)
 * — the certificate actually served, checked against the environment's root and against the
 * current certificate of the managed TLS directory the container mounts.
 */
export async function containersSection(ctx: StatusContext, lastReload: Map<string, EventEntry>): Promise<ContainersSection> {
  const listed = await listContainers({ labels: [TLS_LABEL, ...ctx.options.select], signal: ctx.signal });
  if (!listed.ok) return { state: 'unknown', reason: listed.reason, containers: [] };
  if (listed.items.length === 0) return { state: 'unknown', reason: `no running container is labelled ${[TLS_LABEL, ...ctx.options.select].join(' and ')}`, containers: [] };
  const details = await inspectContainers(listed.items.map((c) => c.id), ctx.signal);
  const byId = new Map<string, ContainerDetail>(details.ok ? details.items.map((d) => [d.id, d]) : []);
  const managed = managedTlsDirs(ctx);
  // The TLS stack is loaded only when some container names its TLS endpoint.
  const { handshake, endpointOf } = listed.items.some((c) => c.labels['tls.check'] ?? c.labels['tls.port']) ? await import('../../system/tls-probe.js') : { handshake: undefined, endpointOf: () => undefined };
  const entries = await Promise.all(
    listed.items
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(async (c): Promise<ContainerEntry> => {
        const levels: Level[] = [];
        const reasons: string[] = [];
        const last = lastReload.get(c.name);
        const entry: ContainerEntry = {
          name: c.name,
          id: c.id.slice(0, 12),
          image: c.image,
          reload: (c.labels[RELOAD_LABEL] ?? '').trim() || DEFAULT_RELOAD,
          state: 'unknown',
          lastReload: last ? { outcome: last.event as 'reloaded' | 'reload-failed', time: last.time, detail: last.detail ?? null } : null,
          served: null,
        };
        if (last?.event === 'reload-failed') {
          levels.push('fail');
          reasons.push(`the last reload failed at ${last.time}${last.detail ? `: ${last.detail}` : ''}`);
        } else levels.push('ok');
        const current = currentFingerprint(byId.get(c.id), managed);
        const at = c.labels['tls.check'] ?? c.labels['tls.port'];
        const ep = at ? endpointOf(at) : undefined;
        if (at && !ep) {
          levels.push('warn');
          reasons.push(`label ${c.labels['tls.check'] ? 'tls.check' : 'tls.port'}="${at}" is not HOST:PORT or PORT`);
        } else if (ep) {
          const endpoint = `${ep.host}:${ep.port}`;
          try {
            const s = await handshake!(ep.host, ep.port, { ca: ctx.root ? ctx.root.cert.toString() : undefined, servername: c.labels['tls.servername'], timeoutMs: 3000, signal: ctx.signal });
            const verified = ctx.root ? s.authorized || /hostname|altname|Host:|IP:/i.test(s.authorizationError ?? '') : null;
            entry.served = { endpoint, fingerprint: s.fingerprint, verified, current: current ? current.fingerprint === s.fingerprint : null };
            if (verified === false) {
              levels.push('fail');
              reasons.push(`${endpoint} serves a certificate that does not chain to the environment's root (${s.authorizationError ?? 'unknown authority'})`);
            }
            if (current && current.fingerprint !== s.fingerprint) {
              levels.push('warn');
              reasons.push(`${endpoint} serves ${s.fingerprint}, not the current ${current.file} (reload pending or failed)`);
            }
          } catch (error) {
            entry.served = { endpoint, fingerprint: null, verified: null, current: null, error: (error as Error).message };
            levels.push('fail');
            reasons.push(`no TLS handshake with ${endpoint}: ${(error as Error).message}`);
          }
        }
        entry.state = worst(levels, 'unknown');
        if (reasons.length) entry.reason = reasons.join('; ');
        return entry;
      }),
  );
  const bad = entries.filter((e) => e.state === 'fail' || e.state === 'warn');
  return { state: worst(entries.map((e) => e.state), 'unknown'), ...(bad.length ? { reason: bad.map((e) => `${e.name}: ${e.reason}`).join('; ') } : {}), containers: entries };
}

/** Directories certwright writes TLS material into: agents' TLS dirs (issue 4), Vault's (issue 3). */
export function managedTlsDirs(ctx: StatusContext): Array<{ dir: string; cert: string }> {
  const out: Array<{ dir: string; cert: string }> = [];
  for (const a of ctx.agents) if (a.tlsDir) out.push({ dir: path.resolve(a.tlsDir), cert: path.join(a.tlsDir, 'current', 'cert.pem') });
  if (ctx.facts.tlsDir) out.push({ dir: path.resolve(ctx.facts.tlsDir), cert: path.join(ctx.facts.tlsDir, 'server.crt') });
  return out;
}

function currentFingerprint(detail: ContainerDetail | undefined, managed: Array<{ dir: string; cert: string }>): { fingerprint: string; file: string } | undefined {
  if (!detail) return undefined;
  for (const m of detail.mounts) {
    const src = path.resolve(m.source);
    const hit = managed.find((d) => src === d.dir || src.startsWith(`${d.dir}/`) || d.dir.startsWith(`${src}/`));
    if (!hit) continue;
    const read = readCertFile(hit.cert);
    if (read.ok) return { fingerprint: read.file.certs[0]!.fingerprint256, file: hit.cert };
  }
  return undefined;
}

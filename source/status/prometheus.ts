import type { StatusSnapshot, Level } from './types.js';

/**
 * The snapshot as Prometheus text exposition (format 0.0.4) for node_exporter's textfile
 * collector: write it to DIR/certwright.prom atomically (`--out FILE` does) and point
 * --collector.textfile.directory at DIR. Every metric carries env="...". Unknown facts are left
 * out rather than reported as 0.
 */

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const LEVEL_VALUE: Record<Level, number> = { ok: 0, warn: 1, fail: 2, unknown: -1 };

export function toPrometheus(s: StatusSnapshot): string {
  const env = s.env ?? '';
  const families = new Map<string, { help: string; type: 'gauge' | 'counter'; samples: string[] }>();
  const metric = (name: string, help: string, labels: Record<string, string>, value: number, type: 'gauge' | 'counter' = 'gauge') => {
    if (!Number.isFinite(value)) return;
    let f = families.get(name);
    if (!f) {
      f = { help, type, samples: [] };
      families.set(name, f);
    }
    const all = { env, ...labels };
    const text = Object.entries(all)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    f.samples.push(`${name}{${text}} ${value}`);
  };
  const at = (iso: string) => new Date(iso).getTime() / 1000;
  const now = at(s.generatedAt);

  metric('certwright_status_health', 'Overall health: 0 ok, 1 warning (expiring inside the window), 2 failing.', {}, LEVEL_VALUE[s.health]);
  for (const [name, section] of Object.entries(s.sections)) metric('certwright_section_state', 'Section state: 0 ok, 1 warn, 2 fail, -1 unknown.', { section: name }, LEVEL_VALUE[section.state]);
  metric('certwright_status_collect_seconds', 'Time the snapshot took to collect.', {}, s.durationMs / 1000);

  const v = s.sections.vault;
  if (v.addr) {
    if (v.reachable !== null) metric('certwright_vault_up', 'Vault answered sys/health over its address with the environment CA (1) or not (0).', { addr: v.addr }, v.reachable ? 1 : 0);
    if (v.sealed !== null) metric('certwright_vault_sealed', 'Vault is sealed (1) or unsealed (0).', { addr: v.addr }, v.sealed ? 1 : 0);
    if (v.initialized !== null) metric('certwright_vault_initialized', 'Vault is initialised (1) or not (0).', { addr: v.addr }, v.initialized ? 1 : 0);
    if (v.standby !== null) metric('certwright_vault_standby', 'This Vault node is a standby (1) or active (0).', { addr: v.addr }, v.standby ? 1 : 0);
    if (v.certificate) {
      metric('certwright_vault_certificate_expiry_seconds', 'Seconds until Vault\'s own TLS certificate expires.', { addr: v.addr }, Math.round(at(v.certificate.notAfter) - now));
      metric('certwright_vault_certificate_verified', 'Vault\'s certificate verifies against the environment CA (1) or not (0).', { addr: v.addr }, v.certificate.verified ? 1 : 0);
    }
  }
  // A raft cluster: one series per node (down nodes included, as up 0).
  for (const n of v.nodes ?? []) {
    const labels = { node: n.id, addr: n.addr };
    metric('certwright_vault_node_up', 'The raft node answered sys/health (1) or not (0).', labels, n.role === 'down' ? 0 : 1);
    metric('certwright_vault_node_leader', 'The raft node is the active node (1) or not (0).', labels, n.role === 'leader' ? 1 : 0);
    if (n.sealed !== null) metric('certwright_vault_node_sealed', 'The raft node is sealed (1) or unsealed (0).', labels, n.sealed ? 1 : 0);
    if (n.appliedIndex !== null) metric('certwright_vault_node_raft_applied_index', 'The raft node\'s applied index (sys/leader).', labels, n.appliedIndex);
    if (n.inRaftConfig !== null) metric('certwright_vault_node_in_raft_configuration', 'The node is listed in sys/storage/raft/configuration (1) or not (0).', labels, n.inRaftConfig ? 1 : 0);
    if (n.certificate) metric('certwright_vault_node_certificate_expiry_seconds', 'Seconds until the raft node\'s TLS certificate expires.', labels, Math.round(at(n.certificate.notAfter) - now));
  }
  for (const m of s.sections.pki.mounts) {
    for (const i of m.issuers) {
      if (!i.notAfter) continue;
      metric('certwright_issuer_expiry_seconds', 'Seconds until a PKI issuer certificate expires.', { mount: m.path, issuer: i.name || i.id, issuer_id: i.id, root: String(i.isRoot), default: String(i.isDefault) }, Math.round(at(i.notAfter) - now));
    }
    if (m.urls) metric('certwright_pki_urls_http', 'The mount\'s AIA/CRL URLs include plain http (1) or not (0).', { mount: m.path }, m.urls.http ? 1 : 0);
    if (m.keys) metric('certwright_pki_orphan_keys', 'Keys in the mount that no issuer uses.', { mount: m.path }, m.keys.orphans.length);
  }
  for (const a of s.sections.agents.agents) {
    const labels = { agent: a.name, kind: a.kind, user: a.user ?? '' };
    metric('certwright_agent_up', 'An agent process runs this agent\'s config (1) or none does (0).', labels, a.process.alive ? 1 : 0);
    if (a.unit.state !== 'unknown') metric('certwright_agent_unit_active', 'The agent\'s systemd user unit is active (1) or not (0); absent when systemd is not reachable.', labels, a.unit.state === 'active' ? 1 : 0);
    if (a.lastRender) metric('certwright_agent_last_render_timestamp_seconds', 'When the agent last rendered a template (destination mtime).', labels, Math.round(at(a.lastRender.time)));
    if (a.token?.ttlSeconds !== undefined) metric('certwright_agent_token_ttl_seconds', 'TTL left on the token in the agent\'s file sink.', labels, a.token.ttlSeconds);
  }
  for (const c of s.sections.containers.containers) {
    const labels = { container: c.name, image: c.image };
    metric('certwright_container_up', 'A running container labelled tls=true.', labels, 1);
    if (c.lastReload) {
      metric('certwright_container_last_reload_success', 'The container\'s last reload succeeded (1) or failed (0).', labels, c.lastReload.outcome === 'reloaded' ? 1 : 0);
      metric('certwright_container_last_reload_timestamp_seconds', 'When the container was last reloaded.', labels, Math.round(at(c.lastReload.time)));
    }
    if (c.served?.current !== null && c.served?.current !== undefined) metric('certwright_container_serves_current', 'The container serves the current certificate of its TLS directory (1) or an older one (0).', labels, c.served.current ? 1 : 0);
  }
  for (const c of s.sections.certificates.certificates) {
    const labels = { path: c.path, role: c.role, subject: c.subject, source: c.source };
    if (c.notAfter) metric('certwright_certificate_expiry_seconds', 'Seconds until the certificate in a managed file expires (negative: expired).', labels, Math.round(at(c.notAfter) - now));
    metric('certwright_certificate_ok', 'The certificate file is healthy (1) or needs attention (0).', labels, c.state === 'ok' ? 1 : 0);
    if (c.keyMatches !== null) metric('certwright_certificate_key_matches', 'The key beside the certificate matches it (1) or not (0).', labels, c.keyMatches ? 1 : 0);
    if (c.chainVerifies !== null) metric('certwright_certificate_chain_verifies', 'The certificate chains to the environment root (1) or not (0).', labels, c.chainVerifies ? 1 : 0);
  }
  for (const e of s.sections.caDistribution.entries) {
    if (e.matches !== null) metric('certwright_ca_trust_matches_root', 'A trust file holds the environment root (1) or has drifted (0).', { subject: e.subject, file: e.file }, e.matches ? 1 : 0);
  }
  const counts = s.sections.events.counts;
  for (const name of new Set(['issued', 'rotated', 'reloaded', 'reload-failed', 'verify-failed', ...Object.keys(counts)])) {
    metric('certwright_events_total', 'Events in the environment\'s event log, by event.', { event: name }, counts[name] ?? 0, 'counter');
  }
  metric('certwright_reload_failures_total', 'Reload failures in the event log.', {}, counts['reload-failed'] ?? 0, 'counter');

  const lines: string[] = [];
  for (const [name, f] of families) {
    lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.samples);
  }
  return `${lines.join('\n')}\n`;
}

import { buildContext, type StatusOptions } from './context.js';
import { SCHEMA_ID, SECTION_ORDER, exitCodeFor, worst, type Level, type Problem, type SectionName, type StatusSnapshot, type PkiSection, type VaultSection } from './types.js';
import { vaultSection } from './sections/vault.js';
import { pkiSection } from './sections/pki.js';
import { agentsSection } from './sections/agents.js';
import { containersSection } from './sections/containers.js';
import { certificatesSection } from './sections/certificates.js';
import { caDistributionSection } from './sections/ca-distribution.js';
import { eventsSection } from './sections/events.js';

/**
 * One snapshot of everything, each section on its own: a section whose inputs are missing or whose
 * probe throws comes back "unknown" with the reason, and the others are unaffected. The collector
 * is long-lived in the live screen: files are re-read only when they changed (cert-files.ts,
 * events.ts), and Vault's PKI is asked at most once per pkiTtlMs unless a refresh is forced.
 */
export class StatusCollector {
  private pkiCache: { at: number; key: string; value: PkiSection } | undefined;

  constructor(readonly options: StatusOptions) {}

  async collect(signal?: AbortSignal, options: { force?: boolean } = {}): Promise<StatusSnapshot> {
    const started = Date.now();
    const ctx = await buildContext(this.options, signal);
    const guard = async <T extends { state: Level; reason?: string }>(fallback: Omit<T, 'state' | 'reason'>, fn: () => Promise<T> | T): Promise<T> => {
      try {
        return await fn();
      } catch (error) {
        if (signal?.aborted) throw error;
        return { ...fallback, state: 'unknown', reason: `could not be checked: ${(error as Error).message}` } as T;
      }
    };
    const eventsP = eventsSection(ctx).catch((error: Error) => ({ section: { state: 'unknown' as const, reason: `could not be read: ${error.message}`, files: [], total: 0, counts: {}, latest: [] }, lastReload: new Map(), lastWritten: new Map() }));
    const vaultP = guard<VaultSection>({ addr: null, https: null, caFile: null, reachable: null, initialized: null, sealed: null, standby: null, version: null, certificate: null }, () => vaultSection(ctx));
    const agentsP = guard({ agents: [] }, () => agentsSection(ctx));
    const caP = guard({ root: null, entries: [] }, () => caDistributionSection(ctx));
    const events = await eventsP;
    const containersP = guard({ containers: [] }, () => containersSection(ctx, events.lastReload));
    const certificates = await guard({ certificates: [], counts: { total: 0, ok: 0, expiring: 0, expired: 0, failing: 0, unreadable: 0 } }, () => certificatesSection(ctx, events.lastWritten));
    const vault = await vaultP;
    const pki = await guard({ mounts: [] }, () => this.pki(ctx, vault, options.force === true));
    const [agents, containers, caDistribution] = await Promise.all([agentsP, containersP, caP]);
    const sections = { vault, pki, agents, containers, certificates, caDistribution, events: events.section };
    const problems = collectProblems(sections);
    const health = worst(SECTION_ORDER.map((s) => sections[s].state).filter((l) => l !== 'unknown'), 'ok') as StatusSnapshot['health'];
    const summary: Record<Level, number> = { ok: 0, warn: 0, fail: 0, unknown: 0 };
    for (const s of SECTION_ORDER) summary[sections[s].state] += 1;
    return {
      schema: SCHEMA_ID,
      env: ctx.selection.env,
      generatedAt: ctx.now.toISOString(),
      durationMs: Date.now() - started,
      warnDays: this.options.warnDays,
      health,
      exitCode: exitCodeFor(health),
      summary,
      problems,
      sections,
    };
  }

  private async pki(ctx: Parameters<typeof pkiSection>[0], vault: VaultSection, force: boolean): Promise<PkiSection> {
    const key = `${vault.addr}|${vault.sealed}|${vault.reachable}`;
    const now = Date.now();
    if (!force && this.pkiCache && this.pkiCache.key === key && now - this.pkiCache.at < this.options.pkiTtlMs) return this.pkiCache.value;
    const value = await pkiSection(ctx, vault);
    this.pkiCache = { at: now, key, value };
    return value;
  }
}

function collectProblems(sections: StatusSnapshot['sections']): Problem[] {
  const out: Problem[] = [];
  const add = (section: SectionName, subject: string, level: Level, message: string | undefined) => {
    if (level === 'warn' || level === 'fail') out.push({ section, subject, level, message: message ?? '' });
  };
  add('vault', sections.vault.addr ?? 'vault', sections.vault.state, sections.vault.reason);
  for (const m of sections.pki.mounts) add('pki', m.path, m.state, m.reason);
  for (const a of sections.agents.agents) add('agents', a.name, a.state, a.reason);
  for (const c of sections.containers.containers) add('containers', c.name, c.state, c.reason);
  for (const c of sections.certificates.certificates) add('certificates', c.path, c.state, c.reason);
  for (const e of sections.caDistribution.entries) add('caDistribution', e.subject, e.state, e.reason);
  return out;
}

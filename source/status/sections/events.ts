import path from 'node:path';
import { envPaths } from '../../paths.js';
import type { EventsSection, EventEntry } from '../types.js';
import type { StatusContext } from '../context.js';
import { readEventLog, mergeTallies } from '../events.js';

/**
 * The event logs: the environment's own envs/<env>/events.jsonl and, for agents whose hook logs
 * elsewhere (issue 4: the hook's --state-dir, else the service user's own certwright home), those
 * too. Counts per event, the latest ten, and per container / workload the newest outcome.
 */
export async function eventsSection(ctx: StatusContext): Promise<{ section: EventsSection; lastReload: Map<string, EventEntry>; lastWritten: Map<string, EventEntry> }> {
  const env = ctx.selection.env;
  if (!env) return { section: { state: 'unknown', reason: ctx.selection.stateReason ?? 'no environment', files: [], total: 0, counts: {}, latest: [] }, lastReload: new Map(), lastWritten: new Map() };
  const files = new Set<string>([ctx.selection.eventsFile!]);
  const deps = ctx.agents.length ? await Promise.all([import('../agent-config.js'), import('../users.js')]) : undefined;
  for (const a of ctx.agents) {
    const [{ readAgentConfig }, { userHome }] = deps!;
    const cfg = readAgentConfig(a.config);
    const hook = cfg.ok ? cfg.config.hook : undefined;
    const hookEnv = hook?.env ?? env;
    if (hook?.stateDir) files.add(envPaths(hookEnv, { stateDir: hook.stateDir }).events);
    else if (a.user) {
      const home = await userHome(a.user, ctx.signal);
      if (home.ok) files.add(envPaths(hookEnv, { stateDir: path.join(home.home, '.config', 'certwright') }).events);
    }
  }
  const merged = mergeTallies([...files].map((f) => readEventLog(f)));
  const failures = (merged.counts['reload-failed'] ?? 0) + (merged.counts['verify-failed'] ?? 0);
  return {
    section: {
      state: merged.total === 0 ? 'unknown' : 'ok',
      ...(merged.total === 0 ? { reason: `no event has been logged yet (${[...files].join(', ')})` } : failures ? { reason: `${failures} failure event(s) in the log; the containers section shows whether the latest reload recovered` } : {}),
      files: merged.files,
      total: merged.total,
      counts: merged.counts,
      latest: merged.latest,
    },
    lastReload: merged.lastReload,
    lastWritten: merged.lastWritten,
  };
}

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { UnitState } from '../systemd.js';
import { worst, type AgentEntry, type AgentsSection, type Level } from '../types.js';
import { clientWith, type StatusContext } from '../context.js';
import type { ManagedAgent } from '../estate.js';
import type { AgentProcess } from '../processes.js';

/**
 * Agents certwright rolled out (issue 4's agent-app-NAME and agent-proxy-NAME records) and --agent-config:
 * the unit state through the service user's own systemd ("unknown" with systemctl's reason where
 * no user manager is reachable), the agent process found in /proc by its -config, the last render
 * (newest template destination's mtime), and the token's TTL when a file sink exists — looked up
 * with the sink's token itself, which is never printed or kept.
 */
export async function agentsSection(ctx: StatusContext): Promise<AgentsSection> {
  if (ctx.agents.length === 0) return { state: 'unknown', reason: ctx.selection.stateReason ?? 'no agent is recorded for this environment (certwright agent app|proxy records them; or pass --agent-config FILE)', agents: [] };
  // Loaded only when there are agents to look at: a bare `status --json` stays cheap to start.
  const deps = await loadDeps();
  const scan = deps.scanAgentProcesses();
  const agents = await Promise.all(ctx.agents.map((a) => agentEntry(ctx, deps, a, scan.processes, scan.error)));
  const bad = agents.filter((a) => a.state === 'fail' || a.state === 'warn');
  return { state: worst(agents.map((a) => a.state), 'unknown'), ...(bad.length ? { reason: bad.map((a) => `${a.name}: ${a.reason}`).join('; ') } : {}), agents };
}

async function loadDeps() {
  const [{ readAgentConfig }, { scanAgentProcesses, processesFor }, { userUnitState, unitLastLines }, { lookupSelf }, { userHome }] = await Promise.all([import('../agent-config.js'), import('../processes.js'), import('../systemd.js'), import('../vault-reads.js'), import('../users.js')]);
  return { readAgentConfig, scanAgentProcesses, processesFor, userUnitState, unitLastLines, lookupSelf, userHome };
}
type Deps = Awaited<ReturnType<typeof loadDeps>>;

async function agentEntry(ctx: StatusContext, deps: Deps, agent: ManagedAgent, processes: AgentProcess[], scanError: string | undefined): Promise<AgentEntry> {
  const { readAgentConfig, processesFor, userUnitState } = deps;
  const levels: Level[] = [];
  const reasons: string[] = [];
  const procs = processesFor(agent.config, processes);
  const unitPromise = agent.unit ? userUnitState(agent.unit, agent.user, ctx.signal) : Promise.resolve({ state: 'unknown' as const, reason: 'no unit is recorded for this agent' });
  const read = readAgentConfig(agent.config);
  const entry: AgentEntry = {
    name: agent.name,
    kind: agent.kind,
    mount: agent.mount,
    user: agent.user,
    config: agent.config,
    state: 'unknown',
    unit: { name: agent.unit, state: 'unknown' },
    activeState: null,
    execMainStatus: null,
    journal: null,
    process: { alive: procs.length > 0, pids: procs.map((p) => p.pid), uids: [...new Set(procs.map((p) => p.uid))] },
    lastRender: null,
    token: null,
  };
  if (procs.length > 0) levels.push('ok');
  else {
    levels.push('fail');
    reasons.push(scanError ? `no agent process found (${scanError})` : `no agent process runs -config=${agent.config}`);
  }
  if (!read.ok) {
    levels.push('fail');
    reasons.push(read.reason);
  } else {
    const cfg = read.config;
    let newest: { file: string; mtime: number } | undefined;
    for (const t of cfg.templates) {
      if (!t.destination) continue;
      try {
        const st = fs.statSync(t.destination);
        if (!newest || st.mtimeMs > newest.mtime) newest = { file: t.destination, mtime: st.mtimeMs };
      } catch {
        /* not rendered yet */
      }
    }
    if (newest) entry.lastRender = { file: newest.file, time: new Date(newest.mtime).toISOString(), ageSeconds: Math.max(0, Math.round((ctx.now.getTime() - newest.mtime) / 1000)) };
    else if (cfg.templates.length) {
      levels.push('warn');
      reasons.push('no template destination has been rendered yet');
    }
    const sink = cfg.sinks.find((s) => s.type === 'file' && s.path && s.path !== '/dev/null');
    if (sink?.path) entry.token = await sinkToken(ctx, deps, sink.path, cfg.vault.address, cfg.vault.caCert);
    if (entry.token && entry.token.state !== 'ok' && entry.token.state !== 'unknown') {
      levels.push(entry.token.state);
      reasons.push(`token: ${entry.token.reason}`);
    }
  }
  const unit: UnitState = await unitPromise;
  entry.unit = { name: agent.unit, state: unit.state, ...(unit.reason ? { reason: unit.reason } : {}) };
  entry.activeState = unit.activeState ?? null;
  entry.execMainStatus = unit.execMainStatus ?? null;
  if (agent.unit && unit.activeState) entry.journal = await journalOf(ctx, deps, agent);
  if (unit.state === 'failed') {
    levels.push('fail');
    reasons.push(`unit ${agent.unit} failed${unit.result ? ` (${unit.result}${unit.execMainStatus ? `, status=${unit.execMainStatus}` : ''})` : ''}`);
  } else if (unit.state === 'activating' && unit.subState === 'auto-restart') {
    levels.push('fail');
    reasons.push(`unit ${agent.unit} keeps failing and being restarted (status=${unit.execMainStatus ?? '?'}, ${unit.nRestarts ?? 0} restarts)`);
  }
  // An agent that runs but cannot log in renders nothing new: its own words say so (the unit's
  // journal, or the log a lab agent writes beside its config).
  const trouble = loginTrouble([...(entry.journal ?? []), ...logTail(path.join(path.dirname(agent.config), 'agent.log'))]);
  if (procs.length > 0 && trouble) {
    levels.push('fail');
    reasons.push(`the agent cannot log in to Vault: ${trouble}`);
  }
  entry.state = worst(levels, 'unknown');
  if (reasons.length) entry.reason = reasons.join('; ');
  return entry;
}

/** The last auth handler line of an agent's log, when it is an error (a later success clears it). */
export function loginTrouble(lines: string[]): string | undefined {
  let last: string | undefined;
  for (const l of lines) if (/agent\.auth\.handler/.test(l) && (/\[ERROR\]/.test(l) || /authentication successful/.test(l))) last = l;
  return last && /\[ERROR\]/.test(last) ? last.replace(/^.*\[ERROR\]\s*agent\.auth\.handler:\s*/, '').slice(0, 200) : undefined;
}

function logTail(file: string): string[] {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}

async function journalOf(ctx: StatusContext, deps: Deps, agent: ManagedAgent): Promise<string[] | null> {
  let owner: { name: string; uid: number } | null = null;
  if (agent.user && agent.user !== os.userInfo().username) {
    const home = await deps.userHome(agent.user, ctx.signal);
    if (!home.ok) return null;
    owner = { name: agent.user, uid: home.uid };
  }
  return deps.unitLastLines(agent.unit!, owner, 5, ctx.signal);
}

async function sinkToken(ctx: StatusContext, deps: Deps, file: string, addr: string | undefined, caFile: string | undefined): Promise<NonNullable<AgentEntry['token']>> {
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { state: code === 'ENOENT' ? 'warn' : 'unknown', reason: code === 'ENOENT' ? `the sink ${file} has not been written yet` : `the sink ${file} cannot be read (${code})` };
  }
  if (!token) return { state: 'warn', reason: `the sink ${file} is empty` };
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch {
      ca = undefined;
    }
  }
  try {
    const client = await clientWith(ctx, { token, ...(addr ? { addr } : {}), ...(ca ? { ca, caSource: caFile } : {}) });
    const res = await deps.lookupSelf(client);
    if (!res.ok) return { state: 'fail', reason: `lookup-self with the sink's token failed: ${res.reason}` };
    const ttl = res.value.ttlSeconds;
    const level: Level = ttl === 0 && res.value.expireTime === null ? 'ok' : ttl < 60 ? 'warn' : 'ok';
    return { state: level, ttlSeconds: ttl, expireTime: res.value.expireTime, renewable: res.value.renewable, ...(level !== 'ok' ? { reason: `the token expires in ${ttl} s` } : {}) };
  } catch (error) {
    return { state: 'unknown', reason: (error as Error).message };
  } finally {
    token = '';
  }
}

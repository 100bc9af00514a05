import { StatusCollector } from '../status/collect.js';
import { buildContext, type StatusOptions } from '../status/context.js';
import { exitCodeFor } from '../status/types.js';
import { CHECK_TITLES, DOCTOR_SCHEMA_ID, type CheckId, type CheckResult, type DoctorReport } from './types.js';
import { agentConfigs, checkAgentCa, checkAgentConfigs, checkAia, checkCompose, checkContainers, checkExpiring, checkMountTtl, checkOrphans, checkPkiUpkeep, checkRootCrl, checkRaftCluster, checkUnits, checkFailedUnits, checkUnknownAuthority, composeFilesOf, unitFilesOf, type CheckOutcome } from './checks.js';

/**
 * doctor — every known failure mode, checked against the real files, processes, containers and
 * Vault, each finding with the exact fix. Read-only: it changes nothing.
 */
export async function runDoctor(options: StatusOptions, extra: { composeFiles: string[]; unitFiles: string[] }, signal?: AbortSignal): Promise<DoctorReport> {
  const snapshot = await new StatusCollector(options).collect(signal, { force: true });
  const ctx = await buildContext(options, signal);
  const configs = agentConfigs(ctx);
  const outcomes: CheckOutcome[] = [];
  const [containers, agentCa, mountTtl, units, upkeep] = await Promise.all([checkContainers(ctx), checkAgentCa(ctx, configs), checkMountTtl(ctx, snapshot), unitFilesOf(ctx, extra.unitFiles), checkPkiUpkeep(ctx, snapshot)]);
  outcomes.push(...containers);
  outcomes.push(...checkCompose(composeFilesOf(ctx, extra.composeFiles)));
  outcomes.push(checkUnits(units), await checkFailedUnits(ctx, snapshot), await checkUnknownAuthority(ctx, snapshot));
  outcomes.push(...checkAgentConfigs(configs));
  outcomes.push(agentCa, checkAia(snapshot), mountTtl, checkExpiring(snapshot), checkOrphans(snapshot), upkeep, checkRootCrl(snapshot));
  outcomes.push(...checkRaftCluster(snapshot));
  const order = Object.keys(CHECK_TITLES) as CheckId[];
  outcomes.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const findings = outcomes.flatMap((o) => o.findings);
  const checks: CheckResult[] = outcomes.map((o) => ({
    id: o.id,
    title: CHECK_TITLES[o.id],
    state: o.findings.length ? 'found' : o.unknown ? 'unknown' : 'ok',
    ...(o.unknown || o.looked ? { reason: o.unknown ?? o.looked } : {}),
    findings: o.findings.length,
  }));
  const health: DoctorReport['health'] = findings.some((f) => f.level === 'fail') ? 'fail' : findings.length ? 'warn' : 'ok';
  return { schema: DOCTOR_SCHEMA_ID, env: snapshot.env, generatedAt: snapshot.generatedAt, warnDays: options.warnDays, health, exitCode: exitCodeFor(health), checks, findings };
}

export function formatDoctor(report: DoctorReport): string {
  const lines = [`certwright doctor · env ${report.env ?? '(none)'} · ${report.findings.length} finding(s) · ${report.health.toUpperCase()} (exit ${report.exitCode})`, ''];
  for (const c of report.checks) {
    const mark = c.state === 'found' ? '✗' : c.state === 'ok' ? '✓' : '?';
    lines.push(`${mark} ${c.title}${c.state === 'unknown' ? ` — not checked: ${c.reason}` : c.state === 'ok' && c.reason ? ` (${c.reason})` : ''}`);
    for (const f of report.findings.filter((x) => x.check === c.id)) {
      lines.push(`    ${f.level === 'fail' ? 'FAIL' : 'WARN'} ${f.subject}`, `         ${f.message}`, `    Fix: ${f.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

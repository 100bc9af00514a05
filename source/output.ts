import type { Reporter, Plan } from './steps/context.js';

/** Plain terminal output for subcommands. Progress goes to stderr, results to stdout. */
export function cliReporter(options: { quiet?: boolean } = {}): Reporter {
  const err = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  return {
    info: (m) => err(m),
    warn: (m) => err(`Warning: ${m}`),
    progress: (m) => err(`… ${m}`),
    done: (m) => err(`✓ ${m}`),
  };
}

export function formatPlan(title: string, plan: Plan): string {
  const lines = [`Plan: ${title}`];
  const width = Math.max(0, ...plan.facts.map(([k]) => k.length));
  for (const [k, v] of plan.facts) lines.push(`  ${k.padEnd(width)}  ${v}`);
  for (const w of plan.warnings) lines.push(`  ! ${w}`);
  if (plan.actions.length === 0) lines.push('  Nothing to do: everything is already in place.');
  for (const a of plan.actions) lines.push(`  - ${a}`);
  return lines.join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

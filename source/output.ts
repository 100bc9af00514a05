import type { Reporter, Plan } from './steps/context.js';
import { factLines, wrapText } from './text-wrap.js';

/**
 * The width plain output is laid out for: the terminal's (80 when it does not say), or undefined
 * when the stream is not a terminal: piped output keeps each line whole for grep and logs.
 */
export function columnsOf(stream: NodeJS.WriteStream = process.stderr): number | undefined {
  return stream.isTTY ? stream.columns || 80 : undefined;
}

/** A message after its mark, wrapped under itself at `columns`: nothing is cut, a path or command stays whole in the text. */
export function markedLines(mark: string, message: string, columns: number | undefined): string {
  if (columns === undefined) return `${mark}${message}`;
  return wrapText(message, columns, mark, ' '.repeat(mark.length)).join('\n');
}

/** Plain terminal output for subcommands. Progress goes to stderr, results to stdout. */
export function cliReporter(options: { quiet?: boolean } = {}): Reporter {
  const err = (mark: string, line: string) => {
    if (!options.quiet) process.stderr.write(`${markedLines(mark, line, columnsOf(process.stderr))}\n`);
  };
  return {
    info: (m) => err('', m),
    warn: (m) => err('Warning: ', m),
    // A mark that is not "…": on a terminal "…" reads as text that was cut.
    progress: (m) => err('· ', m),
    done: (m) => err('✓ ', m),
  };
}

/** A plan as lines; with `columns`, every fact, warning and action wraps under itself instead of running off the terminal. */
export function formatPlan(title: string, plan: Plan, columns?: number): string {
  const lines = [`Plan: ${title}`];
  if (columns !== undefined) {
    lines.push(...factLines(plan.facts, columns));
    for (const w of plan.warnings) lines.push(...wrapText(w, columns, '  ! ', '    '));
    if (plan.actions.length === 0) lines.push('  Nothing to do: everything is already in place.');
    for (const a of plan.actions) lines.push(...wrapText(a, columns, '  - ', '    '));
    return lines.join('\n');
  }
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

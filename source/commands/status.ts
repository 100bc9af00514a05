import type { CommandSpec, CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { inspectFlags, statusOptions } from '../status/options.js';
import { StatusCollector } from '../status/collect.js';
import { MIN_INTERVAL_S, nextDelayMs, refreshFailed, sleep } from '../status/backoff.js';
import type { StatusSnapshot } from '../status/types.js';
import { columnsOf } from '../output.js';

type Format = 'json' | 'prometheus' | 'text';

function render(snapshot: StatusSnapshot, format: Format, compact: boolean, toPrometheus?: (s: StatusSnapshot) => string, toText?: (s: StatusSnapshot, columns?: number) => string, columns?: number): string {
  if (format === 'prometheus') return toPrometheus!(snapshot);
  if (format === 'text') return toText!(snapshot, columns);
  return `${compact ? JSON.stringify(snapshot) : JSON.stringify(snapshot, null, 2)}\n`;
}

async function runSnapshots(ctx: CommandContext, collector: StatusCollector, format: Format, watch: boolean, intervalS: number): Promise<number> {
  const toPrometheus = format === 'prometheus' ? (await import('../status/prometheus.js')).toPrometheus : undefined;
  const toText = format === 'text' ? (await import('../status/text.js')).toText : undefined;
  const out = ctx.flags.string('out');
  const writeFileAtomic = out ? (await import('../system/files.js')).writeFileAtomic : undefined;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  let failures = 0;
  let last: StatusSnapshot | undefined;
  try {
    for (;;) {
      last = await collector.collect(controller.signal);
      // On a terminal the text wraps to its width; into a file or a pipe each line stays whole.
      const text = render(last, format, watch, toPrometheus, toText, out ? undefined : columnsOf(process.stdout));
      // The textfile collector must never read a half-written file: write beside it and rename.
      if (out) await writeFileAtomic!(out, text, { mode: 0o644 });
      else process.stdout.write(text);
      if (!watch) return last.exitCode;
      failures = refreshFailed(last) ? failures + 1 : 0;
      if (!(await sleep(nextDelayMs(intervalS * 1000, failures), controller.signal))) return last.exitCode;
    }
  } finally {
    process.off('SIGTERM', stop);
  }
}

export const command: CommandSpec = {
  name: 'status',
  summary:
    'One view of the environment: Vault, PKI mounts, agents, containers, certificates, CA distribution and the event log. In a terminal: a live screen. Without one (or with --json): one JSON snapshot (docs/status.schema.json). Exit 0 healthy, 8 something expires inside the warning window, 9 something is failing.',
  usage: 'status [--env E] [--watch] [--json] [--format json|prometheus|text] [--interval SECONDS] [--warn-days N] [--out FILE]',
  flags: [
    { name: 'watch', type: 'boolean', description: 'keep refreshing (a TTY shows the live screen anyway; without one, one snapshot per interval)' },
    { name: 'format', type: 'string', value: 'FORMAT', description: 'json (default without a terminal), prometheus (node_exporter textfile collector) or text' },
    { name: 'interval', type: 'string', value: 'SECONDS', description: `seconds between refreshes (default 10, at least ${MIN_INTERVAL_S}); doubles while Vault is unreachable, up to 5 minutes` },
    { name: 'out', type: 'string', value: 'FILE', env: 'CERTWRIGHT_STATUS_OUT', description: 'write each snapshot to FILE atomically instead of stdout (e.g. /var/lib/node_exporter/textfile/certwright.prom)' },
    ...inspectFlags,
  ],
  async run(ctx) {
    const options = statusOptions(ctx);
    const intervalS = ctx.flags.int('interval', { min: MIN_INTERVAL_S, max: 86_400 }) ?? 10;
    const formatFlag = ctx.flags.string('format');
    if (formatFlag && !['json', 'prometheus', 'text'].includes(formatFlag)) throw new UsageError(`--format "${formatFlag}" is not json, prometheus or text.`, 'Pass --format json, --format prometheus or --format text.');
    const collector = new StatusCollector(options);
    const interactive = ctx.tty && !formatFlag && !ctx.flags.bool('json') && !ctx.flags.string('out') && !ctx.plain;
    if (interactive) {
      const { runStatusScreen } = await import('../status/screen.js');
      return runStatusScreen(collector, { intervalS, env: options.env });
    }
    return runSnapshots(ctx, collector, (formatFlag as Format | undefined) ?? (ctx.flags.bool('json') ? 'json' : ctx.plain && ctx.tty ? 'text' : 'json'), ctx.flags.bool('watch'), intervalS);
  },
};

import type { CommandSpec } from '../command.js';
import { printJson } from '../output.js';
import { inspectFlags, statusOptions } from '../status/options.js';
import { runDoctor, formatDoctor } from '../doctor/doctor.js';

export const command: CommandSpec = {
  name: 'doctor',
  summary:
    'Finds the known failure modes — unreadable keys in containers, keep-id/chown compose files, capability directives in user units, /dev/null or quoted sinks, key templates without perms, agents trusting the wrong CA, unlabelled TLS containers, http AIA/CRL URLs, short mount TTLs, expiring leaves and intermediates, orphan keys — and prints each with the exact fix. Changes nothing. Exit 0 nothing found, 8 warnings only, 9 failures.',
  usage: 'doctor [--env E] [--json] [--warn-days N] [--compose FILE]... [--unit FILE]...',
  flags: [
    { name: 'compose', type: 'string', multiple: true, value: 'FILE', description: 'a compose file to check besides the one vault-https wrote (repeatable)' },
    { name: 'unit', type: 'string', multiple: true, value: 'FILE', description: 'a systemd user unit to check besides the agents\' units (repeatable)' },
    ...inspectFlags,
  ],
  async run(ctx) {
    const report = await runDoctor(statusOptions(ctx), { composeFiles: ctx.flags.list('compose'), unitFiles: ctx.flags.list('unit') });
    if (ctx.flags.bool('json')) printJson(report);
    else process.stdout.write(formatDoctor(report));
    return report.exitCode;
  },
};

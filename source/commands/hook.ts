import type { CommandSpec, CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { envPaths, validateEnvName } from '../paths.js';
import { cliReporter, printJson, formatPlan } from '../output.js';
import { parseDuration } from '../duration.js';
import { EventLog } from '../hook/events.js';
import { Podman } from '../system/podman-tls.js';
import { applyHook, planHook, HookFailure, type HookInput } from '../steps/hook.js';
import { readTextFile } from '../system/files.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function parseSelectors(values: string[]): string[] {
  return values.map((v) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.\/-]*=[^\s,]*$/.test(v)) throw new UsageError(`--select "${v}" is not LABEL=VALUE.`, 'Pass --select app=web (ANDed with tls=true); repeat it for more labels.');
    return v;
  });
}

async function buildInput(ctx: CommandContext): Promise<HookInput> {
  const tlsDir = ctx.flags.string('tls-dir');
  const caOut = ctx.flags.string('ca-out');
  if (tlsDir && caOut) throw new UsageError('--tls-dir and --ca-out are for different payloads.', 'Pass --tls-dir for an app (leaf) payload, --ca-out for a proxy (CA chain) payload.');
  if (!tlsDir && !caOut) throw new UsageError('The hook needs --tls-dir (app leaf) or --ca-out (proxy CA chain).', 'Pass the flags the generated agent config uses: --tls-dir DIR or --ca-out FILE.');
  const source = ctx.flags.string('payload');
  let payloadText: string;
  let payloadSource: string;
  if (source && source !== '-') {
    payloadText = await readTextFile(source, '--payload');
    payloadSource = source;
  } else {
    if (process.stdin.isTTY) throw new UsageError('No payload: --payload is missing and stdin is a terminal.', 'Pass --payload FILE (the file the agent template rendered) or pipe the JSON on stdin.');
    payloadText = await readStdin();
    payloadSource = 'the payload on stdin';
  }
  const env = ctx.flags.string('env');
  const name = ctx.flags.string('name') ?? 'unnamed';
  const events = new EventLog(env ? envPaths(validateEnvName(env), ctx.home).events : undefined, env ?? '', `${tlsDir ? 'app' : 'proxy'}/${name}`);
  const keep = ctx.flags.int('keep', { min: 2, max: 100 }) ?? 3;
  return {
    payloadText,
    payloadSource,
    tlsDir,
    caOut,
    trustFile: ctx.flags.string('trust'),
    select: parseSelectors(ctx.flags.list('select')),
    reloadLabel: ctx.flags.string('reload-label') ?? 'tls.reload',
    defaultReload: ctx.flags.string('default-reload') ?? 'nginx -s reload',
    podman: new Podman(ctx.flags.string('podman') ?? 'podman'),
    keep,
    checkTimeoutMs: parseDuration(ctx.flags.string('check-timeout') ?? '15s', '--check-timeout') * 1000,
    events,
  };
}

export const command: CommandSpec = {
  name: 'hook',
  summary: 'What the agent runs after rendering: checks the payload (key matches cert, chain verifies), swaps key + cert + chain together (versioned dir + symlink) or writes the proxy CA chain, reloads running containers labelled tls=true, rolls back if a reload fails.',
  usage: 'hook [--payload FILE|-] (--tls-dir DIR | --ca-out FILE) [--trust FILE] [--env E] [--name NAME] [--select LABEL=VALUE]...',
  flags: [
    { name: 'payload', type: 'string', value: 'FILE', description: 'the rendered JSON payload (default: stdin)' },
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'app: where key, cert and chain are swapped (versions/, current, previous)' },
    { name: 'ca-out', type: 'string', value: 'FILE', description: 'proxy: where the CA chain is written (old one kept as FILE.previous)' },
    { name: 'trust', type: 'string', value: 'FILE', description: 'the pinned root(s) the chain must end at (trust-root.pem from `agent app|proxy`)' },
    { name: 'name', type: 'string', value: 'NAME', description: 'the workload, for the event log' },
    { name: 'select', type: 'string', multiple: true, value: 'LABEL=VALUE', description: 'only containers that also carry this label (repeatable; ANDed with tls=true)' },
    { name: 'reload-label', type: 'string', value: 'LABEL', description: 'container label holding the reload command (default tls.reload)' },
    { name: 'default-reload', type: 'string', value: 'CMD', description: 'reload command when the label is absent (default "nginx -s reload")' },
    { name: 'podman', type: 'string', value: 'PATH', description: 'podman binary (default: podman on PATH)' },
    { name: 'keep', type: 'string', value: 'N', description: 'versions kept in the TLS dir (default 3, at least 2)' },
    { name: 'check-timeout', type: 'string', value: 'DURATION', description: 'how long a container with a tls.check label may take to serve the new certificate (default 15s)' },
  ],
  async run(ctx) {
    const input = await buildInput(ctx);
    if (ctx.flags.bool('dry-run')) {
      const plan = await planHook(input);
      process.stderr.write(`${formatPlan('hook', plan)}\nDry run: nothing was changed.\n`);
      return 0;
    }
    const report = cliReporter();
    try {
      const result = await applyHook(input, report);
      if (ctx.flags.bool('json')) printJson(result);
      else if (!result.changed) process.stdout.write(`Unchanged: ${result.target}.\n`);
      else {
        const ok = result.containers.filter((c) => c.ok).length;
        process.stdout.write(`${result.event === 'chain-updated' ? 'CA chain updated' : result.event === 'issued' ? 'Issued' : 'Rotated'}: ${result.target}${result.version ? ` (version ${result.version})` : ''}; ${result.reloadSkipped ? 'no container reloaded' : `${ok} container(s) reloaded`}.\n`);
      }
      return 0;
    } catch (error) {
      if (error instanceof HookFailure && ctx.flags.bool('json')) printJson(error.result);
      throw error;
    }
  },
};

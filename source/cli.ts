import { parseArgs } from 'node:util';
import { VERSION } from './version.js';
import { GLOBAL_FLAGS, Flags, envVarFor, scopedFlags, type FlagSpec, type FlagValues } from './flags.js';
import { formatError, exitCodeOf, explainSystemError, UsageError } from './errors.js';
import type { CommandSpec, CommandContext } from './command.js';
import { STEPS } from './steps/index.js';
import { wrapCommand, wrapText } from './text-wrap.js';
import { EXAMPLES } from './commands/examples.js';

/**
 * argv -> subcommand. Commands are imported lazily, one module each, so a non-interactive command
 * never loads React or Ink; only the wizard and the live status screen do.
 */
/** Commands that are not pipeline steps: they read, report or open a screen. */
const READ_ONLY_COMMANDS: Record<string, () => Promise<{ command: CommandSpec }>> = {
  lab: () => import('./commands/lab-command.js'),
  wizard: () => import('./commands/wizard.js'),
  'state show': () => import('./commands/state-show.js'),
  'transcript verify': () => import('./commands/transcript-verify.js'),
  'ceremony script': () => import('./commands/ceremony-script.js'),
  'ceremony verify': () => import('./commands/ceremony-verify.js'),
  'audit verify': () => import('./commands/audit-verify.js'),
  'verify-tls': () => import('./commands/verify-tls.js'),
  tree: () => import('./commands/tree.js'),
  status: () => import('./commands/status.js'),
  doctor: () => import('./commands/doctor.js'),
  plan: () => import('./commands/plan.js'),
  'export ansible': () => import('./commands/export-ansible.js'),
};

/**
 * Commands that change things only by running registry steps. `apply --file` is not a step
 * itself: it has no inputs of its own beyond the file, keeps no state record and makes no change
 * that a registry step does not make, plan, record and verify (so --dry-run and the dry-run walk
 * stay per step; `apply --dry-run` is `plan`).
 */
const COMPOSITE_COMMANDS: Record<string, () => Promise<{ command: CommandSpec }>> = {
  apply: () => import('./commands/apply.js'),
};

/**
 * Commands a tool runs on the controller, not an operator: `ansible-secret` is the lookup the
 * exported Ansible play calls for an agent about to (re)start. It writes Vault (the agent's
 * roles, a wrapped secret_id) and no file, and prints the secret only on stdout, so it has no
 * --dry-run and no state record.
 */
const CONTROLLER_COMMANDS: Record<string, () => Promise<{ command: CommandSpec }>> = {
  'ansible-secret': () => import('./commands/ansible-secret.js'),
};

/** Every step of the registry is a command; the rest are the read-only commands above. */
const COMMANDS: Record<string, () => Promise<{ command: CommandSpec }>> = {
  ...Object.fromEntries(
    STEPS.map((s) => [
      s.command,
      async () => {
        const [step, { commandFor }] = await Promise.all([s.load(), import('./commands/step-command.js')]);
        return { command: commandFor(step) };
      },
    ]),
  ),
  ...READ_ONLY_COMMANDS,
  ...COMPOSITE_COMMANDS,
  ...CONTROLLER_COMMANDS,
};

export const commandNames = (): string[] => Object.keys(COMMANDS);
export const readOnlyCommandNames = (): string[] => Object.keys(READ_ONLY_COMMANDS);
/** A command's spec by name (as in commandNames()), loading its module. */
export async function commandSpecOf(name: string): Promise<CommandSpec> {
  const load = COMMANDS[name];
  if (!load) throw new Error(`No command "${name}".`);
  return (await load()).command;
}
export const compositeCommandNames = (): string[] => Object.keys(COMPOSITE_COMMANDS);
export const controllerCommandNames = (): string[] => Object.keys(CONTROLLER_COMMANDS);

const SUMMARIES: Array<[string, string]> = [
  ['(no command)', 'open the wizard (offers the rehearsal lab when no environment exists)'],
  ['wizard', 'the same: the guided pipeline, resuming where the state left off (--plain: line prompts)'],
  ['lab', 'a throwaway workspace and its own real OpenBao (vault-server), the wizard on --env lab'],
  ['root create', 'offline root ceremony: encrypted root key + self-signed root certificate'],
  ['vault-server', 'run the environment\'s own OpenBao (raft, loopback HTTP) until vault-https moves it to TLS'],
  ['intermediate request', 'online: enable/tune the PKI mount, generate the intermediate CSR in Vault'],
  ['intermediate sign', 'offline: sign the CSR with the root (no Vault needed)'],
  ['intermediate install', 'online: import intermediate + root, set default issuer and AIA/CRL URLs'],
  ['intermediate', 'request + sign + install on one machine (lab, rehearsal)'],
  ['state show', 'print the environment\'s state (never holds secrets)'],
  ['transcript verify', 'check the ceremony transcript\'s hash chain (--head HASH: the record the witnesses saw)'],
  ['ceremony script', 'the numbered, reviewable script of the offline ceremony (inputs with fingerprints, outputs, sign-off lines)'],
  ['ceremony verify', 'hold a ceremony transcript against its script (--rehearsal FILE: against a rehearsal too)'],
  ['audit verify', 'transcript chain + build audit logs against what Vault issued (and Vault\'s own audit log)'],
  ['build-role', 'online: client-only role for build certificates + least-privilege AppRole for the build server'],
  ['build-cert', 'CI: one client certificate per build (CN = app, commit SAN), bundles per trust path, env file'],
  ['cross-sign request', 'online: CSR for the mount\'s existing intermediate key (same subject), for a second root'],
  ['cross-sign sign', 'offline: the second root signs that CSR (the intermediate signer, no Vault)'],
  ['cross-sign install', 'online: import the twin as an extra issuer (default unchanged), same key and subject checked'],
  ['cross-sign', 'request + sign + install on one machine (lab, rehearsal)'],
  ['verify-tls', '(mutual) TLS handshake: which chain each side presented and whether it verified'],
  ['hashdir', 'write an OpenSSL -CApath hash directory (subject_hash.N links)'],
  ['tree', 'CA-tree designs (app root, root per env, env at root, cross-signed) with each node\'s state'],
  ['revoke', 'revoke a certificate or build-server intermediate by serial; confirm it is in the CRL'],
  ['vault-cert', 'issue Vault\'s own server certificate (key 0600, fullchain, ca-chain; rotate + SIGHUP)'],
  ['vault-https', 'render Vault\'s HTTPS config and Podman compose file; --start runs it'],
  ['vault-init', 'initialise Vault over HTTPS; unseal keys shown once, never stored'],
  ['vault-unseal', 'unseal over HTTPS with hidden prompts or --key-file'],
  ['switch-urls', 'check CA/CRL over HTTPS, then switch the mount\'s AIA/CRL URLs to it'],
  ['agent app', 'policy + AppRole + agent config + systemd user unit for an app\'s rotating leaf'],
  ['agent proxy', 'policy + AppRole + agent config + systemd user unit for a proxy\'s CA chain'],
  ['hook', 'what the agent runs: check, swap key+cert+chain together, reload tls=true containers'],
  ['distribute-ca', 'copy a CA file into each service user\'s trust path (0644 in a 0700 dir)'],
  ['status', 'live view of Vault, PKI, agents, containers, certificates (JSON / Prometheus without a TTY)'],
  ['doctor', 'find the known failure modes and print each with the exact fix'],
  ['plan', 'an estate file as steps in order: done / to do / drifted, and where the air gap falls'],
  ['apply', 'run the estate file\'s steps that are not done (stops at the air gap; --one-machine)'],
  ['export ansible', 'the estate\'s managed hosts as an Ansible inventory, playbook and roles (no secret in it)'],
  ['ansible-secret', 'for the exported play: one host agent\'s Vault roles + role_id and a wrapped secret_id as JSON'],
];

/** Help is wrapped to the terminal, or to 80 columns when the output is no terminal. */
export function helpWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY && stream.columns ? Math.max(40, stream.columns) : 80;
}

/** `  NAME   description` rows: the description wraps under itself, or under the name when the name is long. */
function rows(entries: Array<[string, string]>, columns: number, nameWidth: number): string[] {
  return entries.flatMap(([name, text]) => {
    if (name.length > nameWidth) return [...wrapText(name, columns, '  ', '      '), ...wrapText(text, columns, ' '.repeat(nameWidth + 3))];
    return wrapText(text, columns, `  ${name.padEnd(nameWidth)} `, ' '.repeat(nameWidth + 3));
  });
}

export function helpText(columns = helpWidth()): string {
  const lines = [...wrapText(`certwright ${VERSION} — TLS on Vault/OpenBao, from the offline root to rotating agents`, columns), '', 'Usage: certwright [COMMAND] [FLAGS]', '', 'Commands:'];
  lines.push(...rows(SUMMARIES, columns, 22));
  lines.push('', 'Global flags:');
  lines.push(...rows(GLOBAL_FLAGS.map((f) => [flagLabel(f), f.description]), columns, 28));
  // One command to a line, so that a narrow terminal never splits one.
  lines.push('', ...wrapText('Run `certwright COMMAND --help` for a command\'s flags and examples.', columns), ...wrapText('Run `certwright --version --verbose` for the version and the Node it runs on.', columns));
  return lines.join('\n');
}

function flagLabel(f: FlagSpec): string {
  return `--${f.name}${f.value ? ` ${f.value}` : ''}`;
}

export function commandHelp(spec: CommandSpec, columns = helpWidth()): string {
  const lines = [...wrapText(`Usage: certwright ${spec.usage}`, columns, '', '    '), '', ...wrapText(spec.summary, columns), '', 'Flags:'];
  lines.push(
    ...rows(
      spec.flags.map((f) => {
        const env = envVarFor(f, spec.name);
        return [flagLabel(f), `${f.description}${env ? ` [${env}]` : ''}`];
      }),
      columns,
      30,
    ),
  );
  const examples = spec.examples ?? EXAMPLES[spec.name] ?? [];
  if (examples.length) {
    lines.push('', 'Examples:');
    for (const [what, command] of examples) lines.push(...wrapText(what, columns, '  ', '  '), ...wrapCommand(`$ ${command}`, columns, '    '), '');
    lines.pop();
  }
  lines.push('', 'Global flags:');
  lines.push(...rows(GLOBAL_FLAGS.map((f) => [flagLabel(f), f.description]), columns, 30));
  return lines.join('\n');
}

/** The command is the leading words before any flag: `root create --env x`, `lab`, or none. */
function resolveCommand(argv: string[]): { key: string; rest: string[] } | undefined {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') || words.length === 2) break;
    words.push(a);
  }
  if (words.length === 2 && COMMANDS[`${words[0]} ${words[1]}`]) return { key: `${words[0]} ${words[1]}`, rest: argv.slice(2) };
  if (words.length >= 1 && COMMANDS[words[0]!]) return { key: words[0]!, rest: argv.slice(1) };
  // `certwright root` alone: the word starts commands of its own; name them.
  const under = Object.keys(COMMANDS).filter((c) => c.startsWith(`${words[0]} `));
  if (words.length >= 1 && under.length) {
    throw new UsageError(`"${words[0]}" needs a subcommand: ${under.join(', ')}.`, `Run \`certwright ${under[0]} --help\` to see its flags and examples.`);
  }
  if (words.length >= 1) throw new UsageError(`"${words.join(' ')}" is not a certwright command.`, 'Run `certwright --help` to see the commands.');
  return undefined;
}

/**
 * Flags that were renamed, old spelling -> new. `build-cert --env-file` became --env-out because
 * Node 20 itself reads --env-file anywhere on its command line: it loads an existing FILE into the
 * environment (certwright still sees the flag, and says so here) and exits 9 before certwright
 * starts when FILE does not exist yet. No other certwright flag is a name Node parses.
 */
const RENAMED_FLAGS: Record<string, { to: string; why: string }> = {
  'env-file': { to: 'env-out', why: 'Node itself reads --env-file anywhere on its command line (it loads that file into the environment, or exits when it does not exist)' },
};

export function parseFlags(spec: CommandSpec | undefined, args: string[], environ: NodeJS.ProcessEnv = process.env): { flags: Flags; positionals: string[] } {
  const specs = [...GLOBAL_FLAGS, ...(spec ? scopedFlags(spec.name, spec.flags) : [])];
  for (const arg of args) {
    if (arg === '--') break;
    const name = /^--([^=]+)/.exec(arg)?.[1];
    const renamed = name ? RENAMED_FLAGS[name] : undefined;
    if (renamed && !specs.some((f) => f.name === name)) {
      throw new UsageError(`--${name} was renamed --${renamed.to}: ${renamed.why}.`, `Pass --${renamed.to} FILE instead${spec ? ` (\`certwright ${spec.name} --help\`)` : ''}.`);
    }
  }
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of specs) options[f.name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '');
    throw new UsageError(message, spec ? `Run \`certwright ${spec.name} --help\` to see its flags.` : 'Run `certwright --help`.');
  }
  const values: FlagValues = { ...(parsed.values as FlagValues) };
  for (const f of specs) {
    if (values[f.name] !== undefined) continue;
    const env = envVarFor(f);
    const fromEnv = env ? environ[env] : undefined;
    if (fromEnv === undefined || fromEnv === '') continue;
    if (f.type === 'boolean') values[f.name] = /^(1|true|yes)$/i.test(fromEnv);
    else values[f.name] = f.multiple ? fromEnv.split(',') : fromEnv;
  }
  return { flags: new Flags(values, specs), positionals: parsed.positionals };
}

let signalsInstalled = false;
function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // Exit handlers remove temp files, release the lock and stop child servers; state is only
      // ever written whole. (SIGHUP: the terminal or SSH session went away.)
      process.stderr.write(`\nInterrupted (${signal}). Nothing half-written was left; run the same command again to resume.\n`);
      process.exit(codes[signal]);
    });
  }
}

/**
 * `--version --verbose`: certwright's version and the runtime it runs on, so an operator can check
 * at the ceremony machine which Node (and OpenSSL) the executable carries. Built-ins only through
 * process.getBuiltinModule: no import, so plain `--version` stays one tiny module, and it works
 * inside the single executable too (whose script may require built-ins only).
 */
export function versionText(verbose: boolean): string {
  if (!verbose) return `${VERSION}\n`;
  const builtin = (id: string): Record<string, unknown> | undefined => (process.getBuiltinModule?.(id) as Record<string, unknown> | undefined) ?? undefined;
  let sea = false;
  try {
    sea = (builtin('node:sea')?.isSea as (() => boolean) | undefined)?.() ?? false;
  } catch {
    sea = false;
  }
  const cacheDir = (builtin('node:module')?.getCompileCacheDir as (() => string | undefined) | undefined)?.();
  return [
    `certwright ${VERSION}`,
    `node ${process.version} (${process.platform}-${process.arch}, V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`,
    `runtime: ${sea ? 'single executable, Node built in' : process.execPath}`,
    `compile cache: ${cacheDir ?? 'off'}`,
  ].join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    const rest = argv.slice(1);
    const unknown = rest.find((a) => a !== '--verbose');
    if (unknown !== undefined) {
      process.stderr.write(`${formatError(new UsageError(`Unknown option '${unknown}' for --version.`, 'Use `certwright --version` or `certwright --version --verbose`.'))}\n`);
      return 2;
    }
    process.stdout.write(versionText(rest.includes('--verbose')));
    return 0;
  }
  const debug = process.env.CERTWRIGHT_DEBUG === '1';
  try {
    let resolved = resolveCommand(argv);
    if (!resolved) {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`${helpText()}\n`);
        return 0;
      }
      resolved = { key: 'wizard', rest: argv };
    }
    const { command } = await COMMANDS[resolved.key]!();
    const { flags, positionals } = parseFlags(command, resolved.rest);
    if (flags.bool('help')) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    installSignalHandlers();
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const stateDir = flags.string('state-dir');
    const ctx: CommandContext = { flags, positionals, home: stateDir ? { stateDir } : {}, tty, plain: flags.bool('plain') };
    return await command.run(ctx);
  } catch (thrown) {
    const error = explainSystemError(thrown);
    process.stderr.write(`${formatError(error, debug)}\n`);
    return exitCodeOf(error);
  }
}

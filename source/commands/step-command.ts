import type { CommandContext, CommandSpec } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { Cancelled, OperatorError, UsageError } from '../errors.js';
import { cliReporter, columnsOf, formatPlan, printJson } from '../output.js';
import { parsePassphrase } from '../pki/keys.js';
import { readPrivateFile } from '../system/secrets.js';
import { runStep, type PlanView } from '../steps/run.js';
import type { Interaction, StepDefinition, StepInput } from '../steps/step.js';
import type { Flags } from '../flags.js';

/**
 * A step as a CLI command: its inputs are the flags (with their defaults shown in help), and
 * `run` hands them to the one step runner. No command enforces --dry-run itself.
 */
export function commandFor(step: StepDefinition): CommandSpec {
  return {
    name: step.command,
    summary: step.summary,
    usage: step.usage,
    flags: step.inputs.map(flagOf),
    ...(step.examples ? { examples: step.examples } : {}),
    run: (ctx) => runStepCommand(step, ctx),
  };
}

function flagOf(input: StepInput): FlagSpec {
  const shown = input.defaultText ?? input.default;
  const description = shown !== undefined && !/\(default/.test(input.description) ? `${input.description} (default: ${shown === '' ? 'none' : shown})` : input.description;
  const { default: _d, defaultText: _t, suggest: _s, required: _r, ...flag } = input;
  return { ...flag, description };
}

export async function runStepCommand(step: StepDefinition, ctx: CommandContext): Promise<number> {
  const json = ctx.flags.bool('json');
  for (const input of step.inputs) {
    if (input.required === undefined) continue;
    const v = ctx.flags.values[input.name];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) ctx.flags.require(input.name, input.required === true ? undefined : input.required);
  }
  // Entries before the run, to tell whether this run added a ceremony action (offline steps, and the one-go forms that sign).
  const transcriptBefore = await transcriptCount(step, ctx);
  const outcome = await runStep(step, {
    values: ctx.flags.values,
    positionals: ctx.positionals,
    home: ctx.home,
    report: cliReporter({ quiet: json }),
    interact: cliInteraction(ctx.flags, ctx.tty),
    dryRun: ctx.flags.bool('dry-run'),
    tty: ctx.tty,
  }, cliPlanView);
  if (outcome.status !== 'applied') return 0;
  if (json) printJson(step.json ? step.json(outcome.result, outcome.input) : outcome.result);
  else {
    const text = await step.present(outcome.result, outcome.input, outcome.run);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    // A step that opened the root was a ceremony: close it with the transcript's head for the witnesses.
    if (outcome.run.hasSession && transcriptBefore !== undefined) {
      const line = (await import('../ceremony/head.js')).ceremonyHeadLine(outcome.run.session.paths.transcript, transcriptBefore);
      if (line) process.stdout.write(`${line}\n`);
    }
  }
  return step.exitCode ? step.exitCode(outcome.result) : 0;
}

async function transcriptCount(step: StepDefinition, ctx: CommandContext): Promise<number | undefined> {
  if (!step.mutates || ctx.flags.bool('dry-run')) return undefined;
  const env = ctx.flags.string('env');
  if (!env) return step.where === 'offline' ? 0 : undefined;
  try {
    const [{ envPaths }, { transcriptLength }] = await Promise.all([import('../paths.js'), import('../ceremony/head.js')]);
    return transcriptLength(envPaths(env, ctx.home).transcript);
  } catch {
    return undefined;
  }
}

export const cliPlanView: PlanView = {
  plan: (title, plan) => process.stderr.write(`${formatPlan(title, plan, columnsOf(process.stderr))}\n`),
  dryRun: () => process.stderr.write('Dry run: nothing was changed.\n'),
};

/**
 * The CLI's answers to a step's questions: --passphrase-file, else hidden prompts in a terminal;
 * typed confirmations in a terminal even with --yes; unseal shares typed hidden.
 */
export function cliInteraction(flags: Flags, tty: boolean): Interaction {
  // --share files are given in order, then (in a terminal) custodians type theirs in turn.
  const shareFiles = flags.list('share');
  let nextShareFile = 0;
  return {
    async passphrase(purpose) {
      if (purpose === 'open' && shareFiles.length > 0) {
        throw new UsageError('This root opens with one passphrase, not with shares: --share is for a root created with --custodians.', 'Pass --passphrase-file FILE (or type the passphrase in a terminal) and leave out --share.');
      }
      const file = flags.string('passphrase-file');
      const minLength = purpose === 'new' ? 12 : 1;
      if (file) return parsePassphrase(await readPrivateFile(file, '--passphrase-file'), file, { minLength });
      if (!tty) {
        throw new UsageError('--passphrase-file is required when no terminal is attached.', 'Pass --passphrase-file FILE (a file only you can read: `install -m 0600 /dev/null FILE`, then write the passphrase into it) or run in a terminal to type it.');
      }
      const { password } = await import('@inquirer/prompts');
      const first = await password({ message: purpose === 'new' ? `New root key passphrase (at least ${minLength} characters):` : 'Root key passphrase:', mask: '*' }).catch(() => {
        throw new Cancelled();
      });
      if (purpose === 'new') {
        const second = await password({ message: 'Type it again:', mask: '*' }).catch(() => {
          throw new Cancelled();
        });
        if (first !== second) throw new OperatorError('The two passphrases differ.', 'Run the command again and type the same passphrase twice.');
      }
      return parsePassphrase(Buffer.from(first, 'utf8'), 'the typed passphrase', { minLength });
    },
    async confirmName(expected, what, kind = 'CA name') {
      if (!tty) return;
      const { input } = await import('@inquirer/prompts');
      const typed = await input({ message: `Type the ${kind} "${expected}" to ${what}:` }).catch(() => {
        throw new Cancelled();
      });
      if (typed.trim() !== expected) throw new Cancelled(`The name typed does not match "${expected}". Nothing was changed.`);
    },
    async rootShare(request) {
      const { custody } = request;
      if (flags.string('passphrase-file')) {
        throw new UsageError(`This root is held by ${custody.threshold} of ${custody.custodians} custodians: it opens with their shares, not with --passphrase-file.`, `Pass --share FILE for ${custody.threshold} custodians (repeat --share), or run in a terminal and have them type their shares.`);
      }
      if (nextShareFile < shareFiles.length) {
        const file = shareFiles[nextShareFile++]!;
        const bytes = await readPrivateFile(file, '--share');
        const text = bytes.toString('utf8');
        bytes.fill(0);
        return { text, source: file };
      }
      if (!tty || request.optional) return undefined;
      const { password } = await import('@inquirer/prompts');
      const source = `the share typed for custodian ${request.given.length + 1} of ${custody.threshold}`;
      const typed = await password({
        message: `Custodian ${request.given.length + 1} of ${custody.threshold}: type your share's groups (nothing is shown; Enter when done, empty to stop)${request.given.length ? ` [given: share ${request.given.join(', ')}]` : ''}:`,
        validate: async (v) => (v.trim() === '' ? true : ((await request.check(v, 'the typed share')) ?? true)),
      }).catch(() => {
        throw new Cancelled();
      });
      return typed.trim() === '' ? undefined : { text: typed, source };
    },
    async showShare(share) {
      if (!tty) throw new UsageError('--show-shares needs a terminal: each share is shown to its custodian alone, then cleared.', 'Run root create in a terminal, or leave out --show-shares and hand out the share files.');
      await showShareInTerminal(share);
    },
    async unsealShare(status) {
      if (!tty) return undefined;
      const { password } = await import('@inquirer/prompts');
      const share = await password({ message: `Unseal key share (${status.progress} of ${status.t} given; input hidden, empty to stop):` }).catch(() => {
        throw new Cancelled();
      });
      return share.trim() === '' ? undefined : share;
    },
  };
}

/** --dry-run asked for: `apply --file` turns it into `plan --file` (the step runner stays the one place that enforces it per step). */
export function dryRunRequested(flags: Flags): boolean {
  return flags.bool('dry-run');
}

/**
 * One new share shown to its custodian on this terminal (stderr): Enter to show, Enter to clear the
 * screen and its scrollback before the next custodian. The CLI and the --plain wizard use it.
 */
export async function showShareInTerminal(share: { custodian: string; index: number; custodians: number; threshold: number; groups: string }): Promise<void> {
  const { input } = await import('@inquirer/prompts');
  const wait = (message: string) =>
    input({ message }).catch(() => {
      throw new Cancelled();
    });
  await wait(`Custodian "${share.custodian}" (share ${share.index} of ${share.custodians}): everyone else look away, then press Enter to show the share.`);
  process.stderr.write(`\nShare ${share.index} of ${share.custodians} for ${share.custodian} (any ${share.threshold} open the root). Write every group down; the last character of each is its check:\n\n${share.groups}\n\n`);
  await wait('Written down? Press Enter to clear the screen.');
  // Clear the screen and its scrollback so the next custodian does not see this share.
  process.stderr.write('\x1b[2J\x1b[3J\x1b[H');
}

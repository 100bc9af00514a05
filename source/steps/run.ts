import os from 'node:os';
import { Flags, type FlagValues } from '../flags.js';
import type { HomeOptions } from '../paths.js';
import { validateEnvName } from '../paths.js';
import { UsageError, ExternalError } from '../errors.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { failed, type Check } from '../pki/checks.js';
import { checkInputText } from './inputs.js';
// The state store (conf) loads only for steps that open an environment: build-cert stays light.
import type { BreakLock, EnvSession, Plan, Reporter } from './context.js';
const sessions = async () => (await import('./context.js')).EnvSession;
import type { Interaction, StepDefinition, StepRun } from './step.js';

/**
 * The one place a step is run. Whoever asks (a CLI command, a wizard screen, `apply --file`),
 * the same order holds: parse every input, open the environment (lock), plan, show the plan,
 * stop there on --dry-run, apply, verify afresh. A dry run opens the environment read-only: its
 * session refuses to write state, and apply is never reached.
 */

/** How the plan and the dry-run notice reach the person (stderr for the CLI, a frame in the wizard). */
export interface PlanView {
  plan(title: string, plan: Plan): void;
  dryRun(): void;
}

export interface RunOptions {
  values: FlagValues;
  positionals?: string[];
  home: HomeOptions;
  report: Reporter;
  interact: Interaction;
  dryRun: boolean;
  tty: boolean;
  /** What the lock says is running ("root create", "wizard: root create"). */
  command?: string;
}

export type StepOutcome<R> = { status: 'planned'; plan: Plan } | { status: 'applied'; plan: Plan; result: R; checks: Check[] };

/** The step's inputs with their defaults filled in, as Flags (the global flags come along). */
export function stepFlags(step: StepDefinition, values: FlagValues, specs = step.inputs): Flags {
  const merged: FlagValues = { ...values };
  for (const input of step.inputs) {
    if (merged[input.name] === undefined && input.default !== undefined) merged[input.name] = input.multiple ? [input.default] : input.default;
  }
  return new Flags(merged, specs);
}

class Run implements StepRun {
  constructor(
    readonly flags: Flags,
    readonly positionals: string[],
    readonly home: HomeOptions,
    readonly env: string | undefined,
    private opened: EnvSession | undefined,
    readonly report: Reporter,
    readonly interact: Interaction,
    readonly dryRun: boolean,
    readonly tty: boolean,
    private readonly breakLock: BreakLock | undefined,
  ) {}

  get session(): EnvSession {
    if (!this.opened) throw new UsageError('--env is required (each environment has its own state, root and mounts).', 'Pass --env E or set CERTWRIGHT_ENV.');
    return this.opened;
  }

  get hasSession(): boolean {
    return this.opened !== undefined;
  }

  /**
   * Before apply: an environment that did not exist was opened read-only (so that a refused input
   * leaves no trace); now it is created and locked for real.
   */
  async materialise(command: string): Promise<void> {
    if (this.opened && this.opened.readOnly && !this.dryRun) {
      this.opened = await (await sessions()).open(this.opened.env, this.home, command, { breakLock: this.breakLock });
    }
  }

  vault(options: { requireToken?: boolean } = {}): VaultClient {
    const state = this.opened?.state;
    return new VaultClient(
      resolveConnection({
        vaultAddr: this.flags.string('vault-addr'),
        vaultCa: this.flags.string('vault-ca'),
        stateAddr: state?.vault?.addr,
        stateCa: state?.vault?.caFile,
        stateNodes: state?.vault?.nodes,
        ...(options.requireToken === undefined ? {} : { requireToken: options.requireToken }),
      }),
    );
  }

  close(): void {
    this.opened?.close();
  }
}

/**
 * --break-lock: a lock naming another host is taken over only when asked for, after the operator
 * types that host's name in a terminal. A lock of a live PID on this host is never broken.
 */
function breakLockFor(flags: Flags, options: RunOptions): BreakLock | undefined {
  if (!flags.bool('break-lock')) return undefined;
  return async (holder) => {
    await options.interact.confirmName(holder.host, `break the lock of PID ${holder.pid} on it ("${holder.command}", since ${holder.since})`, 'host name');
    options.report.warn(`Breaking the lock of PID ${holder.pid} on host ${holder.host} ("${holder.command}", since ${holder.since}) as --break-lock asks.`);
  };
}

async function openRun(step: StepDefinition, options: RunOptions): Promise<Run> {
  // Before anything: no value with a control character reaches a step (parse, plan or a file).
  checkInputText(options.values, step.inputs, options.positionals);
  const flags = stepFlags(step, options.values);
  const given = flags.string('env');
  let env = given === undefined || given === '' ? undefined : validateEnvName(given);
  if (env === undefined && step.envFrom) env = await step.envFrom({ flags, home: options.home });
  if (env === undefined && step.session === 'required') {
    throw new UsageError('--env is required (each environment has its own state, root and mounts).', 'Pass --env E or set CERTWRIGHT_ENV.');
  }
  const breakLock = breakLockFor(flags, options);
  const session = env !== undefined && step.session !== 'none' ? await (await sessions()).open(env, options.home, options.command ?? step.command, { dryRun: options.dryRun, lazy: true, breakLock }) : undefined;
  return new Run(flags, options.positionals ?? [], options.home, env, session, options.report, options.interact, options.dryRun, options.tty, breakLock);
}

/**
 * Runs one step: parse, plan, show, (dry run: stop), apply, verify. `confirm` is asked after the
 * plan is shown and before apply; returning false stops without changing anything.
 */
export async function runStep<I, P extends Plan, R>(
  step: StepDefinition<I, P, R>,
  options: RunOptions,
  view: PlanView,
  confirm: (plan: P) => Promise<boolean> = async () => true,
): Promise<StepOutcome<R> & { input: I; run: StepRun }> {
  const run = await openRun(step, options);
  try {
    const recovered = run.hasSession ? run.session.recoveredLock : undefined;
    if (recovered && recovered.host === os.hostname()) run.report.warn(`Recovered the lock of a run that died (PID ${recovered.pid}, "${recovered.command}"); resuming.`);
    if (run.hasSession && run.session.recoveredDamagedLock) run.report.warn('Recovered an empty or damaged lock file (left by a full disk or a run killed while taking it); resuming.');
    const input = await step.parse(run);
    const plan = await step.plan(run, input);
    view.plan(step.planTitle?.(input) ?? step.title, plan);
    if (options.dryRun && step.mutates) {
      view.dryRun();
      return { status: 'planned', plan, input, run };
    }
    if (!(await confirm(plan))) return { status: 'planned', plan, input, run };
    await run.materialise(options.command ?? step.command);
    const result = await step.apply(run, input, plan);
    const checks = step.verify ? await step.verify(run, input, result) : [];
    const bad = failed(checks);
    if (bad.length > 0) {
      throw new ExternalError(
        `${step.title}: applied, but the check afterwards failed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}.`,
        `Look at what the check names, then run \`certwright ${step.command}\` again; it is safe to re-run.`,
      );
    }
    return { status: 'applied', plan, result, checks, input, run };
  } finally {
    run.close();
  }
}

/**
 * The plan alone, for a screen that shows it before asking (the wizard). Same parse and plan as
 * runStep; the environment is opened read-only and closed again.
 */
export async function planStep<I, P extends Plan, R>(step: StepDefinition<I, P, R>, options: Omit<RunOptions, 'dryRun'>): Promise<{ input: I; plan: P }> {
  const run = await openRun(step, { ...options, dryRun: true });
  try {
    const input = await step.parse(run);
    return { input, plan: await step.plan(run, input) };
  } finally {
    run.close();
  }
}

/** Re-verifies a step from the world (resume, the wizard's overview), read-only. */
export async function verifyStep(step: StepDefinition, options: Omit<RunOptions, 'dryRun'>): Promise<Check[]> {
  if (!step.verify) return [];
  const run = await openRun(step, { ...options, dryRun: true });
  try {
    const input = await step.parse(run);
    return await step.verify(run, input, undefined);
  } finally {
    run.close();
  }
}

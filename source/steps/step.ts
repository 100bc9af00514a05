import type { FlagSpec, Flags } from '../flags.js';
import type { HomeOptions } from '../paths.js';
import type { EnvState } from '../../state/schema.js';
import type { Check } from '../pki/checks.js';
import type { VaultClient } from '../vault/client.js';
import type { SealStatus } from '../vault/pki.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import type { ShareRequest } from './root-unlock.js';

/**
 * The step contract. A pipeline step is one value: its id, its inputs with their defaults, and
 * plan / apply / verify. The CLI maps flags to inputs, the wizard maps answers to inputs and the
 * estate file maps its fields to inputs; all of them then run the step through `run.ts`, which
 * owns --dry-run, the lock, the plan display and the verify after apply.
 *
 * Definitions are cheap to import (no certificate libraries, no React): the work itself lives in
 * the step's implementation module, which the definition imports when plan or apply first runs.
 */

/** One input of a step. Its name is the CLI flag; the estate file uses the same name in snake_case. */
export interface StepInput extends FlagSpec {
  /** The default, in the form a flag would carry it. The one place it is defined. */
  default?: string;
  /** How help and the wizard describe a default that is not a literal ("unlimited", "the role's"). */
  defaultText?: string;
  /**
   * A value the wizard offers where the CLI insists on being told (a CA name, a directory):
   * the wizard pre-fills it, the CLI still requires the flag.
   */
  suggest?: (ctx: DefaultContext) => string | undefined;
  /** Required on the command line; the text says what it is for. */
  required?: string | true;
}

export interface DefaultContext {
  env: string;
  home: HomeOptions;
  state?: EnvState | undefined;
}

/** What a step asks of the person running it. The CLI, the wizard and `apply --file` each give one. */
export interface Interaction {
  /** The root key's passphrase: a new one (asked twice) or one that opens an existing key. */
  passphrase(purpose: 'new' | 'open'): Promise<Buffer>;
  /**
   * Type-to-confirm for ceremony actions. Throws Cancelled when the name typed differs. `kind` is
   * what is typed ("CA name" when absent, "host name" to break a lock).
   */
  confirmName(expected: string, what: string, kind?: string): Promise<void>;
  /** The next unseal key share, or undefined when there are no more. */
  unsealShare(status: SealStatus): Promise<string | undefined>;
  /**
   * The next custodian's share of a root under M-of-N custody (a file's text or typed groups, and
   * where it came from), or undefined when no more can be had. Typed shares are never echoed.
   */
  rootShare(request: ShareRequest): Promise<{ text: string; source: string } | undefined>;
  /** Shows one new share once, as typeable groups, to its custodian alone (root create --show-shares). */
  showShare(share: { custodian: string; index: number; custodians: number; threshold: number; groups: string }): Promise<void>;
}

/** What a step gets while it runs. */
export interface StepRun {
  /** The step's inputs (defaults applied) and the global flags. */
  readonly flags: Flags;
  readonly positionals: string[];
  readonly home: HomeOptions;
  /** The environment, when one is known. */
  readonly env: string | undefined;
  /** The environment's session (lock held). Throws for a step that runs without one. */
  readonly session: EnvSession;
  readonly hasSession: boolean;
  /** The Vault client by the one connection rule: flags, then BAO_/VAULT_, then state. */
  vault(options?: { requireToken?: boolean }): VaultClient;
  readonly report: Reporter;
  readonly interact: Interaction;
  /** A plan-only run: apply is never called, state is never written. */
  readonly dryRun: boolean;
  /** stdin and stdout are terminals. */
  readonly tty: boolean;
}

export type Where = 'online' | 'offline' | 'anywhere';

export interface StepDefinition<I = any, P extends Plan = Plan, R = any> {
  /** kebab-case, the same in flags, state records, screen titles and docs. */
  id: string;
  /** The CLI command that runs it ("root create", "vault-cert"). */
  command: string;
  /** Screen title. */
  title: string;
  summary: string;
  usage: string;
  /** Shown under EXAMPLES in the command's help: what each does, then the command line. */
  examples?: Array<[string, string]>;
  /** Changes Vault, files or state when applied. Every such step is in the dry-run walk. */
  mutates: boolean;
  /** Which side of the air gap it runs on. */
  where: Where;
  /** required: --env is needed and the environment is locked for the run; optional: when known. */
  session: 'required' | 'optional' | 'none';
  inputs: StepInput[];
  /** Reads and validates every input before any work: a bad input never leaves a trace. */
  parse(run: StepRun): I | Promise<I>;
  /** Reads the world; returns what apply would change. Never writes anything. */
  plan(run: StepRun, input: I): Promise<P>;
  /** Does exactly what the plan said; safe to run again. */
  apply(run: StepRun, input: I, plan: P): Promise<R>;
  /** Reads the world afresh after apply (and on resume) and returns named checks. */
  verify?(run: StepRun, input: I, result: R | undefined): Promise<Check[]>;
  /**
   * Checks of a recorded step that, failing, mean "run it again" rather than drift: the step's
   * own plan restores them (a stopped server is started again). Names of checks.
   */
  rerunOn?: string[];
  /** The plan's title line ("intermediate request for pki_int"). */
  planTitle?(input: I): string;
  /** What the CLI prints on stdout after apply (without --json). */
  present(result: R, input: I, run: StepRun): string | Promise<string>;
  /** The --json document; the result itself when absent. */
  json?(result: R, input: I): unknown;
  /** Exit code after a completed apply (a per-user failure in distribute-ca, say). */
  exitCode?(result: R): number;
  /** For a step that may need the environment from its inputs (intermediate sign: the root's). */
  envFrom?(run: Pick<StepRun, 'flags' | 'home'>): Promise<string | undefined>;
}

export function defineStep<I, P extends Plan, R>(definition: StepDefinition<I, P, R>): StepDefinition<I, P, R> {
  return definition;
}

/** The defaults the wizard and help show: literal defaults, then suggestions. */
export function defaultsFor(step: StepDefinition, ctx: DefaultContext): Record<string, string> {
  const values: Record<string, string> = {};
  for (const input of step.inputs) {
    const value = input.default ?? input.suggest?.(ctx);
    if (value !== undefined) values[input.name] = value;
  }
  return values;
}

export function inputNamed(step: StepDefinition, name: string): StepInput {
  const found = step.inputs.find((i) => i.name === name);
  if (!found) throw new Error(`step ${step.id} has no input ${name}`);
  return found;
}

/** The default of one input, the one place it is defined. */
export function defaultOf(step: StepDefinition, name: string): string | undefined {
  return inputNamed(step, name).default;
}

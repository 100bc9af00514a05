import type { HomeOptions } from '../paths.js';
import { ceremonyHeadLines, transcriptLength } from '../ceremony/head.js';
import type { FlagValues } from '../flags.js';
import type { Plan, Reporter } from '../steps/context.js';
import type { Interaction, StepDefinition } from '../steps/step.js';
import { planStep, runStep, type PlanView } from '../steps/run.js';
import { Cancelled } from '../errors.js';
import { envPaths } from '../paths.js';
import { StateStore } from '../../state/store.js';
import type { EstateRecorder } from '../estate/record.js';

/** The pipeline as the wizard's overview shows it. */
export type StepState = 'done' | 'pending' | 'todo' | 'drift' | 'unavailable';

export interface PipelineStep {
  id: string;
  title: string;
  state: StepState;
  detail: string;
  /** For a drifted step: what changed, and the ways out the drift screen offers. */
  drift?: Drift | undefined;
}

/** A drifted step as the drift screen shows it: the failed checks and the actions that resolve it. */
export interface Drift {
  changed: Array<{ name: string; detail: string }>;
  /** The step's state records (as `state show` names them), forgotten to redo the step. */
  records: string[];
  /** Whether redoing is offered; a root is restored, never redone. */
  redo: boolean;
  advice: string;
}

/** Answers given as flags when the wizard started; they pre-fill (or skip) its questions. */
export interface WizardDefaults {
  env?: string | undefined;
  outDir?: string | undefined;
  commonName?: string | undefined;
  keyType?: string | undefined;
  ttl?: string | undefined;
  pathLen?: string | undefined;
  passphraseFile?: string | undefined;
  /** --share files of the root's custodians (a root under M-of-N custody). */
  shareFiles?: string[] | undefined;
  /** root create --custodians / --threshold / --custodian-names / --shares-out, pre-answering the custody questions. */
  custodians?: string | undefined;
  threshold?: string | undefined;
  custodianNames?: string | undefined;
  sharesOut?: string | undefined;
  mount?: string | undefined;
  intermediateCn?: string | undefined;
  rootDir?: string | undefined;
  vaultAddr?: string | undefined;
  vaultCa?: string | undefined;
  /** Unseal key shares for the environment's own Vault when vault-https restarts it (the lab's keys file). */
  keyFile?: string | undefined;
  /** The estate file the wizard writes as it runs each step (`--file`; the lab's WORKSPACE/estate.yaml). */
  estateFile?: string | undefined;
}

/**
 * What the wizard's controllers share: where state lives, the start-up answers, the lab, and the
 * two ways a screen runs a registry step (plan it; run it). Screens confirm before apply, so the
 * step runner's own plan display is silent here.
 */
export class WizardHost {
  constructor(
    readonly home: HomeOptions,
    readonly defaults: WizardDefaults,
    readonly lab?: { addr: string; workspace: string },
  ) {}

  /** Writes the estate file as the wizard goes (`--file`). */
  private recorder?: EstateRecorder;

  /**
   * Opens the estate file (`--file`), refusing one of another environment. Loaded only when a file
   * is named, and not before the first paint: the YAML and schema libraries are not small.
   */
  async openRecorder(): Promise<void> {
    if (!this.defaults.estateFile || this.recorder) return;
    const { EstateRecorder } = await import('../estate/record.js');
    const recorder = new EstateRecorder(this.defaults.estateFile);
    recorder.open(this.defaults.env);
    this.recorder = recorder;
  }

  /** Records a step that ran (here, or the lab's vault-server) in the estate file, and says so. */
  async recordStep(step: { id: string }, env: string, values: FlagValues, report: Reporter): Promise<void> {
    await this.openRecorder();
    if (!this.recorder) return;
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const outcome = await this.recorder.record(step.id, this.values(env, values), state);
    if (outcome.written) report.done(`Estate file ${this.recorder.file} updated (${step.id})`);
    else report.info(`Estate file ${this.recorder.file} not written yet: ${outcome.pending}`);
  }

  private values(env: string, values: FlagValues): FlagValues {
    return { env, 'vault-addr': this.defaults.vaultAddr, 'vault-ca': this.defaults.vaultCa, ...values };
  }

  async planStep<I, P extends Plan, R>(step: StepDefinition<I, P, R>, env: string, values: FlagValues): Promise<P> {
    const { plan } = await planStep(step, { values: this.values(env, values), home: this.home, report: silent, interact: noQuestions, tty: true, command: `wizard: plan ${step.command}` });
    return plan;
  }

  async runStep<I, P extends Plan, R>(step: StepDefinition<I, P, R>, env: string, values: FlagValues, report: Reporter, interact: Interaction = noQuestions): Promise<R> {
    const transcript = envPaths(env, this.home).transcript;
    const before = transcriptLength(transcript);
    const outcome = await runStep(step, { values: this.values(env, values), home: this.home, report, interact, dryRun: false, tty: true, command: `wizard: ${step.command}` }, quietView);
    if (outcome.status !== 'applied') throw new Cancelled();
    // The close of a ceremony: the transcript's head, for the witnesses to write down.
    const [title, ...halves] = ceremonyHeadLines(transcript, before);
    if (title) {
      report.done(title);
      for (const half of halves) report.info(half);
    }
    await this.recordStep(step, env, values, report);
    return outcome.result;
  }
}

const silent: Reporter = { info() {}, warn() {}, progress() {}, done() {} };
const quietView: PlanView = { plan() {}, dryRun() {} };

/** The screens ask their questions before a step runs; a step that asks more is a bug here. */
export const noQuestions: Interaction = {
  passphrase: async () => {
    throw new Cancelled('The wizard has no passphrase for this step.');
  },
  confirmName: async () => undefined,
  unsealShare: async () => undefined,
  rootShare: async () => undefined,
  showShare: async () => {
    throw new Cancelled('The wizard shows no shares; run `certwright root create --show-shares` in a terminal.');
  },
};

/** The passphrase a screen collected (and the typed confirmation it already asked). */
export function withPassphrase(passphrase: Buffer): Interaction {
  return { ...noQuestions, passphrase: async () => Buffer.from(passphrase) };
}

/** The custodians' shares a screen collected, one per screen, each already checked there. */
export function withShares(shares: Array<{ text: string; source: string }>): Interaction {
  const queue = [...shares];
  return { ...noQuestions, rootShare: async () => queue.shift() };
}

/** What a screen asks to open the root: its passphrase, or its custodians' shares. */
export type RootSecretAnswer = { passphrase: Buffer } | { shares: Array<{ text: string; source: string }> };

export function withRootSecret(answer: RootSecretAnswer): Interaction {
  return 'passphrase' in answer ? withPassphrase(answer.passphrase) : withShares(answer.shares);
}

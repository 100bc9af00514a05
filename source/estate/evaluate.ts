import fs from 'node:fs';
import { envPaths, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import type { EnvState } from '../../state/schema.js';
import { DriftError, ExternalError } from '../errors.js';
import { failed } from '../pki/checks.js';
import { silentReporter, type Plan } from '../steps/context.js';
import { planStep, verifyStep } from '../steps/run.js';
import type { Interaction, StepDefinition } from '../steps/step.js';
import type { EstateStep } from './steps.js';

/**
 * Where one step of an estate stands, read from the world and never changing it:
 * - done: recorded in state and re-verified by the step's own verify, or (a step without a
 *   record or verify) its plan has nothing to do, or (across the air gap) the files it hands
 *   over are present here;
 * - drifted: recorded, but the check now fails (the world changed since it completed);
 * - todo: its plan has actions;
 * - waiting: it cannot be planned yet because an earlier step is not done (or Vault is not
 *   reachable from here); the reason is kept.
 */
export type StepState = 'done' | 'todo' | 'drifted' | 'waiting';

export interface StepStatus {
  state: StepState;
  /** One line: why done, what drifted, what it waits for. */
  why: string;
  plan?: Plan;
}

export function readState(env: string, home: HomeOptions): EnvState | undefined {
  const paths = envPaths(env, home);
  if (!fs.existsSync(paths.stateFile)) return undefined;
  const store = new StateStore(env, paths.stateFile);
  return store.exists() ? store.read() : undefined;
}

/** Read-only interaction: evaluating never asks for anything. */
const noQuestions: Interaction = {
  passphrase: async () => {
    throw new Error('evaluating a step never asks for a passphrase');
  },
  confirmName: async () => undefined,
  unsealShare: async () => undefined,
  rootShare: async () => {
    throw new Error('evaluating a step never asks for a share');
  },
  showShare: async () => {
    throw new Error('evaluating a step never shows a share');
  },
};

function message(error: unknown): string {
  return (error as Error).message.split('\n')[0]!;
}

/**
 * A step whose check fails while an earlier step is not done yet is judged again after that one:
 * what it reads may be what the earlier step restores (the Vault started again on the address the
 * state names, say). apply re-evaluates each step just before it runs, so a real drift still stops
 * it there, with nothing after it run.
 */
function driftedUnless(earlierPending: boolean, why: string): StepStatus {
  return earlierPending ? { state: 'waiting', why: `judged again once the steps before it are done (now: ${why})` } : { state: 'drifted', why };
}

export interface EvaluateOptions {
  /** An earlier step is not done: a plan that fails here is waiting for it. */
  earlierPending: boolean;
  /** On the offline machine: Vault is never contacted, online steps are judged by what was carried. */
  offline?: boolean;
  /**
   * On the offline machine: a later online step's hand-over is here, so the online steps before
   * it that hand nothing over (starting the Vault, say) were done there too.
   */
  laterHandedOver?: boolean;
}

/** For each step: whether a later online step's carried files are all present (see laterHandedOver). */
export function handedOverAfter(steps: Array<Pick<EstateStep, 'carries'> & { where: string }>): boolean[] {
  return steps.map((_, i) => steps.slice(i + 1).some((s) => s.where === 'online' && s.carries.length > 0 && s.carries.every((f) => fs.existsSync(f))));
}

export async function evaluateStep(step: EstateStep, def: StepDefinition, home: HomeOptions, state: EnvState | undefined, how: EvaluateOptions): Promise<StepStatus> {
  const options = { values: step.values, home, report: silentReporter, interact: noQuestions, tty: false };
  const recorded = step.record !== undefined && state?.steps[step.record]?.status === 'done';
  const carried = step.carries.length > 0 && step.carries.every((f) => fs.existsSync(f));
  const earlierPending = how.earlierPending;
  if (how.offline && def.where === 'online') {
    if (carried) return { state: 'done', why: `done on the online machine: ${step.carries.join(', ')} present` };
    if (step.carries.length === 0 && how.laterHandedOver) return { state: 'done', why: 'done on the online machine (what a later step hands over is present)' };
    return { state: 'waiting', why: 'an online step: not checked on the offline machine' };
  }
  if (recorded && def.verify) {
    try {
      const bad = failed(await verifyStep(def, options));
      const rerun = bad.length > 0 && bad.every((c) => def.rerunOn?.includes(c.name));
      if (bad.length > 0 && !rerun) return driftedUnless(earlierPending, bad.map((c) => `${c.name}: ${c.detail}`).join('; '));
      // Recorded and re-verified is done; its plan is not asked (the root ceremony refuses an
      // existing root, a pending CSR would be offered again for reuse).
      if (!rerun) return { state: 'done', why: 'recorded and re-verified' };
    } catch (error) {
      if (error instanceof DriftError) return driftedUnless(earlierPending, message(error));
      if (error instanceof ExternalError) return { state: 'waiting', why: `cannot be checked from here: ${message(error)}` };
      throw error;
    }
  }
  try {
    const { plan } = await planStep(def, options);
    if (plan.actions.length === 0) return { state: 'done', why: 'nothing to change', plan };
    return { state: 'todo', why: `${plan.actions.length} change(s)`, plan };
  } catch (error) {
    if (error instanceof DriftError) return { state: 'drifted', why: message(error) };
    // The other side of the air gap did this step: what it hands over is here.
    if (carried) return { state: 'done', why: `done across the air gap: ${step.carries.join(', ')} present` };
    if (earlierPending) return { state: 'waiting', why: `waits for the steps before it (${message(error)})` };
    if (error instanceof ExternalError) return { state: 'waiting', why: `cannot be planned from here: ${message(error)}` };
    return { state: 'waiting', why: message(error) };
  }
}

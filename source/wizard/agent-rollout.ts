import fs from 'node:fs';
import path from 'node:path';
import { envPaths } from '../paths.js';
import { StateStore } from '../../state/store.js';
import type { Plan, Reporter } from '../steps/context.js';
import { parseDuration } from '../duration.js';
import { validateWorkloadName, splitNames } from '../steps/inputs.js';
import { agentApp, agentProxy } from '../steps/defs/agent.js';
import { defaultOf } from '../steps/step.js';
import { DEFAULT_MOUNT } from '../defaults.js';
import type { FlagValues } from '../flags.js';
import type { AgentKind } from '../agent/render.js';
import type { AgentRolloutResult } from '../steps/agent-rollout.js';
import type { WizardHost, PipelineStep } from './context.js';

/**
 * What the agent-rollout screens may do: list the agents already set up, plan and apply new ones.
 * The same step code as `certwright agent app|proxy`; the screens never touch Vault or files.
 */
export interface AgentForm {
  kind: AgentKind;
  name: string;
  commonName: string;
  altNames: string;
  ttl: string;
  tlsDir: string;
  caOut: string;
  outDir: string;
  user: string;
}

/** The questions of a new agent, in order, with their labels and the rule each answer follows. */
export type AgentField = 'name' | 'commonName' | 'altNames' | 'ttl' | 'tlsDir' | 'caOut' | 'outDir' | 'user';

export const AGENT_FIELDS: Record<AgentKind, AgentField[]> = {
  app: ['name', 'commonName', 'altNames', 'ttl', 'tlsDir', 'outDir', 'user'],
  proxy: ['name', 'caOut', 'outDir', 'user'],
};
export const AGENT_LABELS: Record<AgentField, string> = {
  name: 'Workload name',
  commonName: 'Main DNS name',
  altNames: 'More names/IPs (comma-separated)',
  ttl: 'Leaf lifetime',
  tlsDir: 'TLS dir of the app',
  caOut: 'Proxy CA chain file',
  outDir: 'Agent dir',
  user: 'Service user (empty: you)',
};
export const AGENT_HINTS: Record<AgentField, string> = {
  name: 'Lower-case letters, digits, - and _ (at most 41), e.g. web.',
  commonName: 'The main DNS name the app serves, e.g. web.example.com.',
  altNames: 'DNS names or IP addresses, comma-separated, or empty.',
  ttl: 'A duration such as 72h, 30d or 1y.',
  tlsDir: 'The app reads current/key.pem and current/fullchain.pem here (swapped together).',
  caOut: 'The file the proxy reads the CA chain from.',
  outDir: 'Agent config, template, systemd unit, role_id and secret_id go here.',
  user: 'The user the agent runs as and who owns the files; empty: you.',
};

export interface AgentSummary {
  kind: AgentKind;
  name: string;
  mount: string;
  unit: string;
  detail: string;
}

export interface PlannedAgent {
  form: AgentForm;
  plan?: Plan;
  error?: { message: string; fix?: string };
}

export interface AppliedAgent {
  form: AgentForm;
  result?: AgentRolloutResult;
  error?: { message: string; fix?: string };
}

function viewError(error: unknown): { message: string; fix?: string } {
  const e = error as { message?: string; fix?: string };
  return e.fix ? { message: e.message ?? String(error), fix: e.fix } : { message: e.message ?? String(error) };
}

function failsWith(check: () => unknown, say: (message: string) => string): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return say((error as Error).message);
  }
}

/** A step's message without the command-line flag it names (`--ttl "0s" is zero` -> `"0s" is zero`). */
export function inWizardWords(message: string): string {
  return message.replace(/--[a-z][a-z-]* (?=")/g, '').replace(/^(.)/, (c) => c.toUpperCase());
}

export class AgentRolloutController {
  constructor(private readonly wizard: WizardHost) {}

  private mountFor(env: string): string {
    const state = new StateStore(env, envPaths(env, this.wizard.home).stateFile).read();
    return this.wizard.defaults.mount ?? Object.keys(state.mounts)[0] ?? DEFAULT_MOUNT;
  }

  /** Agents recorded in the environment's state. */
  list(env: string): AgentSummary[] {
    const state = new StateStore(env, envPaths(env, this.wizard.home).stateFile).read();
    return Object.values(state.steps)
      .filter((s) => /^agent-(app|proxy)-/.test(s.id) && s.status === 'done')
      .map((s) => ({
        kind: s.facts.kind as AgentKind,
        name: String(s.facts.name),
        mount: s.mount ?? '',
        unit: String(s.facts.unit ?? ''),
        detail: s.facts.kind === 'app' ? `${(s.facts.names as string[] | undefined)?.join(', ') ?? ''} -> ${s.facts.tlsDir}` : `CA chain -> ${s.facts.caOut}`,
      }));
  }

  /** The overview line for the pipeline screen. */
  overviewStep(env: string): PipelineStep {
    const agents = this.list(env);
    return {
      id: 'agents',
      title: 'Agents (apps and proxies)',
      state: agents.length ? 'done' : 'todo',
      detail: agents.length ? agents.map((a) => `${a.kind} ${a.name}`).join(', ') : 'no agent set up yet',
    };
  }

  defaults(env: string, kind: AgentKind): AgentForm {
    const base = path.join(envPaths(env, this.wizard.home).dir, 'agents');
    return { kind, name: '', commonName: '', altNames: '', ttl: defaultOf(agentApp, 'ttl')!, tlsDir: '', caOut: '', outDir: base, user: '' };
  }

  /** Fills the paths that depend on the name. */
  withNameDefaults(env: string, form: AgentForm): AgentForm {
    const base = path.join(envPaths(env, this.wizard.home).dir, 'agents');
    return {
      ...form,
      outDir: form.outDir === base || !form.outDir ? path.join(base, `${form.kind}-${form.name}`) : form.outDir,
      tlsDir: form.tlsDir || path.join(base, `${form.name}-tls`),
      caOut: form.caOut || path.join(base, `${form.name}-ca`, 'ca-chain.pem'),
    };
  }

  /**
   * The wizard's checks speak the wizard's words: the answer, what is wrong and the rule, never
   * the CLI flag the same check names on the command line.
   */
  validateName(name: string): string | undefined {
    const rule = 'lower-case letters, digits, - and _ (at most 41 characters), starting with a letter or digit, e.g. web.';
    if (name === '') return `A workload name is needed: ${rule}`;
    return failsWith(() => validateWorkloadName(name), () => `"${name}" is not a workload name: use ${rule}`);
  }

  validateNames(commonName: string, altNames: string): string | undefined {
    if (commonName.trim() === '') return 'The main DNS name is needed, e.g. web.example.com.';
    return failsWith(
      () => splitNames(commonName, altNames.split(',').map((s) => s.trim()).filter(Boolean)),
      (message) => `${inWizardWords(message)} ${altNames ? 'Give DNS names or IP addresses, separated by commas.' : 'Give the main DNS name the app serves, e.g. web.example.com; IP addresses go in the next question.'}`,
    );
  }

  validateTtl(ttl: string): string | undefined {
    return failsWith(() => parseDuration(ttl), (message) => `${inWizardWords(message)} Give a duration such as 72h, 30d or 1y.`);
  }

  /** Why one answer cannot be taken (in the wizard's words, with the rule), or undefined. */
  checkAnswer(form: AgentForm, field: AgentField, value: string): string | undefined {
    if (field === 'name') return this.validateName(value);
    if (field === 'commonName') return this.validateNames(value, '');
    if (field === 'altNames') return this.validateNames(form.commonName, value);
    if (field === 'ttl') return this.validateTtl(value);
    return value === '' && field !== 'user' ? `An answer is needed: ${AGENT_HINTS[field]}` : undefined;
  }

  /** The form as step inputs: the same names as `certwright agent app|proxy` flags. */
  private values(env: string, form: AgentForm): FlagValues {
    return {
      mount: this.mountFor(env),
      name: form.name,
      out: form.outDir,
      ...(form.user ? { user: form.user } : {}),
      ...(form.kind === 'app' ? { 'common-name': form.commonName, 'alt-names': form.altNames, ttl: form.ttl, 'tls-dir': form.tlsDir } : { 'ca-out': form.caOut }),
    };
  }

  /**
   * The lab has no systemd: it runs the agent as a plain process (stopped when the lab ends) and
   * waits for its first render, swapped in by the hook.
   */
  private async startInLab(form: AgentForm, result: AgentRolloutResult, report: Reporter): Promise<void> {
    const [{ startAgentUntilRendered }, { findBao }] = await Promise.all([import('../system/bao-process.js'), import('../system/openbao.js')]);
    const first = form.kind === 'app' ? path.join(form.tlsDir, 'current', 'cert.pem') : form.caOut;
    const started = await startAgentUntilRendered(findBao(), result.outDir, first);
    report.done(`Started bao agent for ${form.kind} ${form.name} (PID ${started.pid}; the lab has no systemd; it stops with the lab)`);
    if (started.rendered) report.done(`First render swapped in: ${first}`);
    else report.warn(`The agent has not rendered ${first} yet; see ${started.log}.`);
  }

  private step(kind: AgentKind) {
    return kind === 'app' ? agentApp : agentProxy;
  }

  /** Plans every queued agent; one agent's error does not hide the others' plans. */
  async plan(env: string, forms: AgentForm[]): Promise<PlannedAgent[]> {
    const out: PlannedAgent[] = [];
    for (const form of forms) {
      try {
        out.push({ form, plan: await this.wizard.planStep(this.step(form.kind), env, this.values(env, form)) });
      } catch (error) {
        out.push({ form, error: viewError(error) });
      }
    }
    return out;
  }

  /** Applies each agent in turn and reports each one's result. */
  async apply(env: string, forms: AgentForm[], report: Reporter): Promise<AppliedAgent[]> {
    const out: AppliedAgent[] = [];
    for (const form of forms) {
      report.progress(`Setting up the agent for ${form.kind} ${form.name}`);
      try {
        const result = await this.wizard.runStep(this.step(form.kind), env, this.values(env, form), report);
        out.push({ form, result });
        report.done(`Agent for ${form.kind} ${form.name} ready`);
        if (this.wizard.lab) await this.startInLab(form, result, report);
      } catch (error) {
        out.push({ form, error: viewError(error) });
        report.warn(`Agent for ${form.kind} ${form.name} failed: ${(error as Error).message}`);
      }
    }
    return out;
  }
}

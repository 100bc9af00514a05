import type { EnvState, StepRecord, Artefact } from './schema.js';
import { stepKey } from './schema.js';

/** Pure state transitions: each returns a new state and never mutates its input. */

export function beginStep(state: EnvState, id: string, mount: string | undefined, now: Date, facts: StepRecord['facts'] = {}): EnvState {
  const key = stepKey(id, mount);
  const existing = state.steps[key];
  const record: StepRecord = {
    id,
    status: 'pending',
    startedAt: existing?.startedAt ?? now.toISOString(),
    ...(mount ? { mount } : {}),
    artefacts: existing?.artefacts ?? [],
    facts: { ...(existing?.facts ?? {}), ...facts },
  };
  return touch({ ...state, steps: { ...state.steps, [key]: record } }, now);
}

export function completeStep(state: EnvState, id: string, mount: string | undefined, now: Date, artefacts: Artefact[], facts: StepRecord['facts'] = {}): EnvState {
  const key = stepKey(id, mount);
  const existing = state.steps[key];
  const record: StepRecord = {
    id,
    status: 'done',
    startedAt: existing?.startedAt ?? now.toISOString(),
    completedAt: now.toISOString(),
    ...(mount ? { mount } : {}),
    artefacts,
    facts: { ...(existing?.facts ?? {}), ...facts },
  };
  return touch({ ...state, steps: { ...state.steps, [key]: record } }, now);
}

export function setVault(state: EnvState, addr: string, caFile: string | undefined, now: Date): EnvState {
  const vault = caFile ? { addr, caFile } : { addr };
  return touch({ ...state, vault }, now);
}

export function setMount(state: EnvState, path: string, fields: { maxTtl?: string; aiaBase?: string }, now: Date): EnvState {
  const current = state.mounts[path] ?? { path };
  return touch({ ...state, mounts: { ...state.mounts, [path]: { ...current, ...fields } } }, now);
}

function touch(state: EnvState, now: Date): EnvState {
  return { ...state, updatedAt: now.toISOString() };
}

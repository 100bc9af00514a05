import path from 'node:path';
import type { EnvState, StepRecord, Artefact } from './schema.js';
import { stepKey } from './schema.js';

/**
 * Pure state transitions: each returns a new state and never mutates its input. Every path they
 * record is absolute (resolved against the directory the command ran in), so `status` or a
 * resume from another directory reads the same files.
 */

/** Facts that are paths by name: keysFile, tlsDir, outDir ... */
const PATH_FACT = /(File|Dir)$/;

function absoluteFacts(facts: StepRecord['facts']): StepRecord['facts'] {
  const out: StepRecord['facts'] = {};
  for (const [key, value] of Object.entries(facts)) out[key] = PATH_FACT.test(key) && typeof value === 'string' && value !== '' ? path.resolve(value) : value;
  return out;
}

function absoluteArtefacts(artefacts: Artefact[]): Artefact[] {
  return artefacts.map((a) => ({ ...a, path: path.resolve(a.path) }));
}

export function beginStep(state: EnvState, id: string, mount: string | undefined, now: Date, facts: StepRecord['facts'] = {}): EnvState {
  const key = stepKey(id, mount);
  const existing = state.steps[key];
  const record: StepRecord = {
    id,
    status: 'pending',
    startedAt: existing?.startedAt ?? now.toISOString(),
    ...(mount ? { mount } : {}),
    artefacts: existing?.artefacts ?? [],
    facts: absoluteFacts({ ...(existing?.facts ?? {}), ...facts }),
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
    artefacts: absoluteArtefacts(artefacts),
    facts: absoluteFacts({ ...(existing?.facts ?? {}), ...facts }),
  };
  return touch({ ...state, steps: { ...state.steps, [key]: record } }, now);
}

/** nodes: every node of a raft cluster, the first being addr: clients fail over along them. */
export function setVault(state: EnvState, addr: string, caFile: string | undefined, now: Date, nodes?: string[]): EnvState {
  const vault = { addr, ...(caFile ? { caFile: path.resolve(caFile) } : {}), ...(nodes && nodes.length > 1 ? { nodes } : {}) };
  return touch({ ...state, vault }, now);
}

export function setMount(state: EnvState, path: string, fields: { maxTtl?: string; aiaBase?: string }, now: Date): EnvState {
  const current = state.mounts[path] ?? { path };
  return touch({ ...state, mounts: { ...state.mounts, [path]: { ...current, ...fields } } }, now);
}

function touch(state: EnvState, now: Date): EnvState {
  return { ...state, updatedAt: now.toISOString() };
}

/** Drops one step's record (state forget): the step is "not done" again; nothing else changes. */
export function forgetStep(state: EnvState, key: string, now: Date): EnvState {
  const { [key]: _gone, ...rest } = state.steps;
  return touch({ ...state, steps: rest }, now);
}

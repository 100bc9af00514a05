import path from 'node:path';
import type { HomeOptions } from '../paths.js';
import { loadStep } from '../steps/index.js';
import type { StepDefinition, Where } from '../steps/step.js';
import { evaluateStep, handedOverAfter, readState, type StepStatus } from './evaluate.js';
import type { Estate } from './load.js';
import { estateSteps, type EstateStep, type MapOptions } from './steps.js';
import { wrapText } from '../text-wrap.js';

/** The estate's steps with their definitions, and the air gaps between them. */
export interface PipelineStep extends EstateStep {
  def: StepDefinition;
  where: Where;
}

export interface AirGap {
  /** Index of the first step after the gap. */
  before: number;
  from: Exclude<Where, 'anywhere'>;
  to: Exclude<Where, 'anywhere'>;
  /** What crosses it: the files the steps on the near side hand over. */
  carry: string[];
}

export async function pipeline(estate: Estate, options: MapOptions): Promise<PipelineStep[]> {
  const steps = estateSteps(estate, options);
  return Promise.all(
    steps.map(async (s) => {
      const def = await loadStep(s.id);
      return { ...s, def, where: def.where };
    }),
  );
}

/** Every change of side (offline <-> online) between consecutive sided steps. */
export function airGaps(steps: PipelineStep[]): AirGap[] {
  const gaps: AirGap[] = [];
  let side: Exclude<Where, 'anywhere'> | undefined;
  let carry: string[] = [];
  steps.forEach((s, i) => {
    if (s.where === 'anywhere') return;
    if (side !== undefined && s.where !== side) {
      gaps.push({ before: i, from: side, to: s.where, carry });
      carry = [];
    }
    side = s.where;
    carry.push(...s.carries);
  });
  return gaps;
}

export async function evaluateAll(estate: Estate, steps: PipelineStep[], home: HomeOptions, offline = false): Promise<StepStatus[]> {
  const state = readState(estate.spec.environment, home);
  const out: StepStatus[] = [];
  const later = handedOverAfter(steps);
  for (const [i, s] of steps.entries()) out.push(await evaluateStep(s, s.def, home, state, { earlierPending: out.some((o) => o.state !== 'done'), offline, laterHandedOver: later[i] }));
  return out;
}

/** A path as the operator finds it next to the estate file. */
export function shown(estate: Estate, file: string): string {
  const rel = path.relative(estate.dir, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : `./${rel}`;
}

const MARK: Record<StepStatus['state'], string> = { done: '✓ done', todo: '• to do', drifted: '✗ drifted', waiting: '◦ to do' };

/** The estate's plan; with `columns` (a terminal's width) each line wraps under itself, nothing cut. */
export function formatEstatePlan(estate: Estate, steps: PipelineStep[], statuses: StepStatus[], oneMachine: boolean, columns?: number): string {
  const gaps = airGaps(steps);
  const lines = [`Estate ${estate.spec.environment} (${estate.file}), ${oneMachine ? 'on one machine (--one-machine)' : 'across the air gap'}:`];
  const width = Math.max(...steps.map((s) => s.key.length));
  steps.forEach((s, i) => {
    const gap = gaps.find((g) => g.before === i);
    if (gap) {
      const carry = gap.carry.length ? `carry ${gap.carry.map((f) => shown(estate, f)).join(', ')}` : 'nothing to carry';
      lines.push(`  ── air gap ${oneMachine ? '(rehearsed on this machine) ' : ''}── ${gap.from} → ${gap.to}: ${carry}`);
    }
    const st = statuses[i]!;
    lines.push(`  ${String(i + 1).padStart(2)}. ${s.key.padEnd(width)}  [${s.where}]  ${MARK[st.state]}${st.state === 'todo' ? '' : `: ${st.why}`}`);
    if (st.state === 'todo' && st.plan) for (const a of st.plan.actions) lines.push(`        - ${a}`);
  });
  if (estate.spec.vault.address !== undefined) lines.push(`  (vault-https, vault-init, vault-unseal: not run; vault.address ${estate.spec.vault.address} is a Vault you run yourself)`);
  const counts = (['done', 'todo', 'waiting', 'drifted'] as const).map((k) => [k, statuses.filter((st) => st.state === k).length] as const);
  const todo = counts[1]![1] + counts[2]![1];
  lines.push(`${steps.length} steps: ${counts[0]![1]} done, ${todo} to do${counts[3]![1] ? `, ${counts[3]![1]} drifted` : ''}.`);
  if (columns === undefined) return lines.join('\n');
  return lines
    .flatMap((line) => {
      const lead = /^ */.exec(line)![0];
      return wrapText(line.slice(lead.length), columns, lead, `${lead}    `);
    })
    .join('\n');
}

import { UsageError } from '../../errors.js';
import { defineStep } from '../step.js';
import { emptyPlan, type Plan } from '../context.js';

/**
 * state-forget — the way out of a drifted step: drops its record from the environment's state, so
 * that the step runs again (a wiped or restored Vault, a lost artefact). It changes nothing else:
 * no key, file or Vault object is touched, and the transcript records what was forgotten.
 * plan reads: the record. apply writes: the state without it, a transcript line.
 */
export const stateForget = defineStep<{ record: string }, Plan, { record: string; forgotten: boolean }>({
  id: 'state-forget',
  command: 'state forget',
  title: 'Forget a step\'s record',
  summary: 'Drops one step\'s record from the environment\'s state so that the step runs again (after a wiped or restored Vault, or a lost artefact). Touches no key, file or Vault object; the transcript records it.',
  usage: 'state forget --env E --record STEP[@MOUNT]',
  mutates: true,
  where: 'anywhere',
  session: 'required',
  inputs: [{ name: 'record', type: 'string', value: 'STEP[@MOUNT]', description: 'the record, as `state show` names it (e.g. intermediate-install@pki_int)', required: true }],
  async parse(run) {
    const record = run.flags.require('record', 'the record to forget, as `state show` names it');
    if (!/^[a-z][a-z0-9-]*(@[A-Za-z0-9_/-]+)?$/.test(record)) throw new UsageError(`--record "${record}" is not a step record name.`, 'Pass it as `certwright state show --env E` lists it, e.g. --record intermediate-install@pki_int.');
    // A step that does not exist is a typo: saying "nothing to forget" would hide it.
    const { STEPS } = await import('../index.js');
    const id = record.split('@')[0]!;
    if (!STEPS.some((s) => s.id === id)) throw new UsageError(`--record "${record}" names no certwright step ("${id}").`, 'Pass the record as `certwright state show --env E` lists it, e.g. --record intermediate-install@pki_int.');
    return { record };
  },
  planTitle: (input) => `forget ${input.record}`,
  async plan(run, input) {
    const plan = emptyPlan();
    const rec = run.session.state.steps[input.record];
    if (!rec) {
      plan.facts.push(['Record', `${input.record}: not in the state of ${run.session.env} (nothing to forget)`]);
      return plan;
    }
    plan.facts.push(['Record', `${input.record} (${rec.status}, ${rec.completedAt ?? rec.startedAt})`], ['Artefacts', rec.artefacts.map((a) => a.path).join(', ') || 'none']);
    plan.actions.push(`Drop the record ${input.record} from the state of ${run.session.env}; the files and Vault objects stay as they are`);
    return plan;
  },
  async apply(run, input) {
    const [{ forgetStep }, { appendTranscript }] = await Promise.all([import('../../../state/transitions.js'), import('../../../state/transcript.js')]);
    const rec = run.session.state.steps[input.record];
    if (!rec) return { record: input.record, forgotten: false };
    run.session.commit(forgetStep(run.session.state, input.record, new Date()));
    appendTranscript(run.session.paths.transcript, 'state-forget', { env: run.session.env, record: input.record, status: rec.status, artefacts: rec.artefacts.map((a) => ({ path: a.path, sha256: a.sha256 })) });
    return { record: input.record, forgotten: true };
  },
  async verify(run, input) {
    return [{ name: 'record gone', ok: run.session.state.steps[input.record] === undefined, detail: input.record }];
  },
  present: (r, _i, run) => (r.forgotten ? `Forgot ${r.record}. Run the step again (certwright plan or the wizard shows it as to do in ${run.session.env}).` : `${r.record} was not recorded; nothing changed.`),
});

import type { CommandSpec } from '../command.js';
import { columnsOf, printJson } from '../output.js';
import { airGaps, evaluateAll, formatEstatePlan, shown } from '../estate/pipeline.js';
import { FILE_FLAG, OFFLINE_FLAG, ONE_MACHINE_FLAG } from './estate-flags.js';
import { openEstate } from './estate-common.js';

/**
 * plan --file: the estate file as registry steps in pipeline order, each done / to do / drifted
 * with what it would change, and where the air gap falls. Reads only: every step is evaluated
 * through the registry's own plan and verify with the environment opened read-only.
 */
export const command: CommandSpec = {
  name: 'plan',
  summary: 'Reads an estate file and prints every step in pipeline order: done, to do (with what it would change) or drifted, and where the air gap falls. Changes nothing.',
  usage: 'plan --file FILE [--one-machine] [--offline] [--json]',
  flags: [FILE_FLAG, ONE_MACHINE_FLAG, OFFLINE_FLAG],
  async run(ctx) {
    const { estate, steps, oneMachine } = await openEstate(ctx);
    const statuses = await evaluateAll(estate, steps, ctx.home, ctx.flags.bool('offline'));
    if (ctx.flags.bool('json')) {
      printJson({
        environment: estate.spec.environment,
        file: estate.absFile,
        oneMachine,
        steps: steps.map((s, i) => ({ step: s.key, id: s.id, where: s.where, state: statuses[i]!.state, why: statuses[i]!.why, actions: statuses[i]!.plan?.actions ?? [] })),
        airGaps: airGaps(steps).map((g) => ({ before: steps[g.before]!.key, from: g.from, to: g.to, carry: g.carry.map((f) => shown(estate, f)) })),
      });
    } else process.stdout.write(`${formatEstatePlan(estate, steps, statuses, oneMachine, columnsOf(process.stdout))}\n`);
    return statuses.some((s) => s.state === 'drifted') ? 4 : 0;
  },
};

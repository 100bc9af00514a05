import type { CommandContext } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { UsageError } from '../errors.js';
import { loadEstate, type Estate } from '../estate/load.js';
import { CEREMONIES, ESTATE_CEREMONIES, type CeremonyId } from '../ceremony/script.js';

export const STEP_FLAG: FlagSpec = { name: 'step', type: 'string', value: 'CEREMONY', description: `one ceremony: ${CEREMONIES.join(', ')} (default: the estate's offline side, ${ESTATE_CEREMONIES.join(' then ')})` };

/** The estate file (validated; the same --env check as plan and apply) and the ceremonies asked for. */
export function openCeremony(ctx: CommandContext): { estate: Estate; ceremonies: CeremonyId[]; whole: boolean } {
  const estate = loadEstate(ctx.flags.require('file', 'the estate file'));
  const env = ctx.flags.string('env');
  if (env !== undefined && env !== '' && env !== estate.spec.environment) {
    throw new UsageError(`--env ${env} differs from the estate file's environment "${estate.spec.environment}".`, 'Drop --env (the file names the environment) or pass the file of that environment.');
  }
  const step = ctx.flags.string('step');
  if (step === undefined) return { estate, ceremonies: ESTATE_CEREMONIES, whole: true };
  if (!(CEREMONIES as readonly string[]).includes(step)) throw new UsageError(`--step "${step}" is not a ceremony.`, `Pass --step ${CEREMONIES.join('|')}, or leave it out for the estate's whole offline side.`);
  return { estate, ceremonies: [step as CeremonyId], whole: false };
}

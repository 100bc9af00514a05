import type { CommandContext } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { UsageError } from '../errors.js';
import { loadEstate, type Estate } from '../estate/load.js';
import { pipeline, type PipelineStep } from '../estate/pipeline.js';

export const FILE_FLAG: FlagSpec = { name: 'file', type: 'string', value: 'FILE', description: 'the estate file (YAML; schema: docs/estate.schema.json)', short: 'f' };
export const OFFLINE_FLAG: FlagSpec = { name: 'offline', type: 'boolean', description: 'this is the offline (ceremony) machine: never contact Vault; online steps count as done when what they hand over is here (default for apply: offline when Vault does not answer)' };
export const ONE_MACHINE_FLAG: FlagSpec = { name: 'one-machine', type: 'boolean', description: 'the whole file on this machine (rehearsal): the one-go intermediate, no stop at the air gap' };

/** Reads and validates the file (nothing runs on a file that does not validate) and maps it to steps. */
export async function openEstate(ctx: CommandContext, extra: { passphraseFile?: string | undefined; shares?: string[] | undefined; keysOut?: string | undefined } = {}): Promise<{ estate: Estate; steps: PipelineStep[]; oneMachine: boolean }> {
  const file = ctx.flags.require('file', 'the estate file');
  const estate = loadEstate(file);
  const env = ctx.flags.string('env');
  if (env !== undefined && env !== '' && env !== estate.spec.environment) {
    throw new UsageError(`--env ${env} differs from the estate file's environment "${estate.spec.environment}".`, 'Drop --env (the file names the environment) or pass the file of that environment.');
  }
  const oneMachine = ctx.flags.bool('one-machine');
  const steps = await pipeline(estate, { oneMachine, passphraseFile: extra.passphraseFile, shares: extra.shares, keysOut: extra.keysOut });
  return { estate, steps, oneMachine };
}

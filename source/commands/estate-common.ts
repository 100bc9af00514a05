import type { CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { loadEstate, type Estate } from '../estate/load.js';
import { pipeline, type PipelineStep } from '../estate/pipeline.js';

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

import type { CommandSpec } from '../command.js';
import { printJson } from '../output.js';
import { buildCeremonyScript, formatCeremonyScript } from '../ceremony/script.js';
import { FILE_FLAG } from './estate-flags.js';
import { STEP_FLAG, openCeremony } from './ceremony-common.js';

/**
 * ceremony script --file: the numbered, reviewable script of the offline ceremony, from the
 * estate file and the files carried in (their fingerprints when they exist). Reads only.
 */
export const command: CommandSpec = {
  name: 'ceremony script',
  summary: 'Prints the numbered script of the offline ceremony (markdown): each action, the inputs carried in with their fingerprints, the outputs, what the transcript must record, and lines for custodians and witnesses. Changes nothing.',
  usage: 'ceremony script --file FILE [--step root|sign-intermediate|root-crl] [--json]',
  flags: [FILE_FLAG, STEP_FLAG],
  async run(ctx) {
    const { estate, ceremonies } = openCeremony(ctx);
    const script = await buildCeremonyScript(estate, ceremonies);
    if (ctx.flags.bool('json')) printJson(script);
    else process.stdout.write(formatCeremonyScript(script));
    return 0;
  },
};

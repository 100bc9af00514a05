import type { CommandSpec } from '../command.js';
import { envPaths } from '../paths.js';
import { verifyTranscript } from '../../state/transcript.js';
import fs from 'node:fs';
import { DriftError, OperatorError } from '../errors.js';
import { requireEnv } from './common.js';

export const command: CommandSpec = {
  name: 'transcript verify',
  summary: 'Checks the ceremony transcript: every entry must carry the SHA-256 of the one before it.',
  usage: 'transcript verify --env E [--file FILE]',
  flags: [{ name: 'file', type: 'string', value: 'FILE', description: 'a transcript carried from another machine' }],
  async run(ctx) {
    const file = ctx.flags.string('file') ?? envPaths(requireEnv(ctx), ctx.home).transcript;
    if (!fs.existsSync(file)) {
      throw new OperatorError(`There is no transcript at ${file}.`, 'Pass the transcript carried from the ceremony with --file, or the --env whose ceremony ran on this machine. A missing transcript is not a verified one.');
    }
    const result = verifyTranscript(file);
    if (result.entries === 0) throw new OperatorError(`The transcript ${file} is empty.`, 'Use the transcript written at the ceremony; an empty file proves nothing.');
    if (!result.ok) throw new DriftError(`The transcript ${file} is broken at entry ${result.brokenAt}: ${result.reason}.`, 'An entry was edited or removed. Compare with the copy kept at the ceremony.');
    process.stdout.write(`${file}: ${result.entries} entries, hash chain intact.\n`);
    return 0;
  },
};

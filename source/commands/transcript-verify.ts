import type { CommandSpec } from '../command.js';
import { envPaths } from '../paths.js';
import { findHead, formatHead, verifyTranscript } from '../../state/transcript.js';
import fs from 'node:fs';
import { DriftError, OperatorError, UsageError } from '../errors.js';
import { requireEnv } from './common.js';

export const command: CommandSpec = {
  name: 'transcript verify',
  summary: 'Checks the ceremony transcript: every entry must carry the SHA-256 of the one before it.',
  usage: 'transcript verify --env E [--file FILE] [--head HASH]',
  flags: [
    { name: 'file', type: 'string', value: 'FILE', description: 'a transcript carried from another machine' },
    { name: 'head', type: 'string', value: 'HASH', description: 'the transcript head the witnesses wrote down at a ceremony (64 hex digits; spaces allowed): this copy must hold that very record' },
  ],
  async run(ctx) {
    const file = ctx.flags.string('file') ?? envPaths(requireEnv(ctx), ctx.home).transcript;
    if (!fs.existsSync(file)) {
      throw new OperatorError(`There is no transcript at ${file}.`, 'Pass the transcript carried from the ceremony with --file, or the --env whose ceremony ran on this machine. A missing transcript is not a verified one.');
    }
    const result = verifyTranscript(file);
    if (result.entries === 0) throw new OperatorError(`The transcript ${file} is empty.`, 'Use the transcript written at the ceremony; an empty file proves nothing.');
    if (!result.ok) throw new DriftError(`The transcript ${file} is broken at entry ${result.brokenAt}: ${result.reason}.`, 'An entry was edited or removed. Compare with the copy kept at the ceremony.');
    const head = ctx.flags.string('head');
    if (head !== undefined) {
      const wanted = head.toLowerCase().replace(/[\s:]/g, '');
      if (!/^[0-9a-f]{64}$/.test(wanted)) throw new UsageError(`--head "${head}" is not a transcript head (64 hex digits).`, 'Pass the head printed at the close of the ceremony, as the witnesses wrote it down (groups of four are fine).');
      const at = findHead(file, wanted);
      if (at === undefined) {
        throw new DriftError(
          `The transcript ${file} does not hold the record whose head is ${formatHead(wanted)}: it was rewritten or truncated after the ceremony.`,
          'Use the copy kept at the ceremony; compare the entries of both with `certwright ceremony verify`.',
        );
      }
      const later = result.entries - at;
      process.stdout.write(`${file}: ${result.entries} entries, hash chain intact; head ${formatHead(wanted)} is entry ${at}, so entries 1..${at} are the record the witnesses saw${later ? ` (${later} later entr${later === 1 ? 'y was' : 'ies were'} added after it)` : ''}.\n`);
      return 0;
    }
    process.stdout.write(`${file}: ${result.entries} entries, hash chain intact.\n`);
    return 0;
  },
};

import path from 'node:path';
import type { CommandSpec } from '../command.js';
import { applyHashdir, planHashdir } from '../steps/hashdir.js';
import { formatPlan, printJson } from '../output.js';

export const command: CommandSpec = {
  name: 'hashdir',
  summary: 'Offline: writes an OpenSSL -CApath directory: each certificate of FILES (bundles are split) as its own PEM file plus a <subject_hash>.N link to it. Idempotent.',
  usage: 'hashdir --out DIR FILES...',
  flags: [{ name: 'out', type: 'string', value: 'DIR', description: 'the hash directory (created when missing)' }],
  async run(ctx) {
    const outDir = path.resolve(ctx.flags.require('out'));
    if (ctx.flags.bool('dry-run')) {
      const plan = await planHashdir(outDir, ctx.positionals);
      process.stderr.write(`${formatPlan(`hash directory ${outDir}`, plan)}\nDry run: nothing was changed.\n`);
      return 0;
    }
    const entries = await applyHashdir(outDir, ctx.positionals);
    if (ctx.flags.bool('json')) printJson({ dir: outDir, entries });
    else {
      for (const e of entries) process.stdout.write(`${e.link} -> ${path.basename(e.file)}  ${e.subject}${e.added ? '' : ' (already there)'}\n`);
      process.stdout.write(`Use it with: openssl verify -CApath ${outDir} ...\n`);
    }
    return 0;
  },
};

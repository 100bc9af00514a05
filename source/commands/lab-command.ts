import type { CommandSpec } from '../command.js';
import { wizardFlags } from '../wizard/launch.js';
import { FILE_FLAG } from './estate-flags.js';

/** `certwright lab`: the command and its flags; the lab itself (source/commands/lab.ts) loads only when it runs. */
export const command: CommandSpec = {
  name: 'lab',
  summary:
    'A throwaway workspace with its own real OpenBao (vault-server: raft storage, not dev mode) and the wizard on --env lab, which writes WORKSPACE/estate.yaml as it goes. --file F rehearses an estate file there; --resume DIR reopens a kept lab. Without a terminal the lab runs until interrupted (--file: rehearses, prints the status, and exits with its code).',
  usage: 'lab [--file ESTATE.yaml | --resume DIR] [--state-dir DIR]',
  flags: [
    ...wizardFlags,
    { ...FILE_FLAG, description: 'rehearse this estate file in the lab: its steps, with lab addresses and workspace paths', env: '' },
    { name: 'resume', type: 'string', value: 'DIR', description: 'reopen a kept lab workspace (the "Workspace:" a lab printed)', env: '' },
  ],
  async run(ctx) {
    const rehearse = ctx.flags.string('file');
    const resume = ctx.flags.string('resume');
    // Said before the lab's modules load and its Vault starts, which takes seconds.
    process.stderr.write(`${resume ? `Reopening the lab in ${resume}` : rehearse ? `Rehearsing ${rehearse} in a new lab` : 'Starting the lab: a throwaway OpenBao (raft storage, not dev mode)'}\n`);
    const { runLab } = await import('./lab.js');
    return runLab(ctx, { rehearse, resume });
  },
};

import type { CommandSpec } from '../command.js';
import { envPaths } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { StateFileError } from '../../state/schema.js';
import { OperatorError } from '../errors.js';
import { requireEnv } from './common.js';

export const command: CommandSpec = {
  name: 'state show',
  summary: 'Prints the environment\'s state file: completed steps, artefacts with SHA-256, Vault address, mounts. It never holds a secret.',
  usage: 'state show --env E',
  flags: [],
  async run(ctx) {
    const env = requireEnv(ctx);
    const paths = envPaths(env, ctx.home);
    let store: StateStore;
    try {
      store = new StateStore(env, paths.stateFile);
    } catch (error) {
      if (error instanceof StateFileError) throw new OperatorError(error.message, error.fix);
      throw error;
    }
    if (!store.exists()) throw new OperatorError(`Environment "${env}" has no state yet (${paths.stateFile}).`, 'Start with `certwright root create --env ' + env + ' ...` or the wizard.');
    try {
      process.stdout.write(`${JSON.stringify(store.read(), null, 2)}\n`);
    } catch (error) {
      if (error instanceof StateFileError) throw new OperatorError(error.message, error.fix);
      throw error;
    }
    return 0;
  },
};

import { validateEnvName } from '../paths.js';
import type { CommandContext } from '../command.js';

export function requireEnv(ctx: CommandContext): string {
  return validateEnvName(ctx.flags.require('env', 'each environment has its own state, root and mounts'));
}

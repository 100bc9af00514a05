import type { Flags, FlagSpec } from './flags.js';
import type { HomeOptions } from './paths.js';

export interface CommandContext {
  flags: Flags;
  positionals: string[];
  home: HomeOptions;
  /** stdin and stdout are terminals: questions may be asked. */
  tty: boolean;
  /** --plain: line prompts (inquirer) instead of the full-screen wizard. */
  plain: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  /** EXAMPLES in help: what each does, then the command line. */
  examples?: Array<[string, string]>;
  run(ctx: CommandContext): Promise<number>;
}

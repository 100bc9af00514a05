import { UsageError } from './errors.js';

/** Every flag once, with its CERTWRIGHT_* environment variable. */
export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  description: string;
  multiple?: boolean;
  short?: string;
  /** Shown in help as the value's name. */
  value?: string;
  /**
   * Environment variable; set to '' for none. Defaults to CERTWRIGHT_<FLAG> for a global flag and
   * to CERTWRIGHT_<COMMAND>_<FLAG> for a command's own flag (`intermediate sign --ttl` reads
   * CERTWRIGHT_INTERMEDIATE_SIGN_TTL), so that one name has one meaning: a variable set for one
   * command never fills the same-named flag of another.
   */
  env?: string;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'env', type: 'string', value: 'ENV', description: 'environment name (test, prod, lab, ...)' },
  { name: 'state-dir', type: 'string', value: 'DIR', description: 'where state lives (default: CERTWRIGHT_HOME or $XDG_CONFIG_HOME/certwright)', env: 'CERTWRIGHT_STATE_DIR' },
  { name: 'vault-addr', type: 'string', value: 'URL', description: 'Vault address (default: BAO_ADDR / VAULT_ADDR / the environment\'s)' },
  { name: 'vault-ca', type: 'string', value: 'FILE', description: 'CA file trusted for Vault\'s HTTPS (default: BAO_CACERT / VAULT_CACERT / the environment\'s root)' },
  { name: 'yes', type: 'boolean', short: 'y', description: 'apply without asking (typed ceremony confirmations are still asked in a TTY)' },
  { name: 'dry-run', type: 'boolean', description: 'show the plan and change nothing' },
  // No environment variable: breaking another host's lock is asked for each time, never set once.
  { name: 'break-lock', type: 'boolean', description: 'take over the environment\'s lock held by a run on another host (typed confirmation in a terminal)', env: '' },
  { name: 'json', type: 'boolean', description: 'print the result as JSON on stdout' },
  { name: 'plain', type: 'boolean', description: 'line-by-line prompts instead of the full-screen wizard' },
  { name: 'help', type: 'boolean', short: 'h', description: 'show help', env: '' },
];

/** The flag's environment variable; `command` scopes a command's own flag (see FlagSpec.env). */
export function envVarFor(flag: FlagSpec, command?: string): string | undefined {
  if (flag.env === '') return undefined;
  if (flag.env) return flag.env;
  const words = command ? [...command.split(' '), flag.name] : [flag.name];
  return `CERTWRIGHT_${words.join('_').toUpperCase().replace(/-/g, '_')}`;
}

/** A command's flags with their scoped variables written in, so help, errors and parsing name the same one. */
export function scopedFlags(command: string, flags: FlagSpec[]): FlagSpec[] {
  return flags.map((f) => ({ ...f, env: envVarFor(f, command) ?? '' }));
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export class Flags {
  constructor(
    readonly values: FlagValues,
    readonly specs: FlagSpec[],
  ) {}

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const v = this.values[name];
    if (Array.isArray(v)) return v;
    if (typeof v === 'string') return [v];
    return [];
  }

  /** Comma-separated list flag: "a,b, c" -> [a, b, c]. */
  csv(name: string): string[] {
    return this.list(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
  }

  require(name: string, hint?: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') {
      const spec = this.specs.find((s) => s.name === name);
      const env = spec ? envVarFor(spec) : undefined;
      throw new UsageError(`--${name} is required${hint ? ` (${hint})` : ''}.`, `Pass --${name}${spec?.value ? ` ${spec.value}` : ''}${env ? ` or set ${env}` : ''}.`);
    }
    return v;
  }

  int(name: string, options: { min?: number; max?: number } = {}): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} "${v}" is not a whole number.`, `Pass --${name} N.`);
    const n = Number(v);
    if ((options.min !== undefined && n < options.min) || (options.max !== undefined && n > options.max)) {
      throw new UsageError(`--${name} ${n} is out of range.`, `Use a value from ${options.min ?? '-inf'} to ${options.max ?? 'inf'}.`);
    }
    return n;
  }
}

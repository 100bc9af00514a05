import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';

/** The only place that resolves where certwright keeps things. */

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// Vault mount paths: segments of letters, digits, _ and -, separated by single slashes.
const MOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/;

export function validateEnvName(env: string): string {
  if (!NAME_RE.test(env)) {
    throw new UsageError(
      `--env "${env}" is not a valid environment name.`,
      'Use lower-case letters, digits, "-" and "_", starting with a letter or digit (for example --env prod).',
    );
  }
  return env;
}

export function validateMountPath(mount: string): string {
  const trimmed = mount.replace(/^\/+|\/+$/g, '');
  if (!MOUNT_RE.test(trimmed) || trimmed.length > 120 || trimmed.split('/').some((s) => s === 'sys' || s === 'auth')) {
    throw new UsageError(
      `--mount "${mount}" is not a valid mount path.`,
      'Use letters, digits, "-" and "_" in segments separated by "/" (for example --mount pki_int or --mount pki/prod).',
    );
  }
  return trimmed;
}

export function validateRoleName(role: string, flag = '--role'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(role)) {
    throw new UsageError(`${flag} "${role}" is not a valid name.`, `Use letters, digits, ".", "-" and "_" (for example ${flag} web).`);
  }
  return role;
}

export interface HomeOptions {
  stateDir?: string | undefined;
  environ?: NodeJS.ProcessEnv;
}

/** Root of all certwright state: --state-dir, else CERTWRIGHT_HOME, else $XDG_CONFIG_HOME/certwright. */
export function certwrightHome(options: HomeOptions = {}): string {
  const environ = options.environ ?? process.env;
  if (options.stateDir) return path.resolve(options.stateDir);
  if (environ.CERTWRIGHT_HOME) return path.resolve(environ.CERTWRIGHT_HOME);
  const xdg = environ.XDG_CONFIG_HOME && path.isAbsolute(environ.XDG_CONFIG_HOME) ? environ.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(xdg, 'certwright');
}

export interface EnvPaths {
  home: string;
  dir: string;
  stateFile: string;
  lockFile: string;
  transcript: string;
  events: string;
  /** Where the one-machine flows keep CSRs and signed certificates (public material only). */
  artefacts: string;
}

export function envPaths(env: string, options: HomeOptions = {}): EnvPaths {
  validateEnvName(env);
  const home = certwrightHome(options);
  const dir = path.join(home, 'envs', env);
  return {
    home,
    dir,
    stateFile: path.join(dir, 'state.json'),
    lockFile: path.join(dir, 'lock'),
    transcript: path.join(dir, 'transcript.jsonl'),
    events: path.join(dir, 'events.jsonl'),
    artefacts: path.join(dir, 'artefacts'),
  };
}

export function envsDir(options: HomeOptions = {}): string {
  return path.join(certwrightHome(options), 'envs');
}

/** Files in an offline root directory. */
export function rootPaths(dir: string) {
  return {
    dir: path.resolve(dir),
    key: path.join(path.resolve(dir), 'root-ca.key'),
    cert: path.join(path.resolve(dir), 'root-ca.pem'),
    meta: path.join(path.resolve(dir), 'ceremony.json'),
  };
}

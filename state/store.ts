import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { assertNoSecrets, emptyState, validateState, StateFileError, type EnvState } from './schema.js';

/**
 * The conf-backed store of one environment's state: one JSON file, mode 0600, in a 0700
 * directory, replaced atomically on every write. Only pure transitions (transitions.ts) produce
 * the states written here, and only while the environment's lock is held.
 */
export class StateStore {
  private readonly conf: Conf<Record<string, unknown>>;

  constructor(
    readonly env: string,
    readonly file: string,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      this.conf = this.openConf(file);
    } catch (error) {
      if (error instanceof SyntaxError) throw new StateFileError(file, `it is not valid JSON (${error.message})`);
      throw error;
    }
  }

  private openConf(file: string): Conf<Record<string, unknown>> {
    return new Conf<Record<string, unknown>>({
      cwd: path.dirname(file),
      configName: path.basename(file, '.json'),
      configFileMode: 0o600,
      clearInvalidConfig: false,
      accessPropertiesByDotNotation: false,
      watch: false,
      serialize: (value) => `${JSON.stringify(value, null, 2)}\n`,
    });
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /** The current state; a fresh one (not yet written) when the file does not exist. */
  read(now = new Date()): EnvState {
    if (!this.exists()) return emptyState(this.env, now);
    let raw: unknown;
    try {
      raw = this.conf.store;
    } catch (error) {
      if (error instanceof SyntaxError) throw new StateFileError(this.file, `it is not valid JSON (${error.message})`);
      throw error;
    }
    const state = validateState(raw, this.file);
    if (state.env !== this.env) throw new StateFileError(this.file, `it belongs to environment "${state.env}", not "${this.env}"`);
    return state;
  }

  write(state: EnvState): void {
    assertNoSecrets(state, this.file);
    this.conf.store = state as unknown as Record<string, unknown>;
    fs.chmodSync(this.file, 0o600);
  }
}

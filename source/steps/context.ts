import { envPaths, type EnvPaths, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { acquireLock, LockHeldError, LockWriteError, type Lock, type LockHolder, type LockOptions } from '../../state/lock.js';
import { StateFileError, emptyState, type EnvState } from '../../state/schema.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BugError, LockedError, OperatorError } from '../errors.js';
import { ensureDir } from '../system/files.js';
import type { Check } from '../pki/checks.js';

/** What a step reports while it works; the CLI prints it, the wizard shows it. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** Slow work starting ("Generating the root key") — a spinner in the wizard. */
  progress(message: string): void;
  /** Work finished, past tense ("Root certificate written"). */
  done(message: string): void;
}

export const silentReporter: Reporter = { info() {}, warn() {}, progress() {}, done() {} };

export interface Plan {
  /** What apply would change, one sentence each; empty when nothing is to be done. */
  actions: string[];
  /** Facts shown to the operator before confirming (subject, key, fingerprints). */
  facts: Array<[string, string]>;
  warnings: string[];
}

export function emptyPlan(): Plan {
  return { actions: [], facts: [], warnings: [] };
}

/** Asked before a lock of another host is broken (--break-lock); throws to refuse. */
export type BreakLock = (holder: LockHolder) => Promise<void>;

function takeLock(env: string, file: string, command: string, options: LockOptions = {}): Lock {
  try {
    return acquireLock(file, command, options);
  } catch (error) {
    throw lockError(env, error);
  }
}

/** The lock's failures as the errors the operator sees: who holds it, or why it cannot be written. */
function lockError(env: string, error: unknown): unknown {
  if (error instanceof LockHeldError) {
    const h = error.holder;
    if (error.otherHost) {
      return new LockedError(
        `Environment "${env}" is locked by PID ${h.pid} on host ${h.host} ("${h.command}", since ${h.since}); certwright cannot see from ${os.hostname()} whether that run is still going.`,
        `Wait for it to finish. If it is over (on ${h.host}: ps -p ${h.pid}), run the same command again with --break-lock.`,
      );
    }
    return new LockedError(
      `Environment "${env}" is in use by another certwright run (PID ${h.pid}, "${h.command}", since ${h.since}).`,
      `Wait for PID ${h.pid} to finish, or stop it. A lock left by a dead process is recovered automatically.`,
    );
  }
  if (error instanceof LockWriteError) {
    const dir = path.dirname(error.file);
    if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
      return new OperatorError(`Cannot take the lock of environment "${env}": no space left on the device holding ${dir}. Nothing was changed.`, `Free some space there (df -h ${dir}), or point --state-dir / CERTWRIGHT_HOME at a file system with room; then run the same command again.`, { cause: error });
    }
    return new OperatorError(`Cannot take the lock of environment "${env}": ${error.errno.message}. Nothing was changed.`, `Make ${dir} writable for this user, or pass --state-dir (or set CERTWRIGHT_HOME) to a directory this user can write.`, { cause: error });
  }
  return error;
}

/**
 * One environment, opened for a run: the lock is held for the whole run, state is read once and
 * written after every transition.
 */
export class EnvSession {
  private current: EnvState;
  readonly recoveredLock: Lock['recoveredFrom'];
  /** The lock taken over was empty or damaged (a full disk, an old certwright killed mid-write). */
  readonly recoveredDamagedLock: boolean;

  private constructor(
    readonly env: string,
    readonly paths: EnvPaths,
    readonly store: StateStore | undefined,
    private readonly lock: Lock | undefined,
    /** A dry run's session: it reads state and refuses to write it. */
    readonly readOnly = false,
  ) {
    try {
      this.current = store ? store.read() : emptyState(env, new Date());
    } catch (error) {
      lock?.release();
      if (error instanceof StateFileError) throw new OperatorError(error.message, error.fix);
      throw error;
    }
    this.recoveredLock = lock?.recoveredFrom;
    this.recoveredDamagedLock = lock?.recoveredDamaged ?? false;
  }

  /**
   * Opens the environment for a run and takes its lock. With dryRun, an environment that does not
   * exist yet is not created (its state is the empty one) and the session refuses every write.
   */
  static async open(env: string, home: HomeOptions, command: string, options: { dryRun?: boolean; lazy?: boolean; breakLock?: BreakLock } = {}): Promise<EnvSession> {
    const paths = envPaths(env, home);
    if ((options.dryRun || options.lazy) && !fs.existsSync(paths.dir)) return new EnvSession(env, paths, undefined, undefined, true);
    try {
      await ensureDir(paths.dir, 0o700);
    } catch (error) {
      throw new OperatorError(`Cannot create the state directory ${paths.dir}: ${(error as Error).message}.`, 'Pass --state-dir (or set CERTWRIGHT_HOME) to a directory this user can write.');
    }
    let lock: Lock;
    try {
      lock = acquireLock(paths.lockFile, command);
    } catch (error) {
      if (error instanceof LockHeldError && error.otherHost && options.breakLock) {
        // --break-lock: only a lock of another host (a live PID here is never broken), confirmed.
        await options.breakLock(error.holder);
        lock = takeLock(env, paths.lockFile, command, { breakForeign: error.holder });
      } else throw lockError(env, error);
    }
    let store: StateStore;
    try {
      store = new StateStore(env, paths.stateFile);
    } catch (error) {
      lock.release();
      if (error instanceof StateFileError) throw new OperatorError(error.message, error.fix);
      throw error;
    }
    return new EnvSession(env, paths, store, lock, options.dryRun ?? false);
  }

  get state(): EnvState {
    return this.current;
  }

  commit(next: EnvState): void {
    if (this.readOnly || !this.store) throw new BugError(`a dry run tried to write the state of environment "${this.env}"`);
    this.store.write(next);
    this.current = next;
  }

  close(): void {
    this.lock?.release();
  }
}

export function checksFailed(checks: Check[]): Check[] {
  return checks.filter((c) => !c.ok);
}

import fs from 'node:fs';
import os from 'node:os';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export class LockHeldError extends Error {
  constructor(
    readonly file: string,
    readonly holder: LockHolder,
  ) {
    super(`another certwright run (PID ${holder.pid}, "${holder.command}", since ${holder.since}) holds ${file}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface Lock {
  file: string;
  release(): void;
  /** Set when a stale lock of a dead process was taken over. */
  recoveredFrom?: LockHolder;
}

/**
 * Takes the environment's lock: a file created with O_EXCL holding our PID. A lock whose PID is
 * dead (a killed run) is recovered; a live one is refused, naming its PID.
 */
export function acquireLock(file: string, command: string): Lock {
  let recoveredFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, `${JSON.stringify(holder)}\n`);
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const current = readHolder(file);
        if (current?.pid === process.pid) fs.rmSync(file, { force: true });
        process.removeListener('exit', release);
      };
      process.on('exit', release);
      return recoveredFrom ? { file, release, recoveredFrom } : { file, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readHolder(file);
    if (current && current.host === os.hostname() && alive(current.pid)) throw new LockHeldError(file, current);
    if (!current) {
      // Being written right now, or damaged: give a writer a moment before calling it stale.
      const age = Date.now() - fs.statSync(file, { throwIfNoEntry: false })!.mtimeMs;
      if (Number.isNaN(age) || age < 2000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        continue;
      }
    }
    // Stale: move it aside atomically so two recoverers cannot both win.
    const aside = `${file}.stale.${process.pid}`;
    try {
      fs.renameSync(file, aside);
      fs.rmSync(aside, { force: true });
      if (current) recoveredFrom = current;
    } catch {
      /* someone else recovered it first; try again */
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';

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
    /** The lock names another host: its PID cannot be checked from here. */
    readonly otherHost = false,
  ) {
    super(`another certwright run (PID ${holder.pid} on ${holder.host}, "${holder.command}", since ${holder.since}) holds ${file}`);
  }
}

/** The lock file could not be written (no space, read-only, permissions): the operator can fix it. */
export class LockWriteError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly file: string,
    readonly errno: NodeJS.ErrnoException,
  ) {
    super(`cannot write the lock ${file}: ${errno.message}`, { cause: errno });
    this.code = errno.code;
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

function readRaw(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

function parseHolder(raw: Buffer | undefined): LockHolder | undefined {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<LockHolder>;
    if (!Number.isInteger(parsed.pid) || (parsed.pid as number) <= 0 || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid as number, host: parsed.host, command: String(parsed.command ?? '?'), since: String(parsed.since ?? '?') };
  } catch {
    return undefined;
  }
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since;
}

export interface Lock {
  file: string;
  release(): void;
  /** Set when a stale lock (a dead process, an empty or damaged file, a broken lock) was taken over. */
  recoveredFrom?: LockHolder;
  /** Set when the lock taken over was empty or damaged (no holder could be read). */
  recoveredDamaged?: boolean;
}

export interface LockOptions {
  /**
   * Take over a lock held by this holder on another host (--break-lock, confirmed): only that
   * exact holder, so a lock taken meanwhile by someone else is still refused.
   */
  breakForeign?: LockHolder;
}

/** Writes the holder whole into a new temp file beside the lock (O_EXCL, 0600, fsync'ed). */
function writeTemp(file: string, holder: LockHolder): string {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    const data = Buffer.from(`${JSON.stringify(holder)}\n`);
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    return temp;
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw new LockWriteError(file, error as NodeJS.ErrnoException);
  }
}

/** The fallback without hard links: create with O_EXCL and write the temp's content in one go. */
function createExclusive(file: string, temp: string): boolean {
  const data = fs.readFileSync(temp);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LockWriteError(file, error as NodeJS.ErrnoException);
  }
  try {
    if (fs.writeSync(fd, data) !== data.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw new LockWriteError(file, error as NodeJS.ErrnoException);
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Takes the environment's lock. The holder (PID, host, command, time) is written whole into a temp
 * file first, then hard-linked into place: link fails when the lock exists (as O_EXCL does), and a
 * lock file is never seen empty or half-written, not even after a full disk or a kill. So:
 * - a live holder on this host is refused, naming its PID;
 * - a holder on another host is refused, naming host and PID (its PID cannot be checked from
 *   here), unless `breakForeign` names exactly that holder (--break-lock);
 * - a dead holder on this host, and an empty or unreadable lock, are recovered at once.
 * Failing to write the lock (ENOSPC, EROFS, EACCES) is a LockWriteError, and leaves no file.
 */
export function acquireLock(file: string, command: string, options: LockOptions = {}): Lock {
  let recoveredFrom: LockHolder | undefined;
  let recoveredDamaged = false;
  const host = os.hostname();
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const holder: LockHolder = { pid: process.pid, host, command, since: new Date().toISOString() };
    const temp = writeTemp(file, holder);
    let linked = false;
    try {
      fs.linkSync(temp, file);
      linked = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        // A file system without hard links (vfat, some FUSE): O_EXCL, the holder in one write.
        linked = createExclusive(file, temp);
      } else if (code !== 'EEXIST') {
        throw new LockWriteError(file, error as NodeJS.ErrnoException);
      }
    } finally {
      fs.rmSync(temp, { force: true });
    }
    if (linked) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const current = parseHolder(readRaw(file));
        if (current && sameHolder(current, holder)) fs.rmSync(file, { force: true });
        process.removeListener('exit', release);
      };
      process.on('exit', release);
      const lock: Lock = { file, release };
      if (recoveredFrom) lock.recoveredFrom = recoveredFrom;
      if (recoveredDamaged) lock.recoveredDamaged = true;
      return lock;
    }

    const raw = readRaw(file);
    if (raw === undefined) continue; // released meanwhile: try again
    const current = parseHolder(raw);
    if (current) {
      if (current.host === host) {
        if (alive(current.pid)) throw new LockHeldError(file, current);
      } else if (!(options.breakForeign && sameHolder(options.breakForeign, current))) {
        throw new LockHeldError(file, current, true);
      }
    }
    // Stale (dead PID, broken on purpose) or damaged (empty, garbage: locks are only ever linked
    // into place whole, so nobody is still writing it). Move it aside atomically so that two
    // recoverers cannot both win, then make sure what was moved is what was judged stale.
    const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // someone else recovered it first
    }
    const moved = readRaw(aside);
    if (moved && !moved.equals(raw)) {
      // A fresh lock replaced the stale one between our read and the rename: put it back.
      try {
        fs.linkSync(aside, file);
      } catch {
        /* the file was taken again meanwhile; its holder keeps it */
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.rmSync(aside, { force: true });
    if (current) recoveredFrom = current;
    else recoveredDamaged = true;
  }
  throw new Error(`could not take the lock ${file} after 10 attempts`);
}

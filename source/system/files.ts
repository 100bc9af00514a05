import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../errors.js';

/**
 * Files are created with their final owner and mode before a byte is written, written to a temp
 * file in the same directory, fsynced, and renamed over the target (or hard-linked, when the
 * target must not be replaced). A reader sees the old file or the new one, never half of one.
 */

export interface WriteOptions {
  mode: number;
  owner?: { uid: number; gid: number } | undefined;
  /** Refuse to replace an existing file (atomic: link(2) fails with EEXIST). */
  noClobber?: boolean;
}

const pendingTemps = new Set<string>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const clean = () => {
    for (const file of pendingTemps) {
      try {
        fs.unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
    pendingTemps.clear();
  };
  process.on('exit', clean);
}

/** Removes temp files of writes in flight; called by the CLI's signal handlers. */
export function cleanupPendingWrites(): void {
  for (const file of pendingTemps) {
    try {
      fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
  pendingTemps.clear();
}

function explainFsError(error: NodeJS.ErrnoException, target: string): OperatorError {
  const dir = path.dirname(target);
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return new OperatorError(`Cannot write ${target}: permission denied.`, `Make ${dir} writable for this user, or choose another output directory.`, { cause: error });
    case 'ENOENT':
      return new OperatorError(`Cannot write ${target}: the directory ${dir} does not exist.`, `Create it (mkdir -p ${dir}) or choose another output directory.`, { cause: error });
    case 'EROFS':
      return new OperatorError(`Cannot write ${target}: the file system is read-only.`, 'Choose an output directory on a writable file system.', { cause: error });
    case 'ENOSPC':
      return new OperatorError(`Cannot write ${target}: no space left on the device.`, 'Free some space or choose another output directory.', { cause: error });
    case 'ENOTDIR':
      return new OperatorError(`Cannot write ${target}: a part of the path is not a directory.`, 'Check the output path.', { cause: error });
    default:
      return new OperatorError(`Cannot write ${target}: ${error.message}`, undefined, { cause: error });
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array, options: WriteOptions): Promise<void> {
  installCleanup();
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  pendingTemps.add(temp);
  try {
    // O_EXCL + the final mode at creation: the key is never readable by anyone else, not even empty.
    handle = await fsp.open(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, options.mode);
    if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
    await handle.chmod(options.mode); // the umask may have narrowed it; set exactly what we mean
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (options.noClobber) {
      try {
        await fsp.link(temp, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new OperatorError(`${target} already exists; certwright does not overwrite it.`, `Move the existing file away first, or choose another output path.`);
        }
        throw error;
      }
      await fsp.unlink(temp);
    } else {
      await fsp.rename(temp, target);
    }
    pendingTemps.delete(temp);
    await syncDir(dir);
  } catch (error) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.unlink(temp).catch(() => undefined);
    pendingTemps.delete(temp);
    if (error instanceof OperatorError) throw error;
    throw explainFsError(error as NodeJS.ErrnoException, target);
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* some file systems refuse fsync on directories; the rename is still atomic */
  }
}

/** Checks that a directory exists and that we can create files in it, without leaving anything. */
export async function assertWritableDir(dir: string, flag: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fsp.stat(dir);
  } catch {
    throw new OperatorError(`${flag} ${dir} does not exist.`, `Create it first (mkdir -p ${dir}) or pass another ${flag}.`);
  }
  if (!stat.isDirectory()) throw new OperatorError(`${flag} ${dir} is not a directory.`, `Pass a directory to ${flag}.`);
  try {
    await fsp.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new OperatorError(`${flag} ${dir} is not writable by this user.`, `Make it writable (chown/chmod) or pass another ${flag}.`);
  }
  // access(2) says yes for root even on read-only mounts; a real probe settles it.
  const probe = path.join(dir, `.certwright-probe-${randomBytes(4).toString('hex')}`);
  try {
    await fsp.writeFile(probe, '', { flag: 'wx', mode: 0o600 });
    await fsp.unlink(probe);
  } catch (error) {
    throw explainFsError(error as NodeJS.ErrnoException, path.join(dir, '<file>'));
  }
}

/**
 * For a plan: an output directory that exists must be writable; one that does not will be created
 * (0700, missing parents 0755) by ensureOutputDir, and the returned sentence says so. Nothing is
 * created here.
 */
export async function planOutputDir(dir: string, flag: string): Promise<string | undefined> {
  const target = path.resolve(dir);
  if (fs.existsSync(target)) {
    await assertWritableDir(target, flag);
    return undefined;
  }
  let parent = path.dirname(target);
  while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  await assertWritableDir(parent, `${flag} (its nearest existing parent)`);
  return `Create ${target} (mode 0700${path.dirname(target) !== parent ? '; missing parents 0755' : ''})`;
}

/** Creates an output directory as planOutputDir announced: the directory 0700, missing parents 0755. */
export async function ensureOutputDir(dir: string): Promise<void> {
  const target = path.resolve(dir);
  if (fs.existsSync(target)) return;
  await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  try {
    await fsp.mkdir(target, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainFsError(error as NodeJS.ErrnoException, target);
  }
}

export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
}

export async function readTextFile(file: string, flag: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OperatorError(`${flag} ${file} does not exist.`, `Check the path given to ${flag}.`);
    if (code === 'EACCES') throw new OperatorError(`${flag} ${file} is not readable by this user.`, `Fix its permissions or run as its owner.`);
    if (code === 'EISDIR') throw new OperatorError(`${flag} ${file} is a directory, not a file.`, `Pass a file to ${flag}.`);
    throw new OperatorError(`Cannot read ${flag} ${file}: ${(error as Error).message}`);
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function fileSha256(file: string): Promise<string | undefined> {
  try {
    return sha256Hex(await fsp.readFile(file));
  } catch {
    return undefined;
  }
}

/**
 * Writes several files that belong together (a key and its certificate, the bundles, the env
 * file) as one change, so that no reader ever sees a new key beside an old certificate: every
 * file is first written whole, with its final owner and mode, under a hidden temp name in its
 * target directory, and only when all of them exist are they renamed into place, one rename each.
 * A failure before the renames leaves the old set untouched and no temp file behind; a failure
 * among the renames says which files were already replaced.
 */
export async function writeFileSetAtomic(files: Array<{ path: string; data: string | Uint8Array; options: WriteOptions }>): Promise<void> {
  installCleanup();
  const targets = new Set<string>();
  for (const f of files) {
    const resolved = path.resolve(f.path);
    if (targets.has(resolved)) throw new Error(`file set names ${resolved} twice`);
    targets.add(resolved);
  }
  const temps: Array<{ temp: string; target: string }> = [];
  try {
    for (const file of files) {
      const target = path.resolve(file.path);
      const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
      pendingTemps.add(temp);
      temps.push({ temp, target });
      const handle = await fsp.open(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, file.options.mode).catch((error) => {
        throw explainFsError(error as NodeJS.ErrnoException, target);
      });
      try {
        if (file.options.owner) await handle.chown(file.options.owner.uid, file.options.owner.gid);
        await handle.chmod(file.options.mode);
        await handle.writeFile(file.data);
        await handle.sync();
      } catch (error) {
        throw explainFsError(error as NodeJS.ErrnoException, target);
      } finally {
        await handle.close();
      }
    }
  } catch (error) {
    for (const { temp } of temps) {
      await fsp.unlink(temp).catch(() => undefined);
      pendingTemps.delete(temp);
    }
    if (error instanceof OperatorError) throw error;
    throw explainFsError(error as NodeJS.ErrnoException, files[0]?.path ?? '');
  }
  const renamed: string[] = [];
  for (const { temp, target } of temps) {
    try {
      await fsp.rename(temp, target);
      pendingTemps.delete(temp);
      renamed.push(target);
    } catch (error) {
      for (const t of temps) {
        if (!pendingTemps.has(t.temp)) continue;
        await fsp.unlink(t.temp).catch(() => undefined);
        pendingTemps.delete(t.temp);
      }
      throw new OperatorError(
        `Cannot move ${target} into place (${(error as Error).message}); ${renamed.length} of ${temps.length} files were already replaced: ${renamed.join(', ') || 'none'}.`,
        'The set in that directory is now mixed: run the same command again to write a whole new set.',
        { cause: error },
      );
    }
  }
  for (const dir of new Set(temps.map((t) => path.dirname(t.target)))) await syncDir(dir);
}

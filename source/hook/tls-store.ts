import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OperatorError } from '../errors.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';

/**
 * The TLS directory an app reads, swapped as one unit:
 *
 *   TLSDIR/versions/<id>/{key.pem, cert.pem, chain.pem, fullchain.pem, bundle.pem}   (never modified once published)
 *   TLSDIR/current  -> versions/<id>       (a relative symlink, replaced by rename(2))
 *   TLSDIR/previous -> versions/<id-1>     (the version before, kept for rollback)
 *   TLSDIR/key.pem  -> current/key.pem     (and cert/chain/fullchain/bundle: stable names)
 *
 * A new version is written completely (each file fsynced) in a fresh directory before `current`
 * moves, so key and certificate change together. A reader that resolves `current` once and reads
 * both files from that directory (or reads bundle.pem, key + chain in one file) never sees a new
 * certificate with an old key.
 */

export const TLS_FILES = { key: 'key.pem', cert: 'cert.pem', chain: 'chain.pem', fullchain: 'fullchain.pem', bundle: 'bundle.pem' } as const;
export type TlsFiles = Record<keyof typeof TLS_FILES, string>;
const PRIVATE: ReadonlySet<string> = new Set(['key', 'bundle']);

export interface LinkSnapshot {
  current: string | undefined;
  previous: string | undefined;
}

export function layout(tlsDir: string) {
  const dir = path.resolve(tlsDir);
  return { dir, versions: path.join(dir, 'versions'), current: path.join(dir, 'current'), previous: path.join(dir, 'previous'), lock: path.join(dir, '.certwright-hook.lock') };
}

async function readLinkOrUndefined(link: string): Promise<string | undefined> {
  try {
    return await fsp.readlink(link);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') throw new OperatorError(`${link} exists but is not a symbolic link.`, `Move it away; certwright manages ${path.basename(link)} as a link into versions/.`);
    throw error;
  }
}

export async function snapshotLinks(tlsDir: string): Promise<LinkSnapshot> {
  const l = layout(tlsDir);
  return { current: await readLinkOrUndefined(l.current), previous: await readLinkOrUndefined(l.previous) };
}

/** The files of the current version, or undefined when there is none yet. */
export async function readCurrentFiles(tlsDir: string): Promise<Partial<TlsFiles> | undefined> {
  const l = layout(tlsDir);
  const target = await readLinkOrUndefined(l.current);
  if (!target) return undefined;
  const dir = path.resolve(l.dir, target);
  const out: Partial<TlsFiles> = {};
  for (const [name, file] of Object.entries(TLS_FILES) as Array<[keyof TlsFiles, string]>) {
    try {
      out[name] = await fsp.readFile(path.join(dir, file), 'utf8');
    } catch {
      /* a missing file makes the version differ, which is what we want */
    }
  }
  return out;
}

export function sameFiles(a: Partial<TlsFiles> | undefined, b: TlsFiles): boolean {
  if (!a) return false;
  return (Object.keys(TLS_FILES) as Array<keyof TlsFiles>).every((k) => a[k] !== undefined && sha256Hex(a[k]!) === sha256Hex(b[k]));
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* best effort */
  }
}

/** Points `link` at `target` atomically: a temp symlink renamed over the old one. */
export async function swapLink(link: string, target: string | undefined): Promise<void> {
  if (target === undefined) {
    await fsp.rm(link, { force: true });
    return;
  }
  const temp = path.join(path.dirname(link), `.${path.basename(link)}.${randomBytes(4).toString('hex')}.tmp`);
  await fsp.symlink(target, temp);
  try {
    await fsp.rename(temp, link);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}

export async function ensureTlsDir(tlsDir: string): Promise<void> {
  const l = layout(tlsDir);
  try {
    await fsp.mkdir(l.versions, { recursive: true, mode: 0o750 });
  } catch (error) {
    throw new OperatorError(`Cannot create ${l.versions}: ${(error as Error).message}.`, `Create ${l.dir} for this user (the agent's user), or pass another --tls-dir.`);
  }
}

function versionId(serial: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
  return `${stamp}-${serial.replace(/[^0-9a-f]/gi, '').slice(0, 12).toLowerCase()}`;
}

/**
 * Writes a complete new version and makes it current; the old current becomes previous.
 * Returns the links as they were, for rollback.
 */
export async function publishVersion(tlsDir: string, files: TlsFiles, serial: string, now = new Date()): Promise<{ id: string; before: LinkSnapshot }> {
  const l = layout(tlsDir);
  await ensureTlsDir(tlsDir);
  const before = await snapshotLinks(tlsDir);
  let id = versionId(serial, now);
  for (let n = 1; fs.existsSync(path.join(l.versions, id)); n += 1) id = `${versionId(serial, now)}.${n}`;
  const staging = path.join(l.versions, `.${id}.staging`);
  await fsp.mkdir(staging, { mode: 0o755 });
  try {
    for (const [name, file] of Object.entries(TLS_FILES) as Array<[keyof TlsFiles, string]>) {
      await writeFileAtomic(path.join(staging, file), files[name], { mode: PRIVATE.has(name) ? 0o600 : 0o644 });
    }
    await fsp.rename(staging, path.join(l.versions, id));
    await syncDir(l.versions);
  } catch (error) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw error;
  }
  const target = `versions/${id}`;
  if (before.current && before.current !== target) await swapLink(l.previous, before.current);
  await swapLink(l.current, target);
  await ensureStableLinks(tlsDir);
  await syncDir(l.dir);
  return { id, before };
}

/** key.pem -> current/key.pem and friends; a plain file left by an older layout is replaced. */
export async function ensureStableLinks(tlsDir: string): Promise<string[]> {
  const l = layout(tlsDir);
  const replaced: string[] = [];
  for (const file of Object.values(TLS_FILES)) {
    const link = path.join(l.dir, file);
    const want = `current/${file}`;
    let stat: fs.Stats | undefined;
    try {
      stat = await fsp.lstat(link);
    } catch {
      stat = undefined;
    }
    if (stat?.isSymbolicLink() && (await fsp.readlink(link)) === want) continue;
    if (stat && !stat.isSymbolicLink() && !stat.isFile()) continue;
    if (stat?.isFile()) replaced.push(file);
    await swapLink(link, want);
  }
  return replaced;
}

/** Puts current/previous back as they were and deletes the version that was rolled back. */
export async function rollbackTo(tlsDir: string, before: LinkSnapshot, failedId: string): Promise<void> {
  const l = layout(tlsDir);
  await swapLink(l.current, before.current);
  await swapLink(l.previous, before.previous);
  await fsp.rm(path.join(l.versions, failedId), { recursive: true, force: true });
  await syncDir(l.dir);
}

/** Deletes old versions, keeping `keep` newest plus whatever current and previous point at. */
export async function pruneVersions(tlsDir: string, keep: number): Promise<string[]> {
  const l = layout(tlsDir);
  const links = await snapshotLinks(tlsDir);
  const pinned = new Set([links.current, links.previous].filter(Boolean).map((t) => path.basename(t!)));
  let entries: string[];
  try {
    entries = (await fsp.readdir(l.versions)).filter((e) => !e.startsWith('.')).sort();
  } catch {
    return [];
  }
  const removable = entries.slice(0, Math.max(0, entries.length - keep)).filter((e) => !pinned.has(e));
  for (const e of removable) await fsp.rm(path.join(l.versions, e), { recursive: true, force: true });
  return removable;
}

/**
 * One hook at a time per directory: an O_EXCL lock file holding the PID. A lock whose process is
 * gone is taken over; a live one is waited for (bounded).
 */
export async function withLock<T>(lockFile: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OperatorError(`Cannot create the lock ${lockFile}: ${(error as Error).message}.`, `Make ${path.dirname(lockFile)} writable for the agent's user.`);
      }
      let holder = 0;
      let ageMs = 0;
      try {
        holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim() || '0', 10);
        ageMs = Date.now() - fs.statSync(lockFile).mtimeMs;
      } catch {
        continue; // released while we looked
      }
      // An empty lock is one being written right now, unless it is old (its writer died at once).
      if ((holder && !alive(holder)) || (!holder && ageMs > 5000)) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new OperatorError(`Another hook (PID ${holder}) is still working on ${path.dirname(lockFile)}.`, `Wait for PID ${holder} to finish, then run the hook again.`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
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

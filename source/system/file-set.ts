import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './files.js';
import { OperatorError } from '../errors.js';

/**
 * Writes a set of files that belong together (a key and its certificate, the bundles, the env
 * file) so that no reader ever sees a new key beside an old certificate: every file is first
 * written whole, with its final mode, under a hidden staging name in its target directory, and
 * only when all of them exist are they renamed into place, one rename each. A failure before the
 * renames leaves the old set untouched and no staging file behind.
 */

export interface FileSpec {
  path: string;
  data: string | Uint8Array;
  mode: number;
}

const staged = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const file of staged) {
      try {
        fs.unlinkSync(file);
      } catch {
        /* already renamed or removed */
      }
    }
  });
}

export async function writeFileSet(files: FileSpec[]): Promise<void> {
  installExitHook();
  const targets = new Set<string>();
  for (const f of files) {
    const resolved = path.resolve(f.path);
    if (targets.has(resolved)) throw new Error(`file set names ${resolved} twice`);
    targets.add(resolved);
  }
  const tag = randomBytes(6).toString('hex');
  const plan = files.map((f) => {
    const target = path.resolve(f.path);
    return { ...f, target, temp: path.join(path.dirname(target), `.${path.basename(target)}.${tag}.staged`) };
  });
  try {
    for (const f of plan) {
      staged.add(f.temp);
      await writeFileAtomic(f.temp, f.data, { mode: f.mode, noClobber: true });
    }
  } catch (error) {
    await Promise.all(plan.map((f) => fsp.unlink(f.temp).catch(() => undefined)));
    for (const f of plan) staged.delete(f.temp);
    throw error;
  }
  const renamed: string[] = [];
  for (const f of plan) {
    try {
      await fsp.rename(f.temp, f.target);
      staged.delete(f.temp);
      renamed.push(f.target);
    } catch (error) {
      await Promise.all(plan.filter((p) => staged.has(p.temp)).map((p) => fsp.unlink(p.temp).catch(() => undefined)));
      for (const p of plan) staged.delete(p.temp);
      throw new OperatorError(
        `Cannot move ${f.target} into place (${(error as Error).message}); ${renamed.length} of ${plan.length} files were already replaced: ${renamed.join(', ') || 'none'}.`,
        'The set in that directory is now mixed: run the same command again to write a whole new set.',
        { cause: error },
      );
    }
  }
}

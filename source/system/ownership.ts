import fs from 'node:fs';
import { OperatorError, UsageError } from '../errors.js';

/**
 * Who may read or write what, decided on the host before a container starts. A container user
 * that cannot read its key, or a data directory it cannot write, is reported here with the exact
 * fix, instead of as "permission denied" in a container log (the seed's first failure).
 */

export interface Owner {
  uid: number;
  gid: number;
}

export function parseOwner(value: string, flag = '--owner'): Owner {
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} "${value}" is not UID:GID.`, `Pass numeric ids, e.g. ${flag} 100:1000 (the uid:gid the Vault container runs as).`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

export function formatOwner(owner: Owner): string {
  return `${owner.uid}:${owner.gid}`;
}

export function currentOwner(): Owner {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/** Root, or the owner, or the group, or everyone: the permission bits that apply to `who`. */
export function permitted(stat: fs.Stats, who: Owner, want: 'r' | 'w' | 'x' | 'rx' | 'wx'): boolean {
  if (who.uid === 0) return true; // root (rootful podman's container root is host root)
  const bits = stat.uid === who.uid ? (stat.mode >> 6) & 7 : stat.gid === who.gid ? (stat.mode >> 3) & 7 : stat.mode & 7;
  const need = (want.includes('r') ? 4 : 0) | (want.includes('w') ? 2 : 0) | (want.includes('x') ? 1 : 0);
  return (bits & need) === need;
}

export function describeStat(stat: fs.Stats): string {
  return `owner ${stat.uid}:${stat.gid}, mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}`;
}

/**
 * Writing files for another uid needs root (fchown). Checked before any work, so a non-root run
 * with --owner fails up front rather than half-way through writing.
 */
export function assertCanGive(owner: Owner | undefined, flag = '--owner'): void {
  if (!owner) return;
  const me = currentOwner();
  if (me.uid === 0) return;
  if (owner.uid !== me.uid) {
    throw new OperatorError(
      `${flag} ${formatOwner(owner)} needs root: only root can create files owned by another user (this run is uid ${me.uid}).`,
      `Run the command as root (sudo), or run the container as your own uid and pass ${flag} ${me.uid}:${me.gid}.`,
    );
  }
}

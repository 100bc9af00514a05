import fs from 'node:fs';
import os from 'node:os';
import type { Owner } from './ownership.js';

/**
 * Rootless Podman's user namespace: container uid 0 is the user running Podman, container uid N
 * (N >= 1) is the Nth id of that user's /etc/subuid range (the same for gids with /etc/subgid).
 * A file on the host is readable in the container only by the container user whose *host* id may
 * read it: the seed's "permission denied on the key" when a rootless container ran as the key
 * owner's uid, which maps to an unrelated subordinate id. keep-id changes that mapping at the price
 * of capabilities the container then lacks; certwright runs such a container as 0:0 instead.
 */
export interface Range {
  start: number;
  count: number;
}

export interface RootlessNamespace {
  user: string;
  uid: number;
  gid: number;
  subuid?: Range | undefined;
  subgid?: Range | undefined;
}

function rangeOf(file: string, user: string, id: number): Range | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user || who === String(id)) && start && count) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The namespace Podman uses for the current user; undefined when running as root (rootful Podman). */
export function rootlessNamespace(): RootlessNamespace | undefined {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return undefined;
  const me = os.userInfo();
  const gid = process.getgid?.() ?? me.gid;
  return { user: me.username, uid, gid, subuid: rangeOf('/etc/subuid', me.username, uid), subgid: rangeOf('/etc/subgid', me.username, uid) };
}

function toHost(id: number, own: number, range: Range | undefined): number | undefined {
  if (id === 0) return own;
  if (!range || id - 1 >= range.count) return undefined;
  return range.start + id - 1;
}

function toContainer(id: number, own: number, range: Range | undefined): number | undefined {
  if (id === own) return 0;
  if (range && id >= range.start && id < range.start + range.count) return id - range.start + 1;
  return undefined;
}

/** The host ids a container user runs as; undefined when the namespace does not map it. */
export function hostIdsFor(ns: RootlessNamespace, container: Owner): Owner | undefined {
  const uid = toHost(container.uid, ns.uid, ns.subuid);
  const gid = toHost(container.gid, ns.gid, ns.subgid);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** The container user that is `host` on the host; undefined when the host ids are outside the namespace. */
export function containerIdsFor(ns: RootlessNamespace, host: Owner): Owner | undefined {
  const uid = toContainer(host.uid, ns.uid, ns.subuid);
  const gid = toContainer(host.gid, ns.gid, ns.subgid);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/**
 * The container user a Vault container runs as when nothing else is asked, and the host ids it
 * is: under rootless Podman container root (0:0), which is the user running certwright; under
 * rootful Podman the user running certwright. A requested user is checked against the mapping.
 */
export function containerIdentity(requested: Owner | undefined, current: Owner): { user: Owner; hostUser: Owner; ns?: RootlessNamespace | undefined } | { error: string } {
  const ns = rootlessNamespace();
  if (!ns) return { user: requested ?? current, hostUser: requested ?? current };
  const user = requested ?? containerIdsFor(ns, current) ?? { uid: 0, gid: 0 };
  const hostUser = hostIdsFor(ns, user);
  if (!hostUser) return { error: `container user ${user.uid}:${user.gid} is outside ${ns.user}'s subordinate id ranges (/etc/subuid, /etc/subgid)` };
  return { user, hostUser, ns };
}

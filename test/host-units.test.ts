import { describe, expect, it } from 'vitest';
import { mountCovers } from '../source/system/podman.js';
import { containerIdsFor, hostIdsFor, type RootlessNamespace } from '../source/system/userns.js';
import { parseProperties, systemctlDisplay } from '../source/system/systemd.js';

/** The pure parts of issue 11 (the real-host files prove them end to end), in milliseconds. */
describe('reload scope: which mounts see a swapped path', () => {
  it('the path itself, a parent directory or something inside it; never a sibling with a common prefix', () => {
    expect(mountCovers('/home/web/tls', '/home/web/tls')).toBe(true);
    expect(mountCovers('/home/web/tls/', '/home/web/tls')).toBe(true);
    expect(mountCovers('/home/web', '/home/web/tls')).toBe(true);
    expect(mountCovers('/', '/home/web/tls')).toBe(true);
    expect(mountCovers('/home/web/tls/versions/20261201-ab', '/home/web/tls')).toBe(true);
    expect(mountCovers('/home/web/tls2', '/home/web/tls')).toBe(false);
    expect(mountCovers('/home/web/tl', '/home/web/tls')).toBe(false);
    expect(mountCovers('/srv/other', '/home/web/tls')).toBe(false);
  });
});

describe('rootless user namespace mapping', () => {
  const ns: RootlessNamespace = { user: 'vault', uid: 1000, gid: 1000, subuid: { start: 100000, count: 65536 }, subgid: { start: 100000, count: 65536 } };
  it('container root is the user; container uid N is the Nth subordinate id', () => {
    expect(hostIdsFor(ns, { uid: 0, gid: 0 })).toEqual({ uid: 1000, gid: 1000 });
    expect(hostIdsFor(ns, { uid: 1000, gid: 1000 })).toEqual({ uid: 100999, gid: 100999 });
    expect(hostIdsFor(ns, { uid: 65536, gid: 0 })).toEqual({ uid: 165535, gid: 1000 });
    expect(hostIdsFor(ns, { uid: 65537, gid: 0 })).toBeUndefined();
    expect(hostIdsFor({ ...ns, subuid: undefined }, { uid: 5, gid: 0 })).toBeUndefined();
  });
  it('and back: the key owner is container root; an unmapped owner has no container user', () => {
    expect(containerIdsFor(ns, { uid: 1000, gid: 1000 })).toEqual({ uid: 0, gid: 0 });
    expect(containerIdsFor(ns, { uid: 100999, gid: 100999 })).toEqual({ uid: 1000, gid: 1000 });
    expect(containerIdsFor(ns, { uid: 0, gid: 0 })).toBeUndefined();
    expect(containerIdsFor(ns, { uid: 2000, gid: 1000 })).toBeUndefined();
  });
});

describe('systemctl plumbing', () => {
  it('parses `systemctl show` output, values with "=" included', () => {
    expect(parseProperties('ActiveState=active\nExecMainStatus=218\nEnvironment=PATH=/usr/bin:/bin\n\n')).toEqual({ ActiveState: 'active', ExecMainStatus: '218', Environment: 'PATH=/usr/bin:/bin' });
  });
  it('names another user\'s manager with -M USER@ in what the plan shows', () => {
    expect(systemctlDisplay('svc-web-does-not-exist', ['daemon-reload'])).toBe('systemctl --user -M svc-web-does-not-exist@ daemon-reload');
    expect(systemctlDisplay(null, ['daemon-reload'])).toBe('systemctl --user daemon-reload');
  });
});

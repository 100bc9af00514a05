import fs from 'node:fs';
import path from 'node:path';

/**
 * The TCP ports a process (and its direct children) listens on, from /proc: the socket inodes
 * among its open fds, matched against the LISTEN entries of /proc/PID/net/tcp and tcp6 (the
 * process's own network namespace). Only that process's sockets count, so a container on the host
 * network is not blamed for the host's other listeners.
 */
export interface Listener {
  address: string;
  port: number;
}

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  const dir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(path.join(dir, fd)));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* no children file (old kernels) or gone */
  }
  return out;
}

function hexAddress(hex: string, v6: boolean): string {
  if (!v6) {
    const n = Number.parseInt(hex, 16);
    return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
  }
  if (/^0+$/.test(hex)) return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  return hex;
}

export function listeningPorts(pid: number): Listener[] {
  if (!pid) return [];
  const inodes = new Set<string>();
  for (const p of [pid, ...children(pid)]) for (const i of socketInodes(p)) inodes.add(i);
  if (inodes.size === 0) return [];
  const out: Listener[] = [];
  for (const [file, v6] of [['tcp', false], ['tcp6', true]] as const) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [addr, port] = f[1]!.split(':');
      const listener = { address: hexAddress(addr!, v6), port: Number.parseInt(port!, 16) };
      if (!out.some((l) => l.port === listener.port)) out.push(listener);
    }
  }
  return out;
}

/** uid, gid and supplementary groups of a process, as the kernel sees them (rootful: host ids). */
export function processIds(pid: number): { uid: number; gid: number; groups: number[] } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1]);
    const gid = Number(/^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1]);
    const groups = (/^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    return Number.isFinite(uid) && Number.isFinite(gid) ? { uid, gid, groups } : undefined;
  } catch {
    return undefined;
  }
}

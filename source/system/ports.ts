import fs from 'node:fs';
import net from 'node:net';
import { OperatorError, UsageError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:8200", "[::1]:8200", "0.0.0.0:8200", "vault.example:8200". */
export function parseListen(value: string, flag = '--listen'): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(`${flag} "${value}" is not HOST:PORT.`, `Pass e.g. ${flag} 127.0.0.1:8200 (IPv6: [::1]:8200).`);
  }
  const host = (m[1] ?? m[2])!;
  // An IP address (IPv6 only in brackets), or a DNS host name: ".0.0.1" or "a..b" never reach a
  // config file or a URL.
  const valid = m[1] !== undefined ? net.isIPv6(host) : net.isIPv4(host) || (!/^[\d.]+$/.test(host) && /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host));
  if (!valid) throw new UsageError(`${flag} "${value}": "${host}" is not an IP address or host name.`, `Pass e.g. ${flag} 127.0.0.1:8200, ${flag} vault.example:8200 or (IPv6) ${flag} [::1]:8200.`);
  return { host, port };
}

export function formatListen(l: ListenAddress): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** Who listens on a TCP port, from /proc (best effort; undefined when unknown). */
function listenerPid(port: number): number | undefined {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!fs.existsSync(table)) continue;
      for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 9 && cols[1]!.endsWith(`:${hex}`) && cols[3] === '0A') inodes.add(cols[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
          const m = /^socket:\[(\d+)\]$/.exec(link);
          if (m && inodes.has(m[1]!)) return Number(pid);
        } catch {
          /* fd closed meanwhile */
        }
      }
    }
  } catch {
    /* not Linux, or /proc hidden */
  }
  return undefined;
}

export function processCommand(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** Binds the address for an instant: EADDRINUSE becomes an error naming who holds it and the fix. */
export async function assertPortFree(listen: ListenAddress, flag = '--listen'): Promise<void> {
  const host = listen.host === 'localhost' ? '127.0.0.1' : listen.host;
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host, port: listen.port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!error) return;
  const where = formatListen(listen);
  if (error.code === 'EADDRINUSE') {
    const pid = listenerPid(listen.port);
    const who = pid ? ` by PID ${pid} (${(processCommand(pid) ?? '?').slice(0, 120)})` : '';
    throw new OperatorError(`${where} is already in use${who}.`, `Stop what listens there, or pass another ${flag} (e.g. ${flag} ${host}:${listen.port + 10}).`);
  }
  if (error.code === 'EADDRNOTAVAIL') throw new OperatorError(`${where} is not an address of this machine.`, `Pass a local address to ${flag} (127.0.0.1, ::1 or an interface address).`);
  if (error.code === 'EACCES') throw new OperatorError(`Binding ${where} needs privileges (ports below 1024).`, `Use a port above 1023, e.g. ${flag} ${host}:8200.`);
  throw new OperatorError(`Cannot bind ${where}: ${error.message}.`, `Pass another ${flag}.`);
}

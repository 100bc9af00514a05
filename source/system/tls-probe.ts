import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';

/**
 * The one TLS probe: every place that looks at what an endpoint serves (vault-https after a start,
 * a reload check, status and doctor, the hook's "serves the new certificate", verify-tls) opens
 * its connection here. The rules are the same everywhere: trust exactly the CA given (Node's `ca`
 * replaces the system store), send the host name as SNI unless it is an IP address, and report
 * verification instead of enforcing it, so a wrong chain is shown rather than hidden.
 */

export interface TlsTarget {
  host: string;
  port: number;
  /** The only CA to trust; without it nothing can be `authorized`. */
  ca?: string | undefined;
  servername?: string | undefined;
  /** Client certificate and key (mutual TLS). */
  cert?: string | undefined;
  key?: string | undefined;
  minVersion?: tls.SecureVersion | undefined;
  maxVersion?: tls.SecureVersion | undefined;
}

/** Opens the socket with certwright's rules; the caller listens for its events. */
export function connectTls(target: TlsTarget): tls.TLSSocket {
  const servername = target.servername ?? (net.isIP(target.host) ? undefined : target.host);
  return tls.connect({
    host: target.host,
    port: target.port,
    rejectUnauthorized: false,
    ...(target.ca ? { ca: target.ca } : {}),
    ...(servername && !net.isIP(servername) ? { servername } : {}),
    ...(target.cert ? { cert: target.cert, key: target.key } : {}),
    ...(target.minVersion ? { minVersion: target.minVersion } : {}),
    ...(target.maxVersion ? { maxVersion: target.maxVersion } : {}),
  });
}

/** The chain the peer sent, leaf first, as far as Node exposes it. */
export function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let node: tls.DetailedPeerCertificate | undefined;
  try {
    node = socket.getPeerCertificate(true);
  } catch {
    return out;
  }
  const seen = new Set<string>();
  while (node && node.raw && !seen.has(node.fingerprint256)) {
    seen.add(node.fingerprint256);
    out.push(new X509Certificate(node.raw));
    node = node.issuerCertificate;
  }
  return out;
}

export interface Served {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The chain verified against `ca` and the certificate names the host. */
  authorized: boolean;
  /** Node's code or the name mismatch, when not authorized. */
  authorizationError?: string;
  leaf: X509Certificate;
  /** Certificates the server sent, leaf first. */
  sent: X509Certificate[];
  protocol: string | null;
}

/** One handshake: what the endpoint serves and whether it verifies. Bounded by timeoutMs and signal. */
export function handshake(host: string, port: number, options: Omit<TlsTarget, 'host' | 'port'> & { timeoutMs?: number; signal?: AbortSignal | undefined } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const servername = options.servername ?? (net.isIP(host) ? undefined : host);
    const socket = connectTls({ host, port, ...options });
    const timeoutMs = options.timeoutMs ?? 3000;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    const onAbort = () => socket.destroy(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    socket.once('secureConnect', () => {
      // Order matters: after getPeerX509Certificate(), getPeerCertificate(true) comes back empty.
      const sent = peerChain(socket);
      const peer = socket.getPeerCertificate();
      let authorized = socket.authorized;
      let authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      // Node checks the name only when rejectUnauthorized is on; do it here for the verdict.
      if (authorized && peer?.raw) {
        const nameError = tls.checkServerIdentity(servername ?? host, peer);
        if (nameError) {
          authorized = false;
          authorizationError = nameError.message;
        }
      }
      const protocol = socket.getProtocol();
      done();
      socket.end();
      if (!peer || !peer.fingerprint256 || !sent[0]) return reject(new Error(`${host}:${port} presented no certificate`));
      resolve({
        fingerprint: peer.fingerprint256,
        subject: Object.entries(peer.subject ?? {}).map(([k, v]) => `${k}=${v}`).join(', '),
        notBefore: new Date(peer.valid_from).toISOString(),
        notAfter: new Date(peer.valid_to).toISOString(),
        authorized: Boolean(options.ca) && authorized,
        ...(authorizationError ? { authorizationError } : {}),
        leaf: sent[0],
        sent,
        protocol,
      });
    });
    socket.once('error', (error) => {
      done();
      reject(error);
    });
  });
}

/** The fingerprint an endpoint serves (trust is checked elsewhere). */
export async function servedFingerprint(host: string, port: number, servername: string | undefined, timeoutMs = 3000): Promise<string> {
  return (await handshake(host, port, { servername, timeoutMs })).fingerprint;
}

/**
 * Polls until host:port serves the fingerprint wanted on `stable` handshakes in a row, or the
 * deadline passes. In a row, because a reloading nginx lets its old worker accept a few more
 * connections with the old certificate. waitedMs is when the first of those handshakes began.
 */
export async function waitForServed(host: string, port: number, servername: string | undefined, want: string, timeoutMs: number, stable = 3): Promise<{ ok: boolean; served?: string; error?: string; waitedMs: number }> {
  const start = Date.now();
  let served: string | undefined;
  let error: string | undefined;
  let streak = 0;
  let streakStart = 0;
  while (Date.now() - start < timeoutMs) {
    const attempt = Date.now();
    try {
      served = await servedFingerprint(host, port, servername, Math.min(3000, timeoutMs));
      error = undefined;
      if (served === want) {
        if (streak === 0) streakStart = attempt;
        streak += 1;
        if (streak >= stable) return { ok: true, served, waitedMs: streakStart - start };
        continue;
      }
    } catch (e) {
      error = (e as Error).message;
    }
    streak = 0;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ok: false, ...(served ? { served } : {}), ...(error ? { error } : {}), waitedMs: Date.now() - start };
}

/** https://host:port, host:port, [v6]:port or a bare port -> host and port (443 for https URLs). */
export function endpointOf(value: string): { host: string; port: number } | undefined {
  try {
    if (/^https?:\/\//.test(value)) {
      const u = new URL(value);
      return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
    }
  } catch {
    return undefined;
  }
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (m) {
    const port = Number(m[2]);
    return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
  }
  if (/^\d{1,5}$/.test(value.trim())) return { host: '127.0.0.1', port: Number(value.trim()) };
  return undefined;
}

/** host:port (or [v6]:port) only. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  return /^https?:|^\d+$/.test(value.trim()) ? undefined : endpointOf(value);
}

import tls from 'node:tls';

/**
 * One TLS handshake to read what an endpoint serves: the leaf's fingerprint and validity, and
 * whether the chain verifies against the CA given (the environment's root). Verification is
 * checked, not enforced, so a wrong chain is reported rather than hiding the certificate.
 */
export interface Served {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The chain verified against `ca` (and the name matched). */
  authorized: boolean;
  authorizationError?: string;
}

export function handshake(host: string, port: number, options: { ca?: string | undefined; servername?: string | undefined; timeoutMs?: number; signal?: AbortSignal | undefined } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const isIp = /^[\d.]+$|:/.test(host);
    const servername = options.servername ?? (isIp ? undefined : host);
    const socket = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(servername ? { servername } : {}),
    });
    const timeoutMs = options.timeoutMs ?? 3000;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    const onAbort = () => socket.destroy(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    socket.once('secureConnect', () => {
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
      done();
      socket.end();
      if (!peer || !peer.fingerprint256) return reject(new Error(`${host}:${port} presented no certificate`));
      resolve({
        fingerprint: peer.fingerprint256,
        subject: Object.entries(peer.subject ?? {}).map(([k, v]) => `${k}=${v}`).join(', '),
        notBefore: new Date(peer.valid_from).toISOString(),
        notAfter: new Date(peer.valid_to).toISOString(),
        authorized: Boolean(options.ca) && authorized,
        ...(authorizationError ? { authorizationError } : {}),
      });
    });
    socket.once('error', (error) => {
      done();
      reject(error);
    });
  });
}


/** https://host:port or host:port -> host and port (default 443 for https URLs). */
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
  if (m) return { host: m[1]!, port: Number(m[2]) };
  if (/^\d{1,5}$/.test(value.trim())) return { host: '127.0.0.1', port: Number(value.trim()) };
  return undefined;
}

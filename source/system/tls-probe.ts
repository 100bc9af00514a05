import tls from 'node:tls';

/**
 * The certificate an endpoint serves, read from a real TLS handshake. Verification is off on
 * purpose: this only asks *which* certificate is served; trust is checked elsewhere.
 */
export function servedFingerprint(host: string, port: number, servername: string | undefined, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ...(servername && !/^[\d.:]+$/.test(servername) ? { servername } : {}) });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      clearTimeout(timer);
      socket.end();
      if (fp) resolve(fp);
      else reject(new Error(`${host}:${port} presented no certificate`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
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

export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { ExternalError } from '../errors.js';
import { cn } from '../pki/verify.js';
import { handshake } from '../system/tls-probe.js';

/**
 * Looks at what a TLS server really presents: the leaf (its fingerprint on the wire), how many
 * certificates it sent, and whether the chain verifies against the CA we trust — and only that CA.
 * Used to prove a rotation took effect and to turn "unknown authority" into the precise cause.
 */

export interface TlsProbe {
  /** The chain verified to `ca` and the certificate names the host. */
  authorized: boolean;
  /** Node's code or the name mismatch when not authorized (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...). */
  error?: string | undefined;
  leaf: X509Certificate;
  /** Certificates the server sent, leaf first (as far as Node exposes them). */
  sent: X509Certificate[];
  fingerprint: string;
  protocol: string | null;
}

/** What Vault at addr presents, through the one TLS probe (system/tls-probe.ts). */
export async function probeTls(addr: string, ca: string | undefined, timeoutMs = 5000): Promise<TlsProbe> {
  const url = new URL(addr);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  try {
    const served = await handshake(host, port, { ca, timeoutMs });
    return { authorized: served.authorized, error: served.authorized ? undefined : (served.authorizationError ?? 'unknown'), leaf: served.leaf, sent: served.sent, fingerprint: served.fingerprint, protocol: served.protocol };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new ExternalError(`Cannot open a TLS connection to ${host}:${port} (${e.code ?? e.message}).`, 'Check that Vault is running there and listens with TLS (certwright vault-https).', { cause: error });
  }
}

/**
 * The exact cause of a TLS verification failure, with the fix. `caSource` names the file trusted.
 */
export function explainProbe(addr: string, probe: TlsProbe, caSource: string | undefined, ca: string | undefined): ExternalError {
  const where = `Vault at ${addr}`;
  const trusting = caSource ? ` (trusting only ${caSource})` : '';
  const code = probe.error ?? '';
  const anchors = ca ? caCertificates(ca) : [];
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altname|Hostname\/IP does not match/i.test(code)) {
    const host = new URL(addr).hostname.replace(/^\[|\]$/g, '');
    return new ExternalError(
      `${where} presented a certificate that does not name "${host}" (it names ${probe.leaf.subjectAltName ?? 'nothing'}).`,
      `Reach Vault by a name the certificate carries, or re-issue it with that name: certwright vault-cert ... --${net.isIP(host) ? 'ip' : 'dns'} ${host} --renew, then reload Vault.`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return new ExternalError(`${where} presented an expired certificate (valid until ${probe.leaf.validTo}).`, 'Renew it: certwright vault-cert ... --renew --reload-pid PID (or --reload-container NAME).');
  }
  const leafIssuedByAnchor = anchors.some((a) => probe.leaf.checkIssued(a));
  const intermediateSent = probe.sent.slice(1).some((c) => probe.leaf.checkIssued(c));
  if (!leafIssuedByAnchor && !intermediateSent) {
    return new ExternalError(
      `${where} presents only its own certificate (issued by "${probe.leaf.issuer.replace(/\n/g, ', ')}") and no intermediate, so it cannot be verified${trusting}.`,
      'Point tls_cert_file at fullchain.pem (leaf, then intermediates), as `certwright vault-https` renders it, and reload Vault (SIGHUP); or pass --vault-ca with the CA that issued it.',
    );
  }
  const top = probe.sent.at(-1)!;
  return new ExternalError(
    `${where} presented a certificate from an unknown authority${trusting}: its chain ends at "${cn(top)}", issued by "${top.issuer.replace(/\n/g, ', ')}" (${code}).`,
    'Pass --vault-ca or set VAULT_CACERT to the root CA that signed Vault\'s certificate (the environment\'s root-ca.pem), or distribute that CA to this machine.',
  );
}

function caCertificates(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      out.push(new X509Certificate(m[0]));
    } catch {
      /* not a certificate */
    }
  }
  return out;
}

const TLS_VERIFY_CODES = /CERT|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME|UNABLE_TO/;

/**
 * GET a URL over HTTPS trusting only `ca`, returning the raw body (CA and CRL endpoints answer
 * DER). A verification failure is explained by probing what the server presents.
 */
export async function fetchOverTls(url: string, ca: string, caSource: string | undefined, timeoutMs = 10_000): Promise<{ status: number; body: Buffer; contentType: string }> {
  const https = await import('node:https');
  const target = new URL(url);
  if (target.protocol !== 'https:') throw new ExternalError(`${url} is not an https URL.`, 'Use the https address Vault serves (certwright vault-https).');
  try {
    return await new Promise((resolve, reject) => {
      const host = target.hostname.replace(/^\[|\]$/g, '');
      const req = https.request(target, { method: 'GET', ca, rejectUnauthorized: true, timeout: timeoutMs, ...(net.isIP(host) ? {} : { servername: host }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: String(res.headers['content-type'] ?? '') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (TLS_VERIFY_CODES.test(code)) {
      const probe = await probeTls(target.origin, ca, timeoutMs);
      if (!probe.authorized) throw explainProbe(target.origin, probe, caSource, ca);
    }
    throw new ExternalError(`Cannot fetch ${url} (${code || (error as Error).message}).`, 'Check that Vault is running and serves HTTPS at that address.', { cause: error });
  }
}

import { X509Certificate } from 'node:crypto';
import { OperatorError } from '../errors.js';
import { parseCertificates } from './pem.js';

/**
 * Path building with Node's X509Certificate only (no @peculiar/x509, no reflect-metadata), so the
 * CI-side commands (build-cert, verify-tls, hashdir) stay cheap to start. OpenSSL remains the
 * independent verifier in the tests.
 */

export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  if (!child.checkIssued(parent)) return false;
  try {
    return child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return issuedBy(cert, cert);
}

export function validAt(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

/** Extended key usages as OIDs (Node names the property keyUsage, but it holds the EKU). */
export function extendedKeyUsages(cert: X509Certificate): string[] {
  return cert.keyUsage ?? [];
}

export function subjectLine(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

export function issuerLine(cert: X509Certificate): string {
  return cert.issuer.replace(/\n/g, ', ');
}

export function commonNameOf(cert: X509Certificate): string | undefined {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  return m ? m[1] : undefined;
}

/** DNS names in subjectAltName (Node's comma-joined text form). */
export function dnsNames(cert: X509Certificate): string[] {
  const text = cert.subjectAltName ?? '';
  return text
    .split(/,\s*/)
    .filter((part) => part.startsWith('DNS:'))
    .map((part) => part.slice(4));
}

export function uniqueCertificates(certs: X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((c) => {
    if (seen.has(c.fingerprint256)) return false;
    seen.add(c.fingerprint256);
    return true;
  });
}

export interface TrustAnchors {
  file: string;
  anchors: X509Certificate[];
  /** CA certificates in the file that are not self-signed (usable as intermediates). */
  extra: X509Certificate[];
}

/** Reads a CA file: its self-signed certificates are the anchors; a file without one is refused. */
export function trustAnchorsFrom(text: string, file: string, flag: string): TrustAnchors {
  const certs = parseCertificates(text, `${flag} ${file}`);
  const anchors = certs.filter((c) => c.ca && isSelfSigned(c));
  if (anchors.length === 0) {
    throw new OperatorError(
      `${flag} ${file} holds no self-signed root CA certificate.`,
      'OpenSSL and PostgreSQL only end a chain at a self-signed root; pass the root CA (root-ca.pem), optionally followed by intermediates.',
    );
  }
  return { file, anchors, extra: certs.filter((c) => c.ca && !isSelfSigned(c)) };
}

export interface BuiltPath {
  /** start, then each intermediate up to the one the anchor signed. */
  path: X509Certificate[];
  anchor: X509Certificate;
}

/**
 * Finds a path from `start` through certificates of `pool` to one of `anchors` (depth-first, in the
 * pool's order, so the order Vault hands the chain out in is preferred). Expired certificates and
 * loops are skipped. Undefined when there is no path.
 */
export function buildPath(start: X509Certificate, pool: X509Certificate[], anchors: X509Certificate[], at = new Date(), maxDepth = 8): BuiltPath | undefined {
  const candidates = uniqueCertificates(pool.filter((c) => c.ca && !isSelfSigned(c) && validAt(c, at)));
  const walk = (current: X509Certificate, path: X509Certificate[], seen: Set<string>): BuiltPath | undefined => {
    for (const anchor of anchors) {
      if (validAt(anchor, at) && issuedBy(current, anchor)) return { path, anchor };
    }
    if (path.length > maxDepth) return undefined;
    for (const next of candidates) {
      if (seen.has(next.fingerprint256) || !issuedBy(current, next)) continue;
      const found = walk(next, [...path, next], new Set([...seen, next.fingerprint256]));
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start], new Set([start.fingerprint256]));
}

/**
 * A path from an issuing CA (not a leaf) to one of `anchors`, trying the CA itself and every twin
 * of it in the pool (same subject, same public key: what a leaf it signed chains through), so a
 * cross-signed intermediate reaches either root.
 */
export function buildIssuerPath(issuer: X509Certificate, pool: X509Certificate[], anchors: X509Certificate[], at = new Date()): BuiltPath | undefined {
  const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
  const key = spki(issuer);
  const twins = uniqueCertificates([issuer, ...pool.filter((c) => c.ca && c.subject === issuer.subject && spki(c).equals(key))]);
  for (const twin of twins) {
    if (!validAt(twin, at)) continue;
    const found = buildPath(twin, pool, anchors, at);
    if (found) return found;
  }
  return undefined;
}

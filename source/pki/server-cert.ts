import net from 'node:net';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { UsageError, OperatorError } from '../errors.js';
import { certPem } from './pem.js';

/** Names on a server certificate, and the four files a TLS server and its clients need. */

export interface ServerNames {
  dns: string[];
  ips: string[];
}

const HOST_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function normaliseIp(ip: string): string | undefined {
  const bare = ip.trim().replace(/^\[|\]$/g, '');
  const family = net.isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
  return undefined;
}

export function parseServerNames(dns: string[], ips: string[]): ServerNames {
  const outDns: string[] = [];
  for (const raw of dns) {
    const name = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!HOST_RE.test(name)) throw new UsageError(`--dns "${raw}" is not a host name.`, 'Pass DNS names separated by commas, e.g. --dns vault.example,localhost (no wildcards for a server certificate).');
    if (!outDns.includes(name)) outDns.push(name);
  }
  const outIps: string[] = [];
  for (const raw of ips) {
    const ip = normaliseIp(raw);
    if (!ip) throw new UsageError(`--ip "${raw}" is not an IP address.`, 'Pass IPv4 or IPv6 addresses separated by commas, e.g. --ip 127.0.0.1,::1.');
    if (!outIps.includes(ip)) outIps.push(ip);
  }
  if (outDns.length === 0) throw new UsageError('--dns is required: a server certificate needs at least one DNS name (it becomes the common name).', 'Pass e.g. --dns localhost or --dns vault.example.');
  return { dns: outDns, ips: outIps };
}

/** The SANs a certificate carries, normalised like parseServerNames. */
export function certNames(cert: X509Certificate): ServerNames {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) {
      const ip = normaliseIp(part.slice(11));
      if (ip) ips.push(ip);
    }
  }
  return { dns, ips };
}

export function sameNames(a: ServerNames, b: ServerNames): boolean {
  const key = (n: ServerNames) => JSON.stringify([[...n.dns].sort(), [...n.ips].sort()]);
  return key(a) === key(b);
}

export function describeNames(n: ServerNames): string {
  return [...n.dns.map((d) => `DNS:${d}`), ...n.ips.map((i) => `IP:${i}`)].join(', ') || 'no names';
}

/** Does the certificate carry this host (name or IP) as a SAN? */
export function namesHost(cert: X509Certificate, host: string): boolean {
  const ip = normaliseIp(host);
  if (ip) return certNames(cert).ips.includes(ip);
  return cert.checkHost(host, { subject: 'never' }) !== undefined;
}

export function hasServerAuth(cert: X509Certificate): boolean {
  const eku = cert.keyUsage;
  return eku === undefined || eku.includes('1.3.6.1.5.5.7.3.1');
}

export interface ServerBundle {
  leaf: X509Certificate;
  intermediates: X509Certificate[];
  root: X509Certificate;
  /** leaf then intermediates, as a server presents it (tls_cert_file). */
  fullchain: string;
  /** intermediates then root, for clients and for checking. */
  caChain: string;
  cert: string;
}

/**
 * Orders what Vault's issue endpoint returned. The root comes from the chain when the mount holds
 * it (the foundation imports it), else from `fallbackRoot`.
 */
export function buildServerBundle(leaf: X509Certificate, chain: X509Certificate[], fallbackRoot: X509Certificate | undefined): ServerBundle {
  const intermediates: X509Certificate[] = [];
  let root: X509Certificate | undefined;
  // Walk upward from the leaf so the order is right whatever order Vault returned.
  let current = leaf;
  const pool = [...chain, ...(fallbackRoot ? [fallbackRoot] : [])];
  for (let depth = 0; depth < 8; depth += 1) {
    const parent = pool.find((c) => current.checkIssued(c) && c.fingerprint256 !== current.fingerprint256);
    if (!parent) break;
    if (parent.checkIssued(parent)) {
      root = parent;
      break;
    }
    intermediates.push(parent);
    current = parent;
  }
  if (!root) {
    throw new OperatorError(
      'The chain Vault returned does not reach a root certificate, so ca-chain.pem cannot be written.',
      'Import the root into the mount with the intermediate (certwright intermediate install does), or run this on the machine that holds the environment\'s root-ca.pem.',
    );
  }
  if (intermediates.length === 0) throw new OperatorError('The server certificate was issued directly by the root; certwright expects an intermediate in Vault.', 'Issue from the intermediate mount (--mount).');
  const fullchain = [leaf, ...intermediates].map(certPem).join('');
  const caChain = [...intermediates, root].map(certPem).join('');
  return { leaf, intermediates, root, fullchain, caChain, cert: certPem(leaf) };
}

export function keyMatchesCert(keyPem: string, cert: X509Certificate): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey, createHash, type KeyObject } from 'node:crypto';

/**
 * Certificate and key files, read with Node's X509Certificate (no ASN.1 library on this path)
 * and cached by (inode, size, mtime): a refresh re-stats every file but re-reads and re-parses
 * only the ones that changed. Keys are cached by content hash, so one key shared by many leaves
 * is parsed once. Signature checks are memoised per (certificate, issuer) pair.
 */

export interface CertFile {
  certs: X509Certificate[];
  sha256: string;
}

export type CertRead = { ok: true; file: CertFile } | { ok: false; reason: string; missing: boolean };

interface Entry<T> {
  sig: string;
  value: T;
}

const certCache = new Map<string, Entry<CertRead>>();
const keyCache = new Map<string, Entry<KeyRead>>();
const keyByContent = new Map<string, KeyObject>();
const verified = new Map<string, boolean>();

function statSig(file: string): { sig: string } | { error: NodeJS.ErrnoException } {
  try {
    const st = fs.statSync(file);
    return { sig: `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` };
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

function reason(error: NodeJS.ErrnoException, file: string): string {
  if (error.code === 'ENOENT') return `${file} does not exist`;
  if (error.code === 'EACCES') return `${file} is not readable by this user`;
  return `${file} cannot be read (${error.code ?? error.message})`;
}

const CERT_RE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

export function parsePemCertificates(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of text.matchAll(CERT_RE)) out.push(new X509Certificate(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

export function readCertFile(file: string): CertRead {
  const s = statSig(file);
  if ('error' in s) {
    certCache.delete(file);
    return { ok: false, reason: reason(s.error, file), missing: s.error.code === 'ENOENT' };
  }
  const hit = certCache.get(file);
  if (hit && hit.sig === s.sig) return hit.value;
  let value: CertRead;
  try {
    const bytes = fs.readFileSync(file);
    const text = bytes.toString('utf8');
    const begins = (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
    const certs = parsePemCertificates(text);
    if (certs.length === 0) value = { ok: false, reason: `${file} holds no PEM certificate`, missing: false };
    else if (certs.length !== begins) value = { ok: false, reason: `${file} holds a truncated or damaged certificate`, missing: false };
    else value = { ok: true, file: { certs, sha256: createHash('sha256').update(bytes).digest('hex') } };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    value = { ok: false, reason: e.code ? reason(e, file) : `${file} cannot be parsed: ${e.message}`, missing: e.code === 'ENOENT' };
  }
  certCache.set(file, { sig: s.sig, value });
  return value;
}

export type KeyRead = { ok: true; key: KeyObject } | { ok: false; reason: string };

export function readKeyFile(file: string): KeyRead {
  const s = statSig(file);
  if ('error' in s) {
    keyCache.delete(file);
    return { ok: false, reason: reason(s.error, file) };
  }
  const hit = keyCache.get(file);
  if (hit && hit.sig === s.sig) return hit.value;
  let value: KeyRead;
  try {
    const bytes = fs.readFileSync(file);
    const h = createHash('sha256').update(bytes).digest('hex');
    let key = keyByContent.get(h);
    if (!key) {
      const text = bytes.toString('utf8');
      const block = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]+?-----END \1-----/.exec(text);
      if (!block) throw Object.assign(new Error(`${file} holds no PEM private key`), { code: undefined });
      key = createPrivateKey(block[0]);
      keyByContent.set(h, key);
    }
    value = { ok: true, key };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    value = { ok: false, reason: e.code && e.code.startsWith('E') && !e.code.startsWith('ERR_') ? reason(e, file) : `${file}: ${e.message}` };
  }
  keyCache.set(file, { sig: s.sig, value });
  return value;
}

export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.subject === cert.issuer && signedBy(cert, cert);
}

export function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  const k = `${cert.fingerprint256}>${issuer.fingerprint256}`;
  const hit = verified.get(k);
  if (hit !== undefined) return hit;
  let ok = false;
  try {
    ok = cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    ok = false;
  }
  verified.set(k, ok);
  return ok;
}

export function subjectLine(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).join(', ');
}

export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter(Boolean)
    .map((s) => s.replace(/^DNS:/, '').replace(/^IP Address:/, ''));
}

/**
 * Builds the path from `cert` up to `root` through `pool`, checking every signature and every
 * certificate's validity period. Returns the path or the first reason it breaks.
 */
export function chainToRoot(cert: X509Certificate, pool: Map<string, X509Certificate[]>, root: X509Certificate, now: Date): { ok: true; path: X509Certificate[] } | { ok: false; reason: string } {
  const chain: X509Certificate[] = [cert];
  let current = cert;
  for (let depth = 0; depth < 8; depth += 1) {
    const notAfter = new Date(current.validTo);
    if (notAfter < now) return { ok: false, reason: `${subjectLine(current)} expired on ${notAfter.toISOString()}` };
    if (new Date(current.validFrom) > now) return { ok: false, reason: `${subjectLine(current)} is not valid before ${new Date(current.validFrom).toISOString()}` };
    if (current.fingerprint256 === root.fingerprint256) return { ok: true, path: chain };
    if (current.issuer === root.subject && signedBy(current, root)) {
      current = root;
      chain.push(root);
      continue;
    }
    const candidates = (pool.get(current.issuer) ?? []).filter((c) => c.fingerprint256 !== current.fingerprint256 && signedBy(current, c));
    if (candidates.length === 0) {
      if (current.subject === current.issuer) return { ok: false, reason: `it ends at ${subjectLine(current)}, which is not the environment's root` };
      return { ok: false, reason: `no certificate for its issuer ${current.issuer.split('\n').join(', ')} is known (chain file or the environment's intermediates)` };
    }
    // Prefer a valid issuer (a renewed intermediate next to an expired one).
    const next = candidates.find((c) => new Date(c.validTo) > now) ?? candidates[0]!;
    chain.push(next);
    current = next;
  }
  return { ok: false, reason: 'the chain is longer than 8 certificates' };
}

export function poolOf(certs: Iterable<X509Certificate>): Map<string, X509Certificate[]> {
  const pool = new Map<string, X509Certificate[]>();
  const seen = new Set<string>();
  for (const c of certs) {
    if (!c.ca || seen.has(c.fingerprint256)) continue;
    seen.add(c.fingerprint256);
    const list = pool.get(c.subject) ?? [];
    list.push(c);
    pool.set(c.subject, list);
  }
  return pool;
}

/** Files under a directory that look like certificates (depth-limited; versions/ skipped). */
export function scanCertDir(dir: string, depth = 3): { files: string[]; error?: string } {
  const out: string[] = [];
  const walk = (d: string, level: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (error) {
      if (level === 0) throw error;
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (level < depth && e.name !== 'versions') walk(p, level + 1);
      } else if ((e.isFile() || e.isSymbolicLink()) && /\.(pem|crt|cer)$/i.test(e.name) && !/key/i.test(e.name) && !/^(bundle|fullchain)\.pem$/.test(e.name)) {
        out.push(p);
      }
    }
  };
  try {
    walk(path.resolve(dir), 0);
  } catch (error) {
    return { files: [], error: reason(error as NodeJS.ErrnoException, dir) };
  }
  return { files: out.sort() };
}

/** The key that goes with a certificate file, by certwright's naming conventions. */
export function keyCandidates(certFile: string): string[] {
  const dir = path.dirname(certFile);
  const base = path.basename(certFile).replace(/\.(pem|crt|cer)$/i, '');
  const names = [`${base}.key`, `${base}-key.pem`, `${base}.key.pem`];
  if (base === 'cert' || base === 'server' || base === 'fullchain') names.push('key.pem', 'server.key', 'privkey.pem');
  return names.map((n) => path.join(dir, n));
}

export function fileExists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
}

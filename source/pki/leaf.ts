import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { OperatorError } from '../errors.js';
import { parseCertificates, certPem } from './pem.js';

/**
 * Leaf checks for the agent hook, with Node's X509Certificate only (no @peculiar import: the hook
 * runs at every rotation and should start fast).
 */

/** The private key in a PEM text; truncated or damaged PEM is an operator error naming the source. */
export function parsePrivateKeyPem(text: string, source: string): KeyObject {
  const begin = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----/.exec(text);
  if (!begin) throw new OperatorError(`${source} holds no PEM private key.`, 'Check the template: the payload needs the key PEM in "private_key".');
  if (!text.includes(`-----END ${begin[1]}-----`)) {
    throw new OperatorError(`${source} holds a truncated private key (no END line).`, 'Render the payload again (the agent rewrites it on the next issue); a truncated file must not be used.');
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new OperatorError(`The private key in ${source} cannot be parsed: ${(error as Error).message}.`, 'Render the payload again; the key is damaged.', { cause: error });
  }
}

export function keyMatchesCertificate(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export interface ChainResult {
  /** leaf first, then each issuer up to and including the root. */
  path: X509Certificate[];
  root: X509Certificate;
}

/**
 * Builds leaf -> ... -> root from the pool and checks it: names, signatures, CA flags, validity.
 * With anchors, the root must be one of them (a pinned root); without, the pool's own self-signed
 * root is used. Throws an OperatorError that says which link failed.
 */
export function verifyLeafChain(leaf: X509Certificate, pool: X509Certificate[], anchors: X509Certificate[] | undefined, source: string, at = new Date()): ChainResult {
  const fail = (why: string): never => {
    throw new OperatorError(`The certificate chain in ${source} does not verify: ${why}.`, anchors ? 'The leaf must chain to the pinned root (--trust). If the root was rotated, re-run `certwright agent app|proxy` to pin the new one.' : 'Check the payload: it must carry the issuing CA chain of the leaf.');
  };
  const candidates = [...pool, ...(anchors ?? [])];
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < 8; depth += 1) {
    if (isSelfSigned(current)) break;
    const parent = candidates.find((c) => c.fingerprint256 !== current.fingerprint256 && issuedBy(current, c));
    if (!parent) fail(`no certificate in the chain issued "${subject(current)}" (issuer "${current.issuer.replace(/\n/g, ', ')}")`);
    if (!parent!.ca) fail(`"${subject(parent!)}" signed "${subject(current)}" but is not a CA`);
    path.push(parent!);
    current = parent!;
  }
  const root = path[path.length - 1]!;
  if (!isSelfSigned(root)) fail('the chain does not end at a self-signed root');
  if (anchors && !anchors.some((a) => a.fingerprint256 === root.fingerprint256)) fail(`its root "${subject(root)}" (${root.fingerprint256}) is not the pinned root`);
  for (const cert of path) {
    if (new Date(cert.validFrom).getTime() > at.getTime() + 5 * 60_000) fail(`"${subject(cert)}" is not valid before ${cert.validFrom}`);
    if (new Date(cert.validTo) < at) fail(`"${subject(cert)}" expired on ${cert.validTo}`);
  }
  return { path, root };
}

/** Checks that a CA bundle is a set of CA certificates that chain to a self-signed root (pinned when anchors are given). */
export function verifyCaBundle(certs: X509Certificate[], anchors: X509Certificate[] | undefined, source: string, at = new Date()): X509Certificate {
  const notCa = certs.find((c) => !c.ca);
  if (notCa) throw new OperatorError(`${source} holds "${subject(notCa)}", which is not a CA certificate.`, 'A CA payload carries only the issuing CA chain (intermediates and root).');
  let root: X509Certificate | undefined;
  for (const cert of certs) {
    const result = verifyLeafChain(cert, certs, anchors, source, at);
    root = result.root;
  }
  return root!;
}

export function subject(cert: X509Certificate): string {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  return m ? m[1]! : cert.subject.replace(/\n/g, ', ');
}

export function pemOf(certs: X509Certificate[]): string {
  return certs.map(certPem).join('');
}

export function parseCertificatesLoose(text: string | undefined, source: string): X509Certificate[] {
  if (!text || !text.includes('-----BEGIN')) return [];
  return parseCertificates(text, source);
}

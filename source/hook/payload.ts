import type { KeyObject, X509Certificate } from 'node:crypto';
import { OperatorError } from '../errors.js';
import { parseCertificates } from '../pki/pem.js';
import { parsePrivateKeyPem, keyMatchesCertificate, verifyLeafChain, verifyCaBundle, parseCertificatesLoose, pemOf, subject } from '../pki/leaf.js';

/**
 * The JSON payload the agent's template renders for `certwright hook`.
 *
 * Leaf payload (app agent):  {"certificate": PEM, "private_key": PEM, "issuing_ca": PEM, "ca_chain"?: PEM | PEM[]}
 * Chain payload (proxy agent): {"ca_chain": PEM | PEM[]}
 *
 * PEM values are strings as Vault returns them (a trailing newline is optional).
 */

export interface LeafPayload {
  kind: 'leaf';
  leaf: X509Certificate;
  key: KeyObject;
  keyPem: string;
  /** Files as they will be written. */
  files: { key: string; cert: string; chain: string; fullchain: string; bundle: string };
  serial: string;
  fingerprint: string;
  notAfter: string;
  commonName: string;
}

export interface ChainPayload {
  kind: 'chain';
  certs: X509Certificate[];
  pem: string;
  root: X509Certificate;
}

export type Payload = LeafPayload | ChainPayload;

function asPemText(value: unknown, field: string, source: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value.endsWith('\n') ? value : `${value}\n`;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => (v.endsWith('\n') ? v : `${v}\n`)).join('');
  throw new OperatorError(`"${field}" in ${source} is neither a PEM string nor a list of them.`, 'Check the agent template that renders the payload.');
}

export function parsePayloadJson(text: string, source: string): Record<string, unknown> {
  if (text.trim() === '') throw new OperatorError(`${source} is empty.`, 'Pass the file the agent template rendered (--payload FILE), or pipe it on stdin.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OperatorError(`${source} is not valid JSON (${(error as Error).message}); it may be truncated.`, 'Render the payload again; certwright does not act on a damaged payload.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new OperatorError(`${source} is not a JSON object.`, 'The payload is an object with "certificate"/"private_key" (app) or "ca_chain" (proxy).');
  return parsed as Record<string, unknown>;
}

/**
 * Parses and checks a payload before anything is written: PEM complete, key matches the leaf,
 * leaf chains to the (pinned) root. Any failure is an OperatorError; nothing has been touched.
 */
export function checkPayload(raw: Record<string, unknown>, source: string, anchors: X509Certificate[] | undefined): Payload {
  const keyText = asPemText(raw.private_key, 'private_key', source);
  const chainText = asPemText(raw.ca_chain, 'ca_chain', source);
  const issuingText = asPemText(raw.issuing_ca, 'issuing_ca', source);
  if (!keyText) {
    if (!chainText && !issuingText) throw new OperatorError(`${source} has neither a private key nor a CA chain.`, 'An app payload carries "certificate" and "private_key"; a proxy payload carries "ca_chain".');
    const certs = dedupe([...parseCertificatesLoose(issuingText, `${source} (issuing_ca)`), ...parseCertificatesLoose(chainText, `${source} (ca_chain)`)]);
    if (certs.length === 0) throw new OperatorError(`${source} carries no CA certificate.`, 'Check the agent template: "ca_chain" must hold PEM certificates.');
    const root = verifyCaBundle(certs, anchors, source);
    return { kind: 'chain', certs, pem: pemOf(certs), root };
  }
  const certText = asPemText(raw.certificate, 'certificate', source);
  if (!certText) throw new OperatorError(`${source} has a private key but no "certificate".`, 'Check the agent template: it renders .Cert into "certificate".');
  const key = parsePrivateKeyPem(keyText, `${source} (private_key)`);
  const certs = parseCertificates(certText, `${source} (certificate)`);
  const leaf = certs[0]!;
  if (leaf.ca) throw new OperatorError(`The "certificate" in ${source} is a CA certificate, not a leaf.`, 'The app payload carries the issued leaf first.');
  if (!keyMatchesCertificate(leaf, key)) {
    throw new OperatorError(`The private key in ${source} does not match its certificate (${subject(leaf)}, serial ${leaf.serialNumber}).`, 'Render cert and key from the same pkiCert call (one template); never combine two issues.');
  }
  const pool = dedupe([...certs.slice(1), ...parseCertificatesLoose(issuingText, `${source} (issuing_ca)`), ...parseCertificatesLoose(chainText, `${source} (ca_chain)`)]);
  const { path } = verifyLeafChain(leaf, pool, anchors, source);
  if (path.length < 2) throw new OperatorError(`The certificate in ${source} is self-signed.`, 'The app payload carries a leaf issued by the intermediate.');
  const intermediates = path.slice(1, -1);
  const cas = path.slice(1);
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const fullchain = pemOf([leaf, ...intermediates]);
  return {
    kind: 'leaf',
    leaf,
    key,
    keyPem,
    files: { key: keyPem, cert: pemOf([leaf]), chain: pemOf(cas), fullchain, bundle: `${keyPem}${fullchain}` },
    serial: leaf.serialNumber.toLowerCase(),
    fingerprint: leaf.fingerprint256,
    notAfter: new Date(leaf.validTo).toISOString(),
    commonName: subject(leaf),
  };
}

function dedupe(certs: X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((c) => (seen.has(c.fingerprint256) ? false : (seen.add(c.fingerprint256), true)));
}

import { X509Certificate, createHash } from 'node:crypto';
import { OperatorError } from '../errors.js';

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

export interface PemBlock {
  label: string;
  der: Buffer;
  pem: string;
}

export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK_RE)) {
    const body = match[2]!.replace(/\s+/g, '');
    blocks.push({ label: match[1]!, der: Buffer.from(body, 'base64'), pem: `${match[0].replace(/\r/g, '')}\n` });
  }
  return blocks;
}

export function toPem(label: string, derBytes: Uint8Array): string {
  const b64 = Buffer.from(derBytes).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Every certificate in a PEM text, in order. Malformed or truncated PEM is an operator error. */
export function parseCertificates(text: string, source: string): X509Certificate[] {
  const blocks = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  const begins = (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  if (blocks.length === 0 || begins !== blocks.length) {
    throw new OperatorError(
      begins > blocks.length ? `${source} holds a truncated or damaged certificate.` : `${source} does not contain a PEM certificate.`,
      'Check that the file is complete: each certificate starts with -----BEGIN CERTIFICATE----- and ends with -----END CERTIFICATE-----.',
    );
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block.der);
    } catch (error) {
      throw new OperatorError(`Certificate ${index + 1} in ${source} cannot be parsed: ${(error as Error).message}`, 'Check that the file is complete and was copied without changes.', { cause: error });
    }
  });
}

export function parseCertificate(text: string, source: string): X509Certificate {
  const certs = parseCertificates(text, source);
  return certs[0]!;
}

export function certPem(cert: X509Certificate): string {
  return toPem('CERTIFICATE', cert.raw);
}

/** SHA-256 fingerprint as colon-separated upper-case hex (what openssl prints). */
export function fingerprint(cert: X509Certificate): string {
  return cert.fingerprint256;
}

export function sha256Colon(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** Normalises a serial to colon-separated lower-case hex, as Vault prints it. */
export function vaultSerial(serial: string): string {
  const hex = serial.replace(/[:-]/g, '').toLowerCase();
  const even = hex.length % 2 ? `0${hex}` : hex;
  return even.match(/../g)!.join(':');
}

export function samePublicKey(a: X509Certificate, b: X509Certificate): boolean {
  return a.publicKey.export({ type: 'spki', format: 'der' }).equals(b.publicKey.export({ type: 'spki', format: 'der' }));
}

import crypto, { type X509Certificate } from 'node:crypto';
import { readTlv, tlvChildren, type Tlv } from './der.js';

/**
 * CRL facts for status and doctor, without the certificate libraries (they must stay cheap): a
 * minimal DER walk over a certificate's CRL distribution points and over a CRL's tbsCertList.
 */

const read = readTlv;
const kids = tlvChildren;

function oidText(buf: Buffer, t: Tlv): string {
  const b = buf.subarray(t.start, t.end);
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let n = 0;
  for (const byte of b.subarray(1)) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

function time(buf: Buffer, t: Tlv): Date {
  const s = buf.subarray(t.start, t.end).toString('latin1');
  const full = t.tag === 0x17 ? `${Number(s.slice(0, 2)) >= 50 ? '19' : '20'}${s}` : s;
  return new Date(`${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`);
}

/** The URIs of a certificate's CRL distribution points (id-ce-cRLDistributionPoints). */
export function crlDistributionUrls(cert: X509Certificate): string[] {
  const der = cert.raw;
  const tbs = kids(der, read(der, 0))[0]!;
  const ext = kids(der, tbs).find((t) => t.tag === 0xa3);
  if (!ext) return [];
  const urls: string[] = [];
  for (const e of kids(der, kids(der, ext)[0]!)) {
    const parts = kids(der, e);
    if (oidText(der, parts[0]!) !== '2.5.29.31') continue;
    const value = parts.at(-1)!;
    const inner = der.subarray(value.start, value.end);
    // DistributionPoint -> [0] fullName -> GeneralName [6] uniformResourceIdentifier
    const walk = (buf: Buffer, t: Tlv): void => {
      if (t.tag === 0x86) urls.push(buf.subarray(t.start, t.end).toString('latin1'));
      else if (t.tag & 0x20) for (const c of kids(buf, t)) walk(buf, c);
    };
    walk(inner, read(inner, 0));
  }
  return urls;
}

export interface CrlFacts {
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  number: number | undefined;
  /** The CRL's signature verifies with this certificate's key. */
  signedBy: (cert: X509Certificate) => boolean;
}

const HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** A CRL in DER or PEM: its dates, its CRL number, and a signature check. */
export function readCrlLite(data: Buffer): CrlFacts {
  const text = data.toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(text);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : data;
  const [tbs, alg, sig] = kids(der, read(der, 0));
  if (!tbs || !alg || !sig) throw new Error('not a CRL');
  const fields = kids(der, tbs);
  let i = fields[0]?.tag === 0x02 ? 1 : 0; // version
  i += 2; // signature algorithm, issuer
  const thisUpdate = time(der, fields[i++]!);
  const maybeNext = fields[i];
  const nextUpdate = maybeNext && (maybeNext.tag === 0x17 || maybeNext.tag === 0x18) ? time(der, maybeNext) : undefined;
  let number: number | undefined;
  const exts = fields.find((f) => f.tag === 0xa0);
  if (exts) {
    for (const e of kids(der, kids(der, exts)[0]!)) {
      const parts = kids(der, e);
      if (oidText(der, parts[0]!) !== '2.5.29.20') continue;
      const value = parts.at(-1)!;
      const inner = der.subarray(value.start, value.end);
      const int = read(inner, 0);
      number = Number(BigInt(`0x${inner.subarray(int.start, int.end).toString('hex') || '0'}`));
    }
  }
  const hash = HASH[oidText(der, kids(der, alg)[0]!)];
  const signature = der.subarray(sig.start + 1, sig.end); // BIT STRING: skip the unused-bits octet
  return {
    thisUpdate,
    nextUpdate,
    number,
    signedBy: (cert) => Boolean(hash) && crypto.verify(hash!, tbs.raw, cert.publicKey, signature),
  };
}

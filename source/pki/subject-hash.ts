import { createHash, type X509Certificate } from 'node:crypto';
import { readTlv, tlvChildren, type Tlv } from './der.js';

/**
 * OpenSSL's subject name hash (`openssl x509 -subject_hash`, the ≥1.0 form that -CApath looks
 * up), computed without running openssl: SHA-1 over the name's canonical encoding, first four
 * bytes read little-endian. The canonical encoding is OpenSSL's x509_name_canon: each RDN as a
 * DER SET OF its attributes, the RDNs concatenated without the outer SEQUENCE; every string value
 * of a "canonical" type is turned into UTF8String, stripped of leading and trailing ASCII
 * white space, inner runs of white space collapsed to one space, ASCII letters lower-cased.
 * Comparing canonical encodings is also how OpenSSL decides that two names are equal.
 */

const children = tlvChildren;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** The DER Name of a certificate's subject (or issuer). */
export function certificateName(cert: X509Certificate, which: 'subject' | 'issuer' = 'subject'): Buffer {
  const der = cert.raw;
  const certificate = readTlv(der, 0);
  const tbs = children(der, certificate)[0]!;
  const fields = children(der, tbs);
  // [0] version is optional; then serial, signature, issuer, validity, subject.
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const field = fields[base + (which === 'issuer' ? 2 : 4)];
  if (!field || field.tag !== 0x30) throw new Error('certificate has no name where one belongs');
  return Buffer.from(field.raw);
}

const CANON_TAGS = new Set([0x0c /* UTF8 */, 0x1e /* BMP */, 0x1c /* Universal */, 0x13 /* Printable */, 0x14 /* T61 */, 0x16 /* IA5 */, 0x1a /* Visible */]);

function toUtf8(tag: number, content: Buffer): Buffer {
  switch (tag) {
    case 0x0c:
      return Buffer.from(content.toString('utf8'), 'utf8');
    case 0x1e: {
      let s = '';
      for (let i = 0; i + 1 < content.length; i += 2) s += String.fromCharCode(content.readUInt16BE(i));
      return Buffer.from(s, 'utf8');
    }
    case 0x1c: {
      let s = '';
      for (let i = 0; i + 3 < content.length; i += 4) s += String.fromCodePoint(content.readUInt32BE(i));
      return Buffer.from(s, 'utf8');
    }
    default:
      // Printable, IA5, Visible and T61 are one byte per character (T61 read as Latin-1, as OpenSSL does).
      return Buffer.from(content.toString('latin1'), 'utf8');
  }
}

const isSpace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

function canonValue(buf: Buffer, value: Tlv): Buffer {
  if (!CANON_TAGS.has(value.tag)) return Buffer.from(value.raw);
  const bytes = toUtf8(value.tag, buf.subarray(value.start, value.end));
  let from = 0;
  let to = bytes.length;
  while (from < to && isSpace(bytes[from]!)) from += 1;
  while (to > from && isSpace(bytes[to - 1]!)) to -= 1;
  const out: number[] = [];
  for (let i = from; i < to; ) {
    const b = bytes[i]!;
    if (b >= 0x80) {
      out.push(b);
      i += 1;
    } else if (isSpace(b)) {
      out.push(0x20);
      while (i < to && isSpace(bytes[i]!)) i += 1;
    } else {
      out.push(b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
      i += 1;
    }
  }
  return tlv(0x0c, Buffer.from(out));
}

function derCompare(a: Buffer, b: Buffer): number {
  const c = Buffer.compare(a.subarray(0, Math.min(a.length, b.length)), b.subarray(0, Math.min(a.length, b.length)));
  return c !== 0 ? c : a.length - b.length;
}

/** OpenSSL's canonical encoding of a DER Name. */
export function canonicalName(name: Buffer): Buffer {
  const seq = readTlv(name, 0);
  const parts: Buffer[] = [];
  for (const rdn of children(name, seq)) {
    const avas = children(name, rdn).map((ava) => {
      const [type, value] = children(name, ava);
      if (!type || !value) throw new Error('malformed attribute in name');
      return tlv(0x30, Buffer.concat([Buffer.from(type.raw), canonValue(name, value)]));
    });
    avas.sort(derCompare);
    parts.push(tlv(0x31, Buffer.concat(avas)));
  }
  return Buffer.concat(parts);
}

/** `openssl x509 -subject_hash` as 8 lower-case hex digits. */
export function nameHash(name: Buffer): string {
  const md = createHash('sha1').update(canonicalName(name)).digest();
  return md.readUInt32LE(0).toString(16).padStart(8, '0');
}

export function subjectHash(cert: X509Certificate): string {
  return nameHash(certificateName(cert, 'subject'));
}

export function issuerHash(cert: X509Certificate): string {
  return nameHash(certificateName(cert, 'issuer'));
}

/** Whether two names are the same name to OpenSSL (X509_NAME_cmp on canonical encodings). */
export function sameName(a: Buffer, b: Buffer): boolean {
  return canonicalName(a).equals(canonicalName(b));
}

function decodeOid(content: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

export interface NameAttribute {
  oid: string;
  value: string;
  /** Index of the RDN it belongs to (attributes sharing one are a multi-valued RDN). */
  rdn: number;
}

/** The attributes of a DER Name in order, values decoded to text. */
export function nameAttributes(name: Buffer): NameAttribute[] {
  const seq = readTlv(name, 0);
  const out: NameAttribute[] = [];
  children(name, seq).forEach((rdn, index) => {
    for (const ava of children(name, rdn)) {
      const [type, value] = children(name, ava);
      if (!type || !value || type.tag !== 0x06) throw new Error('malformed attribute in name');
      const text = CANON_TAGS.has(value.tag) ? toUtf8(value.tag, name.subarray(value.start, value.end)).toString('utf8') : name.subarray(value.start, value.end).toString('latin1');
      out.push({ oid: decodeOid(name.subarray(type.start, type.end)), value: text, rdn: index });
    }
  });
  return out;
}

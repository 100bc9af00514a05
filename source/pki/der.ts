/**
 * Minimal DER: an encoder for the few structures we write by hand (PBES2 EncryptedPrivateKeyInfo)
 * and a reader for the few we walk without the certificate libraries (names for the subject hash,
 * CRL facts for status).
 */

export interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  end: number;
  /** The whole TLV, header included. */
  raw: Buffer;
}

export function readTlv(buf: Buffer, offset: number): Tlv {
  const tag = buf[offset];
  if (tag === undefined) throw new Error('DER: unexpected end');
  let pos = offset + 1;
  const first = buf[pos++];
  if (first === undefined) throw new Error('DER: unexpected end');
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + (buf[pos++] ?? 0);
  }
  const end = pos + length;
  if (end > buf.length) throw new Error('DER: length beyond the data');
  return { tag, start: pos, end, raw: buf.subarray(offset, end) };
}

/** The TLVs inside a constructed one. */
export function tlvChildren(buf: Buffer, tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = tlv.start; pos < tlv.end; ) {
    const child = readTlv(buf, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  let n = length;
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export const der = {
  sequence: (...items: Buffer[]) => tlv(0x30, Buffer.concat(items)),
  octetString: (value: Uint8Array) => tlv(0x04, Buffer.from(value)),
  null: () => Buffer.from([0x05, 0x00]),
  integer(value: number): Buffer {
    const bytes: number[] = [];
    let n = value;
    do {
      bytes.unshift(n & 0xff);
      n = Math.floor(n / 256);
    } while (n > 0);
    if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
    return tlv(0x02, Buffer.from(bytes));
  },
  oid(dotted: string): Buffer {
    const parts = dotted.split('.').map(Number);
    const out: number[] = [40 * parts[0]! + parts[1]!];
    for (const part of parts.slice(2)) {
      const stack: number[] = [];
      let n = part;
      stack.unshift(n & 0x7f);
      n = Math.floor(n / 128);
      while (n > 0) {
        stack.unshift((n & 0x7f) | 0x80);
        n = Math.floor(n / 128);
      }
      out.push(...stack);
    }
    return tlv(0x06, Buffer.from(out));
  },
};

/**
 * A certificate's basicConstraints (OID 2.5.29.19) read from its DER: whether it is a CA and its
 * pathLenConstraint (undefined: none, so unlimited). Undefined when the extension is absent.
 * Light enough for the CA-tree view, which must not load the certificate libraries.
 */
export function readBasicConstraints(certDer: Buffer): { ca: boolean; pathLen?: number } | undefined {
  const BASIC_CONSTRAINTS = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x13]);
  const cert = readTlv(certDer, 0);
  const tbs = tlvChildren(certDer, cert)[0]!;
  const extensionsTagged = tlvChildren(certDer, tbs).find((t) => t.tag === 0xa3);
  if (!extensionsTagged) return undefined;
  const list = tlvChildren(certDer, extensionsTagged)[0]!;
  for (const ext of tlvChildren(certDer, list)) {
    const parts = tlvChildren(certDer, ext);
    if (!parts[0]!.raw.equals(BASIC_CONSTRAINTS)) continue;
    const value = parts[parts.length - 1]!; // OCTET STRING holding the BasicConstraints SEQUENCE
    const seq = readTlv(certDer, value.start);
    let ca = false;
    let pathLen: number | undefined;
    for (const field of tlvChildren(certDer, seq)) {
      if (field.tag === 0x01) ca = certDer[field.start] !== 0;
      else if (field.tag === 0x02) pathLen = [...certDer.subarray(field.start, field.end)].reduce((n, b) => n * 256 + b, 0);
    }
    return pathLen === undefined ? { ca } : { ca, pathLen };
  }
  return undefined;
}

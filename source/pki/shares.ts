import crypto from 'node:crypto';
import { OperatorError, UsageError } from '../errors.js';

/**
 * M-of-N custody of the root key: the format of one custodian's share, and the split / combine
 * around the audited `shamir-secret-sharing` library (we write no field arithmetic of our own).
 *
 * The secret is 32 random bytes; the root key's passphrase is their lowercase hex (64 ASCII
 * characters, so `openssl pkey -passin file:` reads it like any passphrase file).
 *
 * One share, format 1, is 53 bytes:
 *   version (1) · threshold M · custodians N · share index (1..N) · set id (4 bytes, one per split)
 *   · the root certificate's SHA-256 fingerprint, first 8 bytes · the library's share (33 bytes:
 *   32 y values and its x coordinate) · checksum: SHA-256 of all the bytes before it, first 4 bytes.
 * Typed (for paper), those bytes are Crockford base32 in 22 groups of 4 characters, each followed
 * by a check character over the group's number and its 4 characters, so a mistyped group is named.
 * A share file holds the same groups under a header carrying the full root fingerprint and the
 * custodian's name; both forms are read by parseShare.
 */

export const SHARE_FORMAT = 'certwright-share/1';
export const SHARE_VERSION = 1;
export const SECRET_BYTES = 32;
const FP_PREFIX_BYTES = 8;
const SET_ID_BYTES = 4;
const CHECKSUM_BYTES = 4;
const HEADER_BYTES = 4 + SET_ID_BYTES + FP_PREFIX_BYTES;
export const SHARE_BYTES = HEADER_BYTES + SECRET_BYTES + 1 + CHECKSUM_BYTES;
const DATA_CHARS = 4;
const FILE_TITLE = 'certwright root key share';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface ShareFacts {
  index: number;
  threshold: number;
  custodians: number;
  /** Hex, 8 characters: which split of the secret this share belongs to. */
  setId: string;
  /** First 8 bytes of the root certificate's SHA-256 fingerprint, hex. */
  rootFingerprintPrefix: string;
}

export interface ParsedShare extends ShareFacts {
  /** The library's share bytes (a plain Uint8Array, as the library wants). Wipe after use. */
  bytes: Uint8Array;
  /** From a share file's header: the custodian's name and the full fingerprint (AB:CD:...). */
  custodian?: string | undefined;
  rootFingerprint?: string | undefined;
}

/** A share refused before combining; `reason` says which check refused it. */
export class ShareError extends OperatorError {
  constructor(
    readonly source: string,
    readonly reason: 'format' | 'corrupted' | 'other-root' | 'other-set' | 'duplicate' | 'other-custody',
    message: string,
    fix: string,
  ) {
    super(message, fix);
  }
}

/** The custody a root is under, as its ceremony.json records it (no share material). */
export interface RootCustody {
  scheme: 'shamir-gf256';
  format: string;
  threshold: number;
  custodians: number;
  names: string[];
  setId: string;
}

/** "AB:CD:..." or "abcd..." to the fingerprint's bytes. */
function fingerprintBytes(fingerprint: string): Buffer {
  return Buffer.from(fingerprint.replace(/:/g, ''), 'hex');
}

function checksum(bytes: Uint8Array): Buffer {
  return crypto.createHash('sha256').update(bytes).digest().subarray(0, CHECKSUM_BYTES);
}

function groupCheck(groupNumber: number, chars: string): string {
  const digest = crypto.createHash('sha256').update(`certwright-share-group:${groupNumber}:${chars}`).digest();
  return ALPHABET[digest[0]! % 32]!;
}

function toBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  while (out.length % DATA_CHARS !== 0) out += '0';
  return out;
}

function fromBase32(text: string, byteLength: number): Buffer | undefined {
  const out = Buffer.alloc(byteLength);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      if (n < byteLength) out[n] = (value >>> (bits - 8)) & 0xff;
      n += 1;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return n >= byteLength ? out : undefined;
}

/** Crockford's reading of what a person typed: case-free, I and L are 1, O is 0. */
function normaliseChar(ch: string): string {
  const c = ch.toUpperCase();
  if (c === 'I' || c === 'L') return '1';
  if (c === 'O') return '0';
  return c;
}

/** Encodes a share's bytes into typed groups ("ABCD7 EFGH2 ..."), 22 groups of 5 characters. */
export function shareGroups(facts: ShareFacts, bytes: Uint8Array): string[] {
  const payload = Buffer.alloc(SHARE_BYTES);
  payload[0] = SHARE_VERSION;
  payload[1] = facts.threshold;
  payload[2] = facts.custodians;
  payload[3] = facts.index;
  Buffer.from(facts.setId, 'hex').copy(payload, 4);
  Buffer.from(facts.rootFingerprintPrefix, 'hex').copy(payload, 4 + SET_ID_BYTES);
  payload.set(bytes, HEADER_BYTES);
  checksum(payload.subarray(0, SHARE_BYTES - CHECKSUM_BYTES)).copy(payload, SHARE_BYTES - CHECKSUM_BYTES);
  const text = toBase32(payload);
  payload.fill(0);
  const groups: string[] = [];
  for (let i = 0; i < text.length; i += DATA_CHARS) {
    const chars = text.slice(i, i + DATA_CHARS);
    groups.push(chars + groupCheck(groups.length + 1, chars));
  }
  return groups;
}

/** Groups laid out for paper: four to a line, each line numbered by its first group. */
export function formatGroups(groups: string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 4) lines.push(`${String(i + 1).padStart(2, ' ')}  ${groups.slice(i, i + 4).join(' ')}`);
  return lines.join('\n');
}

/** Reads typed groups (line numbers, spaces and dashes allowed) back into a share. */
export function parseGroups(text: string, source: string): { facts: ShareFacts; bytes: Uint8Array } {
  const tokens = text.split(/[\s-]+/).filter((t) => t !== '' && !/^\d{1,3}$/.test(t));
  const chars = [...tokens.join('')].map(normaliseChar).join('');
  const expectedGroups = Math.ceil(Math.ceil((SHARE_BYTES * 8) / 5) / DATA_CHARS);
  if (chars.length === 0) throw new ShareError(source, 'format', `${source} holds no share.`, 'Give the share file written by `certwright root create --custodians`, or type the share\'s groups as printed.');
  const bad = [...chars].find((c) => !ALPHABET.includes(c));
  if (bad !== undefined) throw new ShareError(source, 'corrupted', `${source} is not a share: "${bad}" is not one of the share's characters.`, 'Retype the share from its paper copy (letters and digits only; I, L and O read as 1, 1 and 0).');
  if (chars.length % (DATA_CHARS + 1) !== 0 || chars.length / (DATA_CHARS + 1) !== expectedGroups) {
    throw new ShareError(source, 'corrupted', `${source} has ${Math.floor(chars.length / (DATA_CHARS + 1))} group(s) and ${chars.length % (DATA_CHARS + 1)} character(s) over; a share has ${expectedGroups} groups of ${DATA_CHARS + 1} characters.`, 'Retype the share from its paper copy: a group is missing or has a character too many.');
  }
  let data = '';
  for (let g = 0; g < expectedGroups; g += 1) {
    const group = chars.slice(g * 5, g * 5 + 5);
    const body = group.slice(0, DATA_CHARS);
    if (groupCheck(g + 1, body) !== group[DATA_CHARS]) {
      throw new ShareError(source, 'corrupted', `${source} is corrupted: group ${g + 1} ("${group}") does not match its check character.`, `Retype group ${g + 1} from the share's paper copy, or use the custodian's share file.`);
    }
    data += body;
  }
  const payload = fromBase32(data, SHARE_BYTES);
  if (!payload) throw new ShareError(source, 'corrupted', `${source} is corrupted: its groups do not decode.`, 'Retype the share from its paper copy.');
  try {
    if (payload[0] !== SHARE_VERSION) {
      throw new ShareError(source, 'format', `${source} is a share of format ${payload[0]}; this certwright reads format ${SHARE_VERSION}.`, 'Use the certwright version that created the root to open it.');
    }
    if (!checksum(payload.subarray(0, SHARE_BYTES - CHECKSUM_BYTES)).equals(payload.subarray(SHARE_BYTES - CHECKSUM_BYTES))) {
      throw new ShareError(source, 'corrupted', `${source} is corrupted: its checksum does not match.`, 'Use the custodian\'s intact share (the file from `root create`, or its paper copy retyped).');
    }
    const facts: ShareFacts = {
      threshold: payload[1]!,
      custodians: payload[2]!,
      index: payload[3]!,
      setId: payload.subarray(4, 4 + SET_ID_BYTES).toString('hex'),
      rootFingerprintPrefix: payload.subarray(4 + SET_ID_BYTES, HEADER_BYTES).toString('hex'),
    };
    if (facts.threshold < 2 || facts.custodians < facts.threshold || facts.index < 1 || facts.index > facts.custodians) {
      throw new ShareError(source, 'corrupted', `${source} is corrupted: share ${facts.index} of ${facts.custodians} with threshold ${facts.threshold} cannot exist.`, 'Use the custodian\'s intact share.');
    }
    // A plain Uint8Array: the library refuses Buffers.
    const bytes = new Uint8Array(SECRET_BYTES + 1);
    bytes.set(payload.subarray(HEADER_BYTES, HEADER_BYTES + SECRET_BYTES + 1));
    return { facts, bytes };
  } finally {
    payload.fill(0);
  }
}

/** The text of one custodian's share file (0600). */
export function shareFileText(facts: ShareFacts, bytes: Uint8Array, meta: { custodian: string; rootCommonName: string; rootFingerprint: string; created: string }): string {
  return [
    FILE_TITLE,
    `format: ${SHARE_FORMAT}`,
    `root: CN=${meta.rootCommonName}`,
    `root-sha256: ${meta.rootFingerprint}`,
    `custodian: ${meta.custodian}`,
    `share: ${facts.index} of ${facts.custodians}`,
    `threshold: ${facts.threshold}`,
    `set: ${facts.setId}`,
    `created: ${meta.created}`,
    '',
    'Any ' + facts.threshold + ' of the ' + facts.custodians + ' shares open the root key; fewer reveal nothing about it. Keep this one secret.',
    '',
    formatGroups(shareGroups(facts, bytes)),
    '',
  ].join('\n');
}

/** Reads a share file, or a share typed as groups (from paper); checks its own integrity only. */
export function parseShare(text: string, source: string): ParsedShare {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== FILE_TITLE) {
    const typed = parseGroups(text, source);
    return { ...typed.facts, bytes: typed.bytes };
  }
  const header: Record<string, string> = {};
  let i = 1;
  for (; i < lines.length && lines[i]!.trim() !== ''; i += 1) {
    const m = /^([a-z0-9-]+):\s*(.*)$/.exec(lines[i]!);
    if (!m) throw new ShareError(source, 'format', `${source} has a malformed header line ${i + 1}.`, 'Use the share file as `certwright root create` wrote it, or type its groups.');
    header[m[1]!] = m[2]!.trim();
  }
  if (header.format !== SHARE_FORMAT) {
    throw new ShareError(source, 'format', `${source} is a share of format "${header.format ?? 'none'}"; this certwright reads ${SHARE_FORMAT}.`, 'Use the certwright version that created the root to open it.');
  }
  const body = lines.slice(i).filter((l) => !/^Any \d+ of/.test(l.trim())).join('\n');
  const { facts, bytes } = parseGroups(body, source);
  const fp = header['root-sha256'];
  const agrees =
    fp !== undefined &&
    fingerprintBytes(fp).subarray(0, FP_PREFIX_BYTES).toString('hex') === facts.rootFingerprintPrefix &&
    header.share === `${facts.index} of ${facts.custodians}` &&
    header.threshold === String(facts.threshold) &&
    header.set === facts.setId;
  if (!agrees) {
    bytes.fill(0);
    throw new ShareError(source, 'corrupted', `${source} is corrupted: its header does not agree with the share it carries.`, 'Use the custodian\'s intact share file, or type the share from its paper copy.');
  }
  return { ...facts, bytes, custodian: header.custodian, rootFingerprint: fp };
}

/** The root key's passphrase from the secret: its lowercase hex, built without a JS string. */
export function passphraseFromSecret(secret: Uint8Array): Buffer {
  const hex = '0123456789abcdef';
  const out = Buffer.alloc(secret.length * 2);
  for (let i = 0; i < secret.length; i += 1) {
    out[i * 2] = hex.charCodeAt(secret[i]! >> 4);
    out[i * 2 + 1] = hex.charCodeAt(secret[i]! & 15);
  }
  return out;
}

export function validateCustody(custodians: number, threshold: number): void {
  if (!Number.isInteger(custodians) || custodians < 2 || custodians > 255) throw new UsageError(`--custodians ${custodians} is out of range.`, 'Pass --custodians N with N from 2 to 255 (one share per custodian).');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > custodians) {
    throw new UsageError(`--threshold ${threshold} does not fit ${custodians} custodians.`, `Pass --threshold M with 2 <= M <= ${custodians}: M custodians together open the root (a threshold of 1 is a single passphrase; use --passphrase-file for that).`);
  }
}

export interface NewCustody {
  /** The root key's passphrase (wipe after use). */
  passphrase: Buffer;
  setId: string;
  /** Share i+1 for custodian i (wipe after use). */
  shares: Uint8Array[];
}

/** A random secret, its passphrase, and its split into N shares of which any M combine. */
export async function newCustody(custodians: number, threshold: number): Promise<NewCustody> {
  validateCustody(custodians, threshold);
  const secret = new Uint8Array(SECRET_BYTES);
  crypto.randomFillSync(secret);
  try {
    const { split, combine } = await import('shamir-secret-sharing');
    const shares = await split(secret, custodians, threshold);
    // Prove that the first M shares give the secret back before anything is encrypted with it.
    const back = await combine(shares.slice(0, threshold));
    const same = back.length === secret.length && crypto.timingSafeEqual(back, secret);
    back.fill(0);
    if (!same) throw new Error('shamir split did not combine back to the secret');
    return { passphrase: passphraseFromSecret(secret), setId: crypto.randomBytes(SET_ID_BYTES).toString('hex'), shares };
  } finally {
    secret.fill(0);
  }
}

/**
 * Checks one share against the root it should open (fingerprint, split, custody) and against the
 * shares already given, refusing it by name: another root's, another split's, a duplicate.
 */
export function checkShareAgainst(share: ParsedShare, source: string, custody: RootCustody, rootFingerprint: string, given: Array<{ share: ParsedShare; source: string }>): void {
  const prefix = fingerprintBytes(rootFingerprint).subarray(0, FP_PREFIX_BYTES).toString('hex');
  const full = share.rootFingerprint;
  if (share.rootFingerprintPrefix !== prefix || (full !== undefined && fingerprintBytes(full).toString('hex') !== fingerprintBytes(rootFingerprint).toString('hex'))) {
    throw new ShareError(source, 'other-root', `${source} is a share of another root (SHA-256 ${full ?? `${share.rootFingerprintPrefix}…`}), not of this one (${rootFingerprint}).`, 'Give the shares of this root: each share file names its root\'s fingerprint on its root-sha256 line.');
  }
  if (share.setId !== custody.setId) {
    throw new ShareError(source, 'other-set', `${source} belongs to another split of this root (set ${share.setId}); the root's key is opened by the shares of set ${custody.setId}.`, 'Give shares of the current set (their "set:" line).');
  }
  if (share.threshold !== custody.threshold || share.custodians !== custody.custodians) {
    throw new ShareError(source, 'other-custody', `${source} is a ${share.threshold}-of-${share.custodians} share; this root is held ${custody.threshold}-of-${custody.custodians}.`, 'Give shares of this root\'s custody.');
  }
  const twin = given.find((g) => g.share.index === share.index);
  if (twin) {
    throw new ShareError(source, 'duplicate', `${source} is share ${share.index} again (already given as ${twin.source}): a duplicate share.`, `Give the shares of ${custody.threshold} different custodians.`);
  }
  const sameX = given.find((g) => g.share.bytes[SECRET_BYTES] === share.bytes[SECRET_BYTES]);
  if (sameX) throw new ShareError(source, 'corrupted', `${source} (share ${share.index}) cannot be combined with ${sameX.source}: they carry the same point.`, 'One of them is not an intact share: use the custodian\'s share file.');
}

/** Combines checked shares into the root key's passphrase (wipe it after use). */
export async function passphraseFromShares(shares: ParsedShare[]): Promise<Buffer> {
  const { combine } = await import('shamir-secret-sharing');
  const secret = await combine(shares.map((s) => s.bytes));
  try {
    return passphraseFromSecret(secret);
  } finally {
    secret.fill(0);
  }
}

/** "a,b,c" or numbered: one name per custodian, usable as a file name. */
export function custodianNames(names: string[], custodians: number): string[] {
  if (names.length === 0) return Array.from({ length: custodians }, (_, i) => `custodian-${i + 1}`);
  if (names.length !== custodians) throw new UsageError(`--custodian-names names ${names.length} custodian(s) but --custodians is ${custodians}.`, `Name every custodian once: --custodian-names ${Array.from({ length: custodians }, (_, i) => `name${i + 1}`).join(',')}.`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new UsageError(`--custodian-names "${name}" cannot name a share file.`, 'Use letters, digits, ".", "_" and "-" (up to 64 characters), starting with a letter or digit.');
    if (seen.has(name.toLowerCase())) throw new UsageError(`--custodian-names names "${name}" twice.`, 'Give each custodian a different name.');
    seen.add(name.toLowerCase());
  }
  return names;
}

import fs from 'node:fs';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { rootPaths } from '../paths.js';
import { OperatorError } from '../errors.js';
import type { RootCustody, ParsedShare } from '../pki/shares.js';
import type { Interaction, StepInput } from './step.js';

/**
 * Opening the offline root: with its one passphrase, or with M of its N custodians' shares.
 * Which one a root takes is written beside it (ceremony.json `custody`) by `root create`; the
 * shares themselves are never stored anywhere but with their custodians.
 *
 * The passphrase is combined in memory only and handed back as a Buffer the caller wipes. What
 * Node cannot wipe: a share typed at a prompt (a JS string), a share file's text once decoded, and
 * the copies OpenSSL's key derivation makes inside createPrivateKey.
 */

/** What opened the root, for the transcript: never the shares, only their indices. */
export interface RootUnlock {
  passphrase: Buffer;
  custody?: { threshold: number; custodians: number; shareIndices: number[] } | undefined;
}

/** The root's custody from its ceremony.json, or undefined for a single-passphrase root. */
export function readCustody(rootDir: string): RootCustody | undefined {
  let meta: { custody?: RootCustody };
  try {
    meta = JSON.parse(fs.readFileSync(rootPaths(rootDir).meta, 'utf8')) as { custody?: RootCustody };
  } catch {
    return undefined;
  }
  const c = meta.custody;
  if (!c) return undefined;
  if (c.scheme !== 'shamir-gf256' || !Number.isInteger(c.threshold) || !Number.isInteger(c.custodians) || typeof c.setId !== 'string') {
    throw new OperatorError(`${rootPaths(rootDir).meta} names a custody certwright does not know (${JSON.stringify(c.scheme)}).`, 'Restore ceremony.json from the ceremony backup, or open the root with the certwright version that created it.');
  }
  return c;
}

export interface ShareRequest {
  custody: RootCustody;
  /** Indices of the shares accepted so far. */
  given: number[];
  /** The threshold is met: only shares already at hand (files given) are wanted, nobody is asked. */
  optional: boolean;
  /** Checks a typed share at once: undefined when it is accepted, else why not (for a prompt's retry). */
  check(text: string, source: string): Promise<string | undefined>;
}

/** Who holds share i (1-based), as root create named them. */
export function custodianName(custody: RootCustody, index: number): string {
  return custody.names[index - 1] ?? `custodian ${index}`;
}

/**
 * Takes shares until the threshold is met, then any further ones already at hand (every --share
 * file is checked, and all of them are combined); a bad one is refused by name.
 */
async function collectShares(interact: Interaction, custody: RootCustody, rootFingerprint: string): Promise<ParsedShare[]> {
  const { parseShare, checkShareAgainst } = await import('../pki/shares.js');
  const accepted: Array<{ share: ParsedShare; source: string }> = [];
  const accept = (text: string, source: string): ParsedShare => {
    const share = parseShare(text, source);
    try {
      checkShareAgainst(share, source, custody, rootFingerprint, accepted);
    } catch (error) {
      share.bytes.fill(0);
      throw error;
    }
    return share;
  };
  try {
    for (;;) {
      const optional = accepted.length >= custody.threshold;
      const request: ShareRequest = {
        custody,
        optional,
        given: accepted.map((a) => a.share.index),
        check: async (text, source) => {
          try {
            accept(text, source).bytes.fill(0);
            return undefined;
          } catch (error) {
            return (error as Error).message;
          }
        },
      };
      const next = await interact.rootShare(request);
      if (!next && optional) break;
      if (!next) {
        const have = accepted.length;
        const more = custody.threshold - have;
        const list = have === 0 ? 'none' : accepted.map((a) => `share ${a.share.index} (${custodianName(custody, a.share.index)})`).join(', ');
        throw new OperatorError(
          `This root opens with ${custody.threshold} of its ${custody.custodians} custodians' shares; ${have} given (${list}). ${more} more ${more === 1 ? 'is' : 'are'} needed.`,
          `Pass ${more} more share${more === 1 ? '' : 's'} with --share FILE (repeatable), or run in a terminal and have ${more === 1 ? 'another custodian' : 'the other custodians'} type theirs.`,
        );
      }
      accepted.push({ share: accept(next.text, next.source), source: next.source });
    }
    return accepted.map((a) => a.share);
  } catch (error) {
    for (const a of accepted) a.share.bytes.fill(0);
    throw error;
  }
}

/**
 * The root's passphrase: asked for (single passphrase), or combined from its custodians' shares.
 * The caller wipes `passphrase` when done.
 */
export async function unlockRoot(interact: Interaction, rootDir: string): Promise<RootUnlock> {
  const custody = readCustody(rootDir);
  if (!custody) return { passphrase: await interact.passphrase('open') };
  const certFile = rootPaths(rootDir).cert;
  let rootFingerprint: string;
  try {
    rootFingerprint = new X509Certificate(fs.readFileSync(certFile)).fingerprint256;
  } catch (error) {
    throw new OperatorError(`${certFile} cannot be read as the root certificate: ${(error as Error).message}`, 'Point --root-dir at the directory `certwright root create` wrote.', { cause: error });
  }
  const shares = await collectShares(interact, custody, rootFingerprint);
  try {
    const { passphraseFromShares } = await import('../pki/shares.js');
    const passphrase = await passphraseFromShares(shares);
    return { passphrase, custody: { threshold: custody.threshold, custodians: custody.custodians, shareIndices: shares.map((s) => s.index).sort((a, b) => a - b) } };
  } finally {
    for (const s of shares) s.bytes.fill(0);
  }
}

/** Nothing to open (the work is already done): an empty passphrase, no shares asked. */
export function noUnlock(): RootUnlock {
  return { passphrase: Buffer.alloc(0) };
}

/** How the root was opened, for a transcript entry. */
export function unlockFacts(unlock: RootUnlock): Record<string, unknown> {
  return unlock.custody
    ? { rootOpenedWith: 'shares', custody: `${unlock.custody.threshold}-of-${unlock.custody.custodians}`, shareIndices: unlock.custody.shareIndices }
    : { rootOpenedWith: 'passphrase' };
}

/** The error when combined shares do not open the key (each share checked out on its own). */
export function sharesDoNotOpen(keyFile: string, unlock: RootUnlock, cause: unknown): OperatorError {
  return new OperatorError(
    `Shares ${unlock.custody!.shareIndices.join(', ')} combine to a passphrase that does not open ${keyFile}.`,
    'Each share passed its own checks, so one of them was made for another key: give shares from the custodians of this root, and check root-ca.key against the ceremony transcript\'s SHA-256.',
    { cause },
  );
}

/** --share, the same on every command that opens the root. No environment variable: given each time. */
export const shareInput: StepInput = {
  name: 'share',
  type: 'string',
  multiple: true,
  value: 'FILE',
  env: '',
  description: 'a custodian\'s share file (or its groups typed into a file), for a root created with --custodians; repeat for each custodian; typed in turn in a terminal when absent',
};

/** Opens the root key with what unlockRoot gave; combined shares that fail say so. */
export async function openRootKey(pem: string, unlock: RootUnlock, keyFile: string): Promise<KeyObject> {
  const { decryptPrivateKey } = await import('../pki/keys.js');
  try {
    return decryptPrivateKey(pem, unlock.passphrase, keyFile);
  } catch (error) {
    if (unlock.custody && error instanceof OperatorError && /does not open/.test(error.message)) throw sharesDoNotOpen(keyFile, unlock, error);
    throw error;
  }
}

/**
 * Checks one more share for the root in rootDir against the shares already given (the wizard asks
 * one custodian per screen and refuses a bad share there, by name). Throws a ShareError.
 */
export async function checkShareFor(rootDir: string, text: string, source: string, given: Array<{ text: string; source: string }>): Promise<{ index: number; custodian: string }> {
  const custody = readCustody(rootDir);
  if (!custody) throw new OperatorError(`The root in ${rootDir} opens with one passphrase, not with shares.`, 'Type its passphrase instead.');
  const { parseShare, checkShareAgainst } = await import('../pki/shares.js');
  const rootFingerprint = new X509Certificate(fs.readFileSync(rootPaths(rootDir).cert)).fingerprint256;
  const earlier = given.map((g) => ({ share: parseShare(g.text, g.source), source: g.source }));
  const share = parseShare(text, source);
  try {
    checkShareAgainst(share, source, custody, rootFingerprint, earlier);
    return { index: share.index, custodian: custodianName(custody, share.index) };
  } finally {
    share.bytes.fill(0);
    for (const e of earlier) e.share.bytes.fill(0);
  }
}

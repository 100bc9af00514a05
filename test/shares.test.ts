/**
 * The share format on its own (fast, no processes): split and combine through the library, the
 * typed groups and their checks, the checksum, and each refusal by name.
 */
import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { newCustody, shareFileText, parseShare, parseGroups, shareGroups, formatGroups, checkShareAgainst, passphraseFromShares, ShareError, SHARE_FORMAT, type RootCustody, type ParsedShare } from '../source/pki/shares.js';

const FP = Array.from(crypto.randomBytes(32)).map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
const OTHER_FP = Array.from(crypto.randomBytes(32)).map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
const prefix = (fp: string) => fp.replace(/:/g, '').slice(0, 16).toLowerCase();

async function split(custodians = 3, threshold = 2, fp = FP) {
  const c = await newCustody(custodians, threshold);
  const custody: RootCustody = { scheme: 'shamir-gf256', format: SHARE_FORMAT, threshold, custodians, names: Array.from({ length: custodians }, (_, i) => `c${i + 1}`), setId: c.setId };
  const files = c.shares.map((bytes, i) => shareFileText({ index: i + 1, threshold, custodians, setId: c.setId, rootFingerprintPrefix: prefix(fp) }, bytes, { custodian: `c${i + 1}`, rootCommonName: 'Test Root', rootFingerprint: fp, created: '2026-12-01T00:00:00Z' }));
  return { ...c, custody, files };
}

function refusal(fn: () => unknown): ShareError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ShareError);
    return error as ShareError;
  }
  throw new Error('not refused');
}

describe('share format', () => {
  it('any M of N shares give back the passphrase (64 hex characters); the typed form reads back the same', async () => {
    const c = await split(5, 3);
    expect(c.passphrase.toString()).toMatch(/^[0-9a-f]{64}$/);
    const parsed = c.files.map((f, i) => parseShare(f, `f${i}`));
    expect(parsed.map((p) => p.index)).toEqual([1, 2, 3, 4, 5]);
    expect(parsed[0]).toMatchObject({ threshold: 3, custodians: 5, setId: c.setId, custodian: 'c1', rootFingerprint: FP });
    for (const subset of [[0, 1, 2], [4, 2, 0], [1, 3, 4], [0, 1, 2, 3, 4]]) {
      const back = await passphraseFromShares(subset.map((i) => parseShare(c.files[i]!, 'x')));
      expect(back.equals(c.passphrase), subset.join(',')).toBe(true);
    }
    // Two of a 3-threshold split give something else
    const two = await passphraseFromShares([0, 1].map((i) => parseShare(c.files[i]!, 'x')));
    expect(two.equals(c.passphrase)).toBe(false);
    // The groups alone, as typed from paper: lower case, dashes, O for 0 and l for 1
    const groups = shareGroups({ index: 2, threshold: 3, custodians: 5, setId: c.setId, rootFingerprintPrefix: prefix(FP) }, c.shares[1]!);
    expect(groups).toHaveLength(22);
    expect(groups.every((g) => /^[0-9A-HJKMNP-TV-Z]{5}$/.test(g))).toBe(true);
    const typed = groups.join('-').toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l');
    const fromPaper = parseGroups(typed, 'paper');
    expect(Buffer.from(fromPaper.bytes).equals(Buffer.from(c.shares[1]!))).toBe(true);
    // The paper layout (line numbers included) reads back too
    expect(Buffer.from(parseGroups(formatGroups(groups), 'layout').bytes).equals(Buffer.from(c.shares[1]!))).toBe(true);
  });

  it('names a mistyped group, a missing group, and a checksum that does not match', async () => {
    const c = await split();
    const groups = shareGroups({ index: 1, threshold: 2, custodians: 3, setId: c.setId, rootFingerprintPrefix: prefix(FP) }, c.shares[0]!);
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    // Every single-character change of a check character is caught, and named by its group
    for (let g = 0; g < groups.length; g += 1) {
      const wrong = [...groups];
      const ch = wrong[g]![4]!;
      wrong[g] = wrong[g]!.slice(0, 4) + alphabet[(alphabet.indexOf(ch) + 1) % 32];
      expect(refusal(() => parseGroups(wrong.join(' '), 's')).message).toContain(`group ${g + 1} `);
    }
    // Two groups swapped: the group number is in the check
    const swapped = [...groups];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    expect(refusal(() => parseGroups(swapped.join(' '), 's')).reason).toBe('corrupted');
    expect(refusal(() => parseGroups(groups.slice(1).join(' '), 's')).message).toContain('has 21 group(s)');
    // A data character changed and its group check made to fit: the whole-share checksum catches it
    const body = groups[8]!.slice(0, 4);
    const changed = alphabet[(alphabet.indexOf(body[1]!) + 7) % 32]!;
    let caught: ShareError | undefined;
    for (const check of alphabet) {
      const g = `${body[0]}${changed}${body.slice(2)}${check}`;
      const text = [...groups.slice(0, 8), g, ...groups.slice(9)].join(' ');
      try {
        parseGroups(text, 'forged');
      } catch (error) {
        if ((error as Error).message.includes('group 9')) continue;
        caught = error as ShareError;
        break;
      }
      throw new Error('a changed share was accepted');
    }
    expect(caught?.message).toContain('forged is corrupted: its checksum does not match');
  });

  it('refuses another root\'s share, another split\'s, another custody\'s, and a duplicate, by name', async () => {
    const c = await split();
    const given: Array<{ share: ParsedShare; source: string }> = [{ share: parseShare(c.files[0]!, 'a.share'), source: 'a.share' }];
    const other = await split(3, 2, OTHER_FP);
    expect(refusal(() => checkShareAgainst(parseShare(other.files[1]!, 'x.share'), 'x.share', c.custody, FP, given))).toMatchObject({ reason: 'other-root' });
    expect(refusal(() => checkShareAgainst(parseShare(other.files[1]!, 'x.share'), 'x.share', c.custody, FP, given)).message).toContain('x.share is a share of another root');
    const resplit = await split();
    expect(refusal(() => checkShareAgainst(parseShare(resplit.files[1]!, 'r.share'), 'r.share', c.custody, FP, given))).toMatchObject({ reason: 'other-set' });
    expect(refusal(() => checkShareAgainst(parseShare(c.files[0]!, 'copy.share'), 'copy.share', c.custody, FP, given)).message).toBe('copy.share is share 1 again (already given as a.share): a duplicate share.');
    const bigger: RootCustody = { ...c.custody, threshold: 3 };
    expect(refusal(() => checkShareAgainst(parseShare(c.files[1]!, 'b.share'), 'b.share', bigger, FP, given))).toMatchObject({ reason: 'other-custody' });
    // A file whose header disagrees with the groups it carries
    expect(refusal(() => parseShare(c.files[1]!.replace('share: 2 of 3', 'share: 3 of 3'), 'h.share')).message).toContain('its header does not agree');
    expect(refusal(() => parseShare(c.files[1]!.replace(SHARE_FORMAT, 'certwright-share/9'), 'v.share')).reason).toBe('format');
    // The right share passes
    expect(() => checkShareAgainst(parseShare(c.files[2]!, 'c.share'), 'c.share', c.custody, FP, given)).not.toThrow();
  });
});

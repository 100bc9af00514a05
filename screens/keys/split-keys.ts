import type { Key } from 'ink';

const NONE: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
} as Key;

/** One typed character as Ink would have reported it had it arrived alone. */
function keyOf(ch: string): [string, Key] {
  const code = ch.codePointAt(0)!;
  if (ch === '\r' || ch === '\n') return ['', { ...NONE, return: true }];
  if (ch === '\t') return ['', { ...NONE, tab: true }];
  if (ch === '\u007f' || ch === '\b') return ['', { ...NONE, backspace: true }];
  if (ch === '\u001b') return ['', { ...NONE, escape: true, meta: true }];
  if (code < 0x20) return [String.fromCharCode(code + 0x60), { ...NONE, ctrl: true }];
  return [ch, { ...NONE, shift: /^[A-Z]$/.test(ch) }];
}

/**
 * Ink hands over a chunk of plain text (no escape sequence: those arrive one per event) as one
 * input; split it into the keys that were typed, in order. A single key passes through unchanged.
 */
export function splitKeys(input: string, key: Key): Array<[string, Key]> {
  const chars = [...input];
  if (chars.length <= 1) {
    // Ink reports Ctrl-C as ("c", ctrl) and a lone "\u0003" chunk the same way.
    return [[input, key]];
  }
  return chars.map(keyOf);
}

/**
 * Text laid out for a terminal of a given width, without cutting anything: words wrap, a word
 * wider than the line is broken (never elided), and a shell command wraps at its spaces with a
 * trailing backslash, so the lines pasted into a shell are the same command.
 */
export type ColourName = 'green' | 'red' | 'yellow' | 'cyan' | 'gray';

export interface Line {
  text: string;
  colour?: ColourName | undefined;
  bold?: boolean | undefined;
  dim?: boolean | undefined;
}

/** Display width of one line; every glyph the screens use (✓ ✗ ○ ▸ ─ │) is one column. */
export function width(text: string): number {
  return [...text].length;
}

/** `text` wrapped to `columns`, the first line after `first`, the rest after `rest` (hanging indent). */
export function wrapText(text: string, columns: number, first = '', rest = first): string[] {
  if (width(rest) >= columns / 2) rest = '';
  if (width(first) >= columns / 2) first = '';
  const out: string[] = [];
  let lead = first;
  for (const paragraph of text.split('\n')) {
    let line = lead;
    let empty = true;
    const flush = () => {
      out.push(line.trimEnd());
      lead = rest;
      line = lead;
      empty = true;
    };
    for (const word of paragraph.split(' ')) {
      let w = word;
      if (!empty && width(line) + 1 + width(w) > columns) flush();
      else if (!empty) line += ' ';
      // A word wider than the line (a long path, a fingerprint) breaks where the line ends.
      while (width(line) + width(w) > columns) {
        const take = columns - width(line);
        line += [...w].slice(0, take).join('');
        w = [...w].slice(take).join('');
        flush();
      }
      line += w;
      empty = false;
    }
    out.push(line.trimEnd());
    lead = rest;
  }
  return out;
}

/** A shell command in lines of at most `columns`, continued with " \\" so it pastes as one. */
export function wrapCommand(command: string, columns: number, indent = ''): string[] {
  if (width(indent) + width(command) <= columns) return [indent + command];
  // A flag and its value stay on one line: `--out DIR` is never split across a continuation.
  const words: string[] = [];
  for (const w of command.split(' ')) {
    const last = words[words.length - 1];
    if (last !== undefined && /^--[a-z]/.test(last) && !last.includes(' ') && !last.includes('=') && !w.startsWith('-')) words[words.length - 1] = `${last} ${w}`;
    else words.push(w);
  }
  const out: string[] = [];
  let line = indent;
  let empty = true;
  for (const word of words) {
    const room = columns - width(line) - (empty ? 0 : 1) - 2; // room for " \"
    if (!empty && width(word) > room) {
      out.push(`${line} \\`);
      line = `${indent}  `;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  out.push(line);
  // A single word longer than the line (rare: a path) is shown whole on its own line rather than cut.
  return out.flatMap((l) => (width(l) > columns ? wrapText(l, columns) : [l]));
}

/** `key  value` rows, values wrapped under themselves. */
export function factLines(facts: Array<[string, string]>, columns: number, indent = '  '): string[] {
  const keyWidth = Math.min(Math.max(0, ...facts.map(([k]) => width(k))), Math.floor(columns / 3));
  return facts.flatMap(([k, v]) => {
    if (width(k) > keyWidth) return [...wrapText(k, columns, indent), ...wrapText(v, columns, `${indent}  `)];
    return wrapText(v, columns, `${indent}${k.padEnd(keyWidth)} `, ' '.repeat(width(indent) + keyWidth + 1));
  });
}

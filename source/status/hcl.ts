/**
 * A small, tolerant reader for the HCL that agent configs are written in: blocks with labels,
 * attributes, strings (with escapes), heredocs, numbers, booleans, lists and objects, and #, //
 * and block comments. Enough to read what status and doctor need from an agent config (vault
 * address and CA, sinks, templates) and to tell an unquoted `mode = 0600` from a quoted one.
 * It does not evaluate expressions or interpolation.
 */

export type HclValue =
  | { type: 'string'; value: string; heredoc?: boolean }
  | { type: 'number'; raw: string; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'list'; items: HclValue[] }
  | { type: 'object'; entries: Array<[string, HclValue]> }
  | { type: 'expr'; raw: string };

export interface HclBlock {
  type: string;
  labels: string[];
  attrs: Array<[string, HclValue]>;
  blocks: HclBlock[];
  line: number;
}

type Token = { t: 'ident' | 'string' | 'number' | 'heredoc' | 'punct'; v: string; line: number };

export class HclError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line += 1;
      i += 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i += 1;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < n && text[i] !== '\n') i += 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k += 1) if (text[k] === '\n') line += 1;
      i = stop;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < n) {
          const e = text[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else {
          if (text[j] === '\n') line += 1;
          s += text[j];
          j += 1;
        }
      }
      out.push({ t: 'string', v: s, line });
      i = j + 1;
      continue;
    }
    if (c === '<' && text[i + 1] === '<') {
      const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)[^\n]*\n/.exec(text.slice(i, i + 200));
      if (m) {
        const marker = m[2]!;
        const start = i + m[0].length;
        const endRe = new RegExp(`^[ \\t]*${marker}[ \\t]*$`, 'm');
        const rest = text.slice(start);
        const em = endRe.exec(rest);
        const body = em ? rest.slice(0, em.index) : rest;
        const startLine = line;
        for (const ch of text.slice(i, em ? start + em.index + em[0].length : n)) if (ch === '\n') line += 1;
        out.push({ t: 'heredoc', v: body.replace(/\n$/, ''), line: startLine });
        i = em ? start + em.index + em[0].length : n;
        continue;
      }
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^-?(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)/.exec(text.slice(i, i + 64))!;
      out.push({ t: 'number', v: m[0], line });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(i, i + 256))!;
      out.push({ t: 'ident', v: m[0], line });
      i += m[0].length;
      continue;
    }
    out.push({ t: 'punct', v: c, line });
    i += 1;
  }
  return out;
}

/** HCL1 reads a leading-zero integer as octal (mode = 0600 is 384), as the agent does. */
function numberValue(raw: string): number {
  if (/^-?0x/i.test(raw)) return Number.parseInt(raw, 16);
  if (/^-?0[0-7]+$/.test(raw)) return Number.parseInt(raw, 8);
  return Number(raw);
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(k = 0): Token | undefined {
    return this.tokens[this.i + k];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (!t) throw new HclError('unexpected end of file', this.tokens[this.tokens.length - 1]?.line ?? 1);
    this.i += 1;
    return t;
  }

  private skipSeparators(): void {
    while (this.peek()?.t === 'punct' && (this.peek()!.v === ',' || this.peek()!.v === ';')) this.i += 1;
  }

  body(root: HclBlock, closing: string | undefined): void {
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (!t) {
        if (closing) throw new HclError(`missing "${closing}"`, this.tokens[this.tokens.length - 1]?.line ?? 1);
        return;
      }
      if (t.t === 'punct' && t.v === closing) {
        this.i += 1;
        return;
      }
      if (t.t !== 'ident' && t.t !== 'string') throw new HclError(`unexpected "${t.v}"`, t.line);
      this.i += 1;
      const after = this.peek();
      if (after?.t === 'punct' && (after.v === '=' || after.v === ':')) {
        this.i += 1;
        root.attrs.push([t.v, this.value()]);
        continue;
      }
      const labels: string[] = [];
      while (this.peek() && (this.peek()!.t === 'string' || this.peek()!.t === 'ident')) labels.push(this.next().v);
      const open = this.next();
      if (open.t !== 'punct' || open.v !== '{') throw new HclError(`expected "=" or "{" after ${t.v}`, open.line);
      const block: HclBlock = { type: t.v, labels, attrs: [], blocks: [], line: t.line };
      this.body(block, '}');
      root.blocks.push(block);
    }
  }

  value(): HclValue {
    const t = this.next();
    if (t.t === 'string') return { type: 'string', value: t.v };
    if (t.t === 'heredoc') return { type: 'string', value: t.v, heredoc: true };
    if (t.t === 'number') return { type: 'number', raw: t.v, value: numberValue(t.v) };
    if (t.t === 'ident') {
      if (t.v === 'true' || t.v === 'false') return { type: 'bool', value: t.v === 'true' };
      return { type: 'expr', raw: t.v };
    }
    if (t.v === '[') {
      const items: HclValue[] = [];
      for (;;) {
        this.skipSeparators();
        if (this.peek()?.t === 'punct' && this.peek()!.v === ']') {
          this.i += 1;
          return { type: 'list', items };
        }
        items.push(this.value());
      }
    }
    if (t.v === '{') {
      const entries: Array<[string, HclValue]> = [];
      for (;;) {
        this.skipSeparators();
        const k = this.next();
        if (k.t === 'punct' && k.v === '}') return { type: 'object', entries };
        const eq = this.next();
        if (eq.t !== 'punct' || (eq.v !== '=' && eq.v !== ':')) throw new HclError(`expected "=" after ${k.v}`, eq.line);
        entries.push([k.v, this.value()]);
      }
    }
    throw new HclError(`unexpected "${t.v}"`, t.line);
  }
}

export function parseHcl(text: string): HclBlock {
  const root: HclBlock = { type: '', labels: [], attrs: [], blocks: [], line: 1 };
  new Parser(tokenize(text)).body(root, undefined);
  return root;
}

export function attr(block: HclBlock | undefined, name: string): HclValue | undefined {
  if (!block) return undefined;
  for (let i = block.attrs.length - 1; i >= 0; i -= 1) if (block.attrs[i]![0] === name) return block.attrs[i]![1];
  return undefined;
}

export function entry(value: HclValue | undefined, name: string): HclValue | undefined {
  if (!value || value.type !== 'object') return undefined;
  for (let i = value.entries.length - 1; i >= 0; i -= 1) if (value.entries[i]![0] === name) return value.entries[i]![1];
  return undefined;
}

export function stringOf(value: HclValue | undefined): string | undefined {
  if (!value) return undefined;
  if (value.type === 'string') return value.value;
  if (value.type === 'number') return value.raw;
  if (value.type === 'bool') return String(value.value);
  return undefined;
}

export function blocks(block: HclBlock | undefined, type: string): HclBlock[] {
  return block ? block.blocks.filter((b) => b.type === type) : [];
}

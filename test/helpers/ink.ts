import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import type { ReactElement } from 'react';
import { assertFits } from './frame.js';

export const KEY = { enter: '\r', down: '\u001B[B', up: '\u001B[A', escape: '\u001B', pageDown: '\u001B[6~', pageUp: '\u001B[5~', tab: '\t', ctrlC: '\u0003' };

/** An 80x24 terminal (ink-testing-library's is 100 columns and has no rows). */
class Stdout extends EventEmitter {
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  frames: string[] = [];
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
}

/** Like a terminal: what is typed before anyone reads waits in the buffer, in order. */
class Stdin extends EventEmitter {
  isTTY = true;
  private data = '';
  constructor() {
    super();
    this.on('newListener', (event) => {
      if (event === 'readable') setImmediate(() => this.data && this.emit('readable'));
    });
  }
  write = (data: string) => {
    this.data += data;
    this.emit('readable');
  };
  read = () => {
    const d = this.data;
    this.data = '';
    return d === '' ? null : d;
  };
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

/**
 * Renders a screen in an 80x24 terminal and drives it like a person: wait for text, then type.
 * Keys are written as soon as the text shows (no pause): the keyboard provider must keep every
 * one. Every frame waited for is checked to fit the terminal (test/helpers/frame.ts).
 */
export function driveInk(element: ReactElement, options: { columns?: number; rows?: number; fit?: boolean } = {}) {
  const columns = options.columns ?? 80;
  const rows = options.rows ?? 24;
  const stdout = new Stdout(columns, rows);
  const stdin = new Stdin();
  const instance = inkRender(element, { stdout: stdout as never, stderr: new Stdout(columns, rows) as never, stdin: stdin as never, debug: true, exitOnCtrlC: false, patchConsole: false });
  const view = { stdin, stdout, unmount: () => instance.unmount(), waitUntilExit: () => instance.waitUntilExit(), lastFrame: () => stdout.frames[stdout.frames.length - 1] };
  const frame = () => view.lastFrame() ?? '';
  // The bound is for a hung screen, not a timing: a busy machine (load 20+) takes long for a KDF.
  async function waitFor(text: string | RegExp, timeoutMs = 90_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = frame();
      if (typeof text === 'string' ? f.includes(text) : text.test(f)) {
        if (options.fit !== false) assertFits(f, columns, rows);
        return f;
      }
      if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}; last frame:\n${f}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async function type(text: string): Promise<void> {
    view.stdin.write(text);
  }
  async function answer(question: string | RegExp, text: string): Promise<void> {
    await waitFor(question);
    await type(text + KEY.enter);
  }
  /** Everything in the screen's pager, page by page from the top (Home, then PgDn to the end). */
  async function pageThrough(): Promise<string> {
    const seen: string[] = [];
    const position = () => /lines (\d+)-(\d+) of (\d+)/.exec(frame());
    if (!position()) return frame();
    await type('g');
    let at = await waitFor(/lines 1-\d+ of/);
    for (;;) {
      seen.push(at);
      const p = position()!;
      if (p[2] === p[3]) return seen.join('\n');
      await type(KEY.pageDown);
      at = await waitFor(new RegExp(`lines (?!${p[1]}-)\\d+-\\d+ of`));
    }
  }
  return { view, frame, waitFor, type, answer, pageThrough };
}

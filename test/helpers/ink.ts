import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';

export const KEY = { enter: '\r', down: '\u001B[B', up: '\u001B[A', escape: '\u001B' };

/** Renders a screen and drives it like a person: wait for text, then type. No fixed sleeps. */
export function driveInk(element: ReactElement) {
  const view = render(element);
  const frame = () => view.lastFrame() ?? '';
  async function waitFor(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = frame();
      if (typeof text === 'string' ? f.includes(text) : text.test(f)) {
        // A frame can be on screen before the newly mounted input has subscribed to stdin (its
        // effect runs after the render); keys written in that gap are lost. Let effects run.
        await new Promise((r) => setTimeout(r, 150));
        return frame();
      }
      if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}; last frame:\n${f}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async function type(text: string): Promise<void> {
    view.stdin.write(text);
    await new Promise((r) => setTimeout(r, 30)); // let React commit the keystroke before the next
  }
  async function answer(question: string | RegExp, text: string): Promise<void> {
    await waitFor(question);
    if (text) await type(text);
    await type(KEY.enter);
  }
  return { view, frame, waitFor, type, answer };
}

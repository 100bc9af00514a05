import React, { createContext, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useInput, type Key } from 'ink';
import { splitKeys } from './split-keys.js';

export type KeyHandler = (input: string, key: Key) => void;

/** A mounted screen's claim on the keyboard: the handler of its latest render, and whether it waits. */
export interface KeySlot {
  handler: KeyHandler;
  /** Busy (loading a plan, applying): keys wait in the queue for the next screen instead of being dropped. */
  hold: boolean;
  /** Keys taken even while holding (q on a list that is still loading), when first in the queue. */
  urgent?: ((input: string, key: Key) => boolean) | undefined;
}

export interface Keyboard {
  register(slot: { current: KeySlot }): () => void;
  /** A slot stopped holding: deliver what waited. */
  kick(): void;
}

export const KeyboardContext = createContext<Keyboard | undefined>(undefined);

/**
 * The one owner of the wizard's keyboard. Ink delivers a chunk of typed text as one event (`Tab
 * Tab Tab` from a busy machine or a paste arrives as "\t\t\t"), and a screen subscribes to input
 * only after its first render; both lose keys. Here every chunk is split into single keys, queued,
 * and handed one at a time to the mounted handlers, the next key only after React has
 * committed what the last one changed (the new question's handler is in place by then, since
 * handlers register in layout effects). Ctrl-C is never queued: it interrupts at once.
 */
export function KeyboardProvider({ children, onInterrupt }: { children: ReactNode; onInterrupt: () => void }) {
  const slots = useRef<Array<{ current: KeySlot }>>([]);
  const queue = useRef<Array<[string, Key]>>([]);
  const waiting = useRef(false);
  const [turn, setTurn] = useState(0);
  const interrupt = useRef(onInterrupt);
  interrupt.current = onInterrupt;

  const pump = useCallback(() => {
    if (waiting.current) return;
    const mounted = [...slots.current];
    const first = queue.current[0];
    if (mounted.length === 0 || !first) return;
    if (mounted.some((s) => s.current.hold && !s.current.urgent?.(first[0], first[1]))) return;
    const next = queue.current.shift()!;
    waiting.current = true;
    // Every mounted handler sees the key (a line input takes the text, its screen takes Esc),
    // each with the state of the same render: the screen as it was when the key was typed.
    for (const slot of mounted) slot.current.handler(next[0], next[1]);
    setTurn((t) => t + 1);
  }, []);

  // After the commit of the last key's changes (children's layout effects have run): the next key.
  useEffect(() => {
    waiting.current = false;
    pump();
  }, [turn, pump]);

  const onKey = useCallback(
    (input: string, key: Key) => {
      for (const k of splitKeys(input, key)) {
        if (k[1].ctrl && k[0] === 'c') {
          queue.current = [];
          interrupt.current();
          return;
        }
        queue.current.push(k);
      }
      pump();
    },
    [pump],
  );
  useInput(onKey);

  const keyboard = useRef<Keyboard>({
    register(slot) {
      slots.current.push(slot);
      return () => {
        slots.current = slots.current.filter((s) => s !== slot);
      };
    },
    kick: () => setTurn((t) => t + 1),
  }).current;

  return <KeyboardContext.Provider value={keyboard}>{children}</KeyboardContext.Provider>;
}

import { useContext, useLayoutEffect, useRef } from 'react';
import { useInput } from 'ink';
import { KeyboardContext, type KeyHandler, type KeySlot } from './KeyboardProvider.js';

/**
 * A screen's key handler. Under the KeyboardProvider it takes keys one at a time, in order, from
 * the moment it is committed (layout effect, not a later passive effect), always with the state of
 * its latest render; `hold` keeps keys waiting while the screen is busy. Without a provider (a
 * screen rendered on its own) it falls back to Ink's useInput.
 */
export function useKeys(handler: KeyHandler, options: { active?: boolean; hold?: boolean; urgent?: KeySlot['urgent'] } = {}): void {
  const keyboard = useContext(KeyboardContext);
  const active = options.active ?? true;
  const hold = options.hold ?? false;
  const slot = useRef<KeySlot>({ handler, hold });
  slot.current.handler = handler;
  const wasHolding = slot.current.hold;
  slot.current.hold = hold;
  slot.current.urgent = options.urgent;
  useLayoutEffect(() => {
    if (!keyboard || !active) return;
    const unregister = keyboard.register(slot);
    keyboard.kick();
    return unregister;
  }, [keyboard, active]);
  useLayoutEffect(() => {
    if (keyboard && wasHolding && !hold) keyboard.kick();
  });
  useInput(handler, { isActive: !keyboard && active });
}

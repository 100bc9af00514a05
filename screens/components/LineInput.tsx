import React, { useRef, useState } from 'react';
import { Text } from 'ink';
import { useKeys } from '../keys/useKeys.js';

/**
 * One line of input, with every keystroke kept in order. The keyboard provider hands keys over
 * one at a time; the value also lives in a ref, so even text that arrives in one chunk (without
 * the provider) is counted before Enter submits it. `secret` shows one * per character, never the
 * text; `secret="hidden"` shows nothing at all, not even the length. Esc is the screen's (back
 * one question), reported through `onEscape`.
 */
export function LineInput({ onSubmit, onEscape, secret }: { onSubmit: (value: string) => void; onEscape?: (() => void) | undefined; secret?: boolean | 'hidden' | undefined }) {
  const value = useRef('');
  const [shown, setShown] = useState('');
  const submit = () => {
    const v = value.current;
    value.current = '';
    setShown('');
    onSubmit(v);
  };
  useKeys((input, key) => {
    if (key.return) return submit();
    if (key.escape) return onEscape?.();
    if (key.backspace || key.delete) {
      value.current = value.current.slice(0, -1);
      setShown(value.current);
      return;
    }
    if (key.ctrl && input === 'u') {
      value.current = '';
      setShown('');
      return;
    }
    if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown) return;
    for (const ch of input) {
      if (ch === '\r' || ch === '\n') return submit();
      if (ch >= ' ' && ch !== '\u007f') value.current += ch;
    }
    setShown(value.current);
  });
  return (
    <Text>
      {secret === 'hidden' ? '' : secret ? '*'.repeat(shown.length) : shown}
      <Text inverse> </Text>
    </Text>
  );
}

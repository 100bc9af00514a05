import React, { useRef, useState } from 'react';
import { Text, useInput } from 'ink';

/**
 * One line of input, with every keystroke kept in order. The value lives in a ref, not only in
 * React state, so characters and the Enter that arrive in one chunk (a paste, keys typed right
 * after the prompt appears, a busy machine) are all counted before the value is submitted; a
 * stale render never drops a character. `secret` shows one * per character, never the text;
 * `secret="hidden"` shows nothing at all, not even the length.
 */
export function LineInput({ onSubmit, secret }: { onSubmit: (value: string) => void; secret?: boolean | 'hidden' | undefined }) {
  const value = useRef('');
  const [shown, setShown] = useState('');
  const submit = () => {
    const v = value.current;
    value.current = '';
    setShown('');
    onSubmit(v);
  };
  useInput((input, key) => {
    if (key.return) return submit();
    if (key.backspace || key.delete) {
      value.current = value.current.slice(0, -1);
      setShown(value.current);
      return;
    }
    if (key.ctrl || key.meta || key.escape || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
    for (const ch of input) {
      // The answer ends at Enter; what follows it in the same chunk belongs to the next question.
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

import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { useKeys } from '../keys/useKeys.js';
import { SYMBOL } from '../theme.js';

export interface MenuOption {
  label: string;
  value: string;
}

/**
 * A list to choose from with ↑/↓ (or j/k) and Enter. It starts on `initial` (the item chosen last
 * time, so coming back does not jump to the top) and reports moves, so its screen can remember.
 */
export function Menu({ options, initial = 0, onChoose, onMove }: { options: MenuOption[]; initial?: number; onChoose: (value: string, index: number) => void; onMove?: (index: number) => void }) {
  const [index, setIndex] = useState(Math.max(0, Math.min(initial, options.length - 1)));
  useKeys((input, key) => {
    const go = (i: number) => {
      const n = Math.max(0, Math.min(options.length - 1, i));
      setIndex(n);
      onMove?.(n);
    };
    if (key.downArrow || input === 'j') go(index + 1);
    else if (key.upArrow || input === 'k') go(index - 1);
    else if (key.home) go(0);
    else if (key.end) go(options.length - 1);
    else if (key.return && options[index]) onChoose(options[index]!.value, index);
  });
  return (
    <Box flexDirection="column">
      {options.map((o, i) => (
        <Text key={o.value} bold={i === index}>
          {i === index ? `${SYMBOL.pointer} ` : '  '}
          {o.label}
        </Text>
      ))}
    </Box>
  );
}

import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { useKeys } from '../keys/useKeys.js';
import { colour } from '../theme.js';
import type { Line } from '../../source/text-wrap.js';

/**
 * Lines that may be longer than the rows left on the screen: a window of `height` lines, moved
 * with PgUp/PgDn (or space / b), ↑/↓ or j/k, Home/End (or g/G). The position is always said, so
 * nothing is hidden without a word. The lines are already wrapped to the width. A result opens
 * at its end (`from="bottom"`), where the outcome is.
 */
export function Pager({ lines, height, from = 'top' }: { lines: Line[]; height: number; from?: 'top' | 'bottom' }) {
  const [top, setTop] = useState(from === 'top' ? 0 : Number.MAX_SAFE_INTEGER);
  const fits = lines.length <= height;
  const view = fits ? height : Math.max(1, height - 1);
  const max = Math.max(0, lines.length - view);
  const at = Math.min(top, max);
  useKeys(
    (input, key) => {
      const move = (to: (t: number) => number) => setTop((t) => Math.max(0, Math.min(max, to(Math.min(t, max)))));
      if (key.pageDown || input === ' ') move((t) => t + view - 1);
      else if (key.pageUp || input === 'b') move((t) => t - view + 1);
      else if (key.downArrow || input === 'j') move((t) => t + 1);
      else if (key.upArrow || input === 'k') move((t) => t - 1);
      else if (key.home || input === 'g') move(() => 0);
      else if (key.end || input === 'G') move(() => max);
    },
    { active: !fits },
  );
  const shown = lines.slice(at, at + view);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Text key={at + i} color={l.colour ? colour(l.colour) : undefined} bold={l.bold} dimColor={l.dim}>
          {l.text === '' ? ' ' : l.text}
        </Text>
      ))}
      {fits ? null : (
        <Text dimColor>
          lines {at + 1}-{at + shown.length} of {lines.length} · PgUp/PgDn or j/k scroll{at > 0 ? ' · more above' : ''}{at < max ? ' · more below' : ''}
        </Text>
      )}
    </Box>
  );
}

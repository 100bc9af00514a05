import React from 'react';
import { Box, Text } from 'ink';
import { Spinner } from '@inkjs/ui';
import { Pager } from './Pager.js';
import { colour, SYMBOL } from '../theme.js';
import { wrapText, type Line } from '../../source/text-wrap.js';
import type { TaskLine } from '../hooks/useTask.js';

/** A step's finished lines, wrapped to the width (a result line is never cut). */
export function taskLines(lines: TaskLine[], columns: number): Line[] {
  return lines.flatMap((line) =>
    wrapText(line.text, columns, line.kind === 'done' ? `${SYMBOL.done} ` : line.kind === 'warn' ? '! ' : '  ', '  ').map((text) => ({
      text,
      ...(line.kind === 'warn' ? { colour: 'yellow' as const } : line.kind === 'done' ? { colour: 'green' as const } : {}),
    })),
  );
}

/**
 * While a step runs: its newest lines that fit above the spinner. When it has finished: every
 * line in a pager (with what the screen adds below them, `after`), so a long result can be read.
 */
export function TaskView({ activity, lines, running, columns = 80, height = 18, after = [] }: { activity?: string | undefined; lines: TaskLine[]; running: boolean; columns?: number; height?: number; after?: Line[] }) {
  const all = [...taskLines(lines, columns), ...after];
  if (!running) return <Pager lines={all} height={height} from="bottom" />;
  const shown = all.slice(-Math.max(1, height - 1));
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Text key={i} color={l.colour ? colour(l.colour) : undefined}>
          {l.text}
        </Text>
      ))}
      <Spinner label={activity ?? 'Working'} />
    </Box>
  );
}

import React from 'react';
import { Box, Text } from 'ink';
import { Spinner } from '@inkjs/ui';
import { colour, SYMBOL } from '../theme.js';
import type { TaskLine } from '../hooks/useTask.js';

export function TaskView({ activity, lines, running }: { activity?: string | undefined; lines: TaskLine[]; running: boolean }) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i} color={line.kind === 'warn' ? colour('yellow') : undefined} wrap="truncate-end">
          {line.kind === 'done' ? <Text color={colour('green')}>{SYMBOL.done} </Text> : line.kind === 'warn' ? '! ' : '  '}
          {line.text}
        </Text>
      ))}
      {running ? <Spinner label={activity ?? 'Working'} /> : null}
    </Box>
  );
}

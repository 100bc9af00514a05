import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import type { Row } from '../status-rows.js';

/** The selected row's details, key: value, each value wrapped within the terminal width. */
export function DetailPane({ row, height }: { row: Row; height: number }) {
  const width = Math.max(...row.details.map(([k]) => k.length), 4);
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Box>
        <Box flexShrink={0}>
          <LevelMark level={row.level} />
        </Box>
        <Text bold wrap="truncate-end">
          {' '}
          {row.text}
        </Text>
      </Box>
      {row.details.map(([k, v]) => (
        <Box key={k}>
          <Box width={width + 2} flexShrink={0}>
            <Text dimColor>{k}</Text>
          </Box>
          <Text wrap="wrap">{v}</Text>
        </Box>
      ))}
    </Box>
  );
}

import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import { wrapText } from '../../source/text-wrap.js';
import type { Row } from '../status-rows.js';

/** The selected row's details, key: value, each value (a path, a fingerprint) wrapped whole. */
export function DetailPane({ row, height, columns = 80 }: { row: Row; height: number; columns?: number }) {
  const width = Math.min(Math.max(...row.details.map(([k]) => k.length), 4), Math.floor(columns / 3));
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Box>
        <Box flexShrink={0}>
          <LevelMark level={row.level} />
        </Box>
        <Text bold> {wrapText(row.text, columns - 2).join('\n ')}</Text>
      </Box>
      {row.details.map(([k, v]) => (
        <Box key={k}>
          <Box width={width + 2} flexShrink={0}>
            <Text dimColor>{k}</Text>
          </Box>
          <Text>{wrapText(v, columns - width - 2).join('\n')}</Text>
        </Box>
      ))}
    </Box>
  );
}

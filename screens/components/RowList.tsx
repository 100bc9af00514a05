import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import { SYMBOL } from '../theme.js';
import type { Row } from '../status-rows.js';

/** A window of rows around the selection, so a long list fits the terminal's height. */
export function RowList({ rows, selected, height, empty }: { rows: Row[]; selected: number; height: number; empty: string }) {
  if (rows.length === 0) {
    return (
      <Box height={height}>
        <Text dimColor wrap="truncate-end">
          {empty}
        </Text>
      </Box>
    );
  }
  const start = Math.max(0, Math.min(selected - Math.floor(height / 2), rows.length - height));
  const visible = rows.slice(start, start + height);
  return (
    <Box flexDirection="column" height={height}>
      {visible.map((row, i) => {
        const index = start + i;
        return (
          <Box key={row.key}>
            <Box flexShrink={0}>
              <Text>{index === selected ? `${SYMBOL.pointer} ` : '  '}</Text>
              <LevelMark level={row.level} />
            </Box>
            <Text bold={index === selected} wrap="truncate-end">
              {' '}
              {row.text}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import { SYMBOL } from '../theme.js';
import { wrapText } from '../../source/text-wrap.js';
import type { Row } from '../status-rows.js';

/** A row as the lines it takes at this width: its text wrapped, then its path (`sub`), never cut. */
function rowLines(row: Row, columns: number): { text: string[]; sub: string[] } {
  return { text: wrapText(row.text, columns - 4, '', '  '), sub: row.sub ? wrapText(row.sub, columns - 4, '  ', '    ') : [] };
}

/**
 * A window of rows around the selection, so a long list fits the terminal's height. Rows wrap
 * (a long name or path takes two lines rather than losing its end); the window counts lines.
 */
export function RowList({ rows, selected, height, empty, columns = 80 }: { rows: Row[]; selected: number; height: number; empty: string; columns?: number }) {
  if (rows.length === 0) {
    return (
      <Box height={height} flexDirection="column">
        <Text dimColor>{wrapText(empty, columns).slice(0, height).join('\n')}</Text>
      </Box>
    );
  }
  const laid = rows.map((r) => rowLines(r, columns));
  const size = (i: number) => laid[i]!.text.length + laid[i]!.sub.length;
  // Grow the window from the selection, alternating below and above, while it fits.
  let start = selected;
  let end = selected + 1;
  let used = size(selected);
  for (let grew = true; grew; ) {
    grew = false;
    if (end < rows.length && used + size(end) <= height) {
      used += size(end);
      end += 1;
      grew = true;
    }
    if (start > 0 && used + size(start - 1) <= height) {
      start -= 1;
      used += size(start);
      grew = true;
    }
  }
  return (
    <Box flexDirection="column" height={height}>
      {rows.slice(start, end).map((row, i) => {
        const index = start + i;
        const { text, sub } = laid[index]!;
        return (
          <Box key={row.key} flexDirection="column">
            <Box>
              <Box flexShrink={0}>
                <Text>{index === selected ? `${SYMBOL.pointer} ` : '  '}</Text>
                <LevelMark level={row.level} />
              </Box>
              <Text bold={index === selected}> {text.join('\n ')}</Text>
            </Box>
            {sub.map((l, j) => (
              <Text key={j} dimColor>
                {'    '}
                {l.trimStart()}
              </Text>
            ))}
          </Box>
        );
      })}
    </Box>
  );
}

import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import { wrapText } from '../../source/text-wrap.js';
import type { EventEntry } from '../../source/status/types.js';

/** The log pane: the newest finished events that fit `height` lines, each wrapped whole, newest last. */
export function EventPane({ events, height, columns = 80 }: { events: EventEntry[]; height: number; columns?: number }) {
  const laid = events.map((e) => ({ e, lines: wrapText(`${e.time.replace('T', ' ').slice(5, 19)} ${e.event} ${e.container ?? e.workload ?? ''}${e.detail ? ` — ${e.detail}` : ''}`, columns - 3, '', '  ') }));
  const shown: typeof laid = [];
  let used = 0;
  for (let i = laid.length - 1; i >= 0 && used + laid[i]!.lines.length <= height; i -= 1) {
    shown.unshift(laid[i]!);
    used += laid[i]!.lines.length;
  }
  return (
    <Box flexDirection="column" height={height + 1}>
      <Text dimColor>Recent events</Text>
      {shown.length === 0 ? <Text dimColor>  none logged yet</Text> : null}
      {shown.map(({ e, lines }, i) => (
        <Box key={`${e.time}-${i}`}>
          <Box flexShrink={0}>
            <Text> </Text>
            <LevelMark level={/failed/.test(e.event) ? 'fail' : 'ok'} />
          </Box>
          <Text> {lines.join('\n ')}</Text>
        </Box>
      ))}
    </Box>
  );
}

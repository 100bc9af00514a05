import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import type { EventEntry } from '../../source/status/types.js';

/** The log pane: the newest finished events, one line each, newest last. */
export function EventPane({ events, height }: { events: EventEntry[]; height: number }) {
  const shown = events.slice(-height);
  return (
    <Box flexDirection="column" height={height + 1}>
      <Text dimColor>Recent events</Text>
      {shown.length === 0 ? <Text dimColor>  none logged yet</Text> : null}
      {shown.map((e, i) => (
        <Box key={`${e.time}-${i}`}>
          <Box flexShrink={0}>
            <Text> </Text>
            <LevelMark level={/failed/.test(e.event) ? 'fail' : 'ok'} />
          </Box>
          <Text wrap="truncate-end">
            {' '}
            {e.time.replace('T', ' ').slice(5, 19)} {e.event} {e.container ?? e.workload ?? ''}
            {e.detail ? ` — ${e.detail}` : ''}
          </Text>
        </Box>
      ))}
    </Box>
  );
}

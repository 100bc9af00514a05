import React from 'react';
import { Box, Text } from 'ink';
import { LevelMark } from './LevelMark.js';
import type { Level, SectionName } from '../../source/status/types.js';

const SHORT: Record<SectionName, string> = { vault: 'Vault', pki: 'PKI', agents: 'Agents', containers: 'Containers', certificates: 'Certs', caDistribution: 'CA', events: 'Events' };

/** One line of section tabs; the current one is bracketed so it reads without colour too. */
export function SectionTabs({ sections, current }: { sections: Array<{ name: SectionName; level: Level }>; current: SectionName }) {
  return (
    <Box>
      {sections.map((s) => (
        <Box key={s.name} marginRight={1}>
          <Text bold={s.name === current} inverse={s.name === current}>
            {s.name === current ? '[' : ' '}
            {SHORT[s.name]}
          </Text>
          <Text> </Text>
          <LevelMark level={s.level} />
          <Text bold={s.name === current}>{s.name === current ? ']' : ' '}</Text>
        </Box>
      ))}
    </Box>
  );
}

import React from 'react';
import { Text } from 'ink';
import { colour } from '../theme.js';
import type { Level } from '../../source/status/types.js';

/** A state as a symbol that reads without colour (NO_COLOR) and a colour when allowed. */
export const LEVEL_SYMBOL: Record<Level, string> = { ok: '✓', warn: '!', fail: '✗', unknown: '?' };
const LEVEL_COLOUR = { ok: 'green', warn: 'yellow', fail: 'red', unknown: 'gray' } as const;

export function LevelMark({ level }: { level: Level }) {
  return <Text color={colour(LEVEL_COLOUR[level])}>{LEVEL_SYMBOL[level]}</Text>;
}

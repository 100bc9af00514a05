import React from 'react';
import { Box, Text } from 'ink';
import { colour } from '../theme.js';
import type { Plan } from '../../source/steps/context.js';

export function PlanView({ title, plan }: { title: string; plan: Plan }) {
  const width = Math.max(0, ...plan.facts.map(([k]) => k.length));
  return (
    <Box flexDirection="column">
      <Text bold>Plan: {title}</Text>
      {plan.facts.map(([k, v]) => (
        <Text key={k} wrap="truncate-end">
          {'  '}
          {k.padEnd(width)} {v}
        </Text>
      ))}
      {plan.warnings.map((w) => (
        <Text key={w} color={colour('yellow')}>
          {'  '}! {w}
        </Text>
      ))}
      {plan.actions.length === 0 ? <Text>{'  '}Nothing to do: everything is already in place.</Text> : null}
      {plan.actions.map((a) => (
        <Text key={a}>
          {'  '}- {a}
        </Text>
      ))}
    </Box>
  );
}

import React from 'react';
import { Box, Text } from 'ink';
import { colour, SYMBOL } from '../theme.js';
import type { PipelineStep } from '../../source/wizard/controller.js';

const STATE_COLOUR = { done: 'green', pending: 'yellow', todo: 'cyan', drift: 'red', unavailable: 'gray' } as const;

export function StepList({ steps, selected }: { steps: PipelineStep[]; selected: number }) {
  return (
    <Box flexDirection="column">
      {steps.map((step, i) => (
        <Box key={step.id}>
          <Text>{i === selected ? `${SYMBOL.pointer} ` : '  '}</Text>
          <Text color={colour(STATE_COLOUR[step.state])}>{SYMBOL[step.state]} </Text>
          <Text bold={i === selected} dimColor={step.state === 'unavailable'}>
            {step.title}
          </Text>
          <Text dimColor> — {step.detail}</Text>
        </Box>
      ))}
    </Box>
  );
}

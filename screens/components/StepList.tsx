import React from 'react';
import { Box, Text } from 'ink';
import { colour, SYMBOL } from '../theme.js';
import { wrapText } from '../../source/text-wrap.js';
import type { PipelineStep } from '../../source/wizard/controller.js';

const STATE_COLOUR = { done: 'green', pending: 'yellow', todo: 'cyan', drift: 'red', unavailable: 'gray' } as const;

/** The pipeline's steps, each with its state; a long detail wraps under the title, never cut. */
export function StepList({ steps, selected, columns }: { steps: PipelineStep[]; selected: number; columns: number }) {
  return (
    <Box flexDirection="column">
      {steps.map((step, i) => {
        const [first, ...more] = wrapText(`${step.title} — ${step.detail}`, columns - 4, '', '  ');
        return (
          <Box key={step.id} flexDirection="column">
            <Text>
              <Text>{i === selected ? `${SYMBOL.pointer} ` : '  '}</Text>
              <Text color={colour(STATE_COLOUR[step.state])}>{SYMBOL[step.state]} </Text>
              <Text bold={i === selected} dimColor={step.state === 'unavailable'}>
                {first}
              </Text>
            </Text>
            {more.map((m, j) => (
              <Text key={j} dimColor>
                {'    '}
                {m}
              </Text>
            ))}
          </Box>
        );
      })}
    </Box>
  );
}

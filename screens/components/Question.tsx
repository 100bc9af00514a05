import React from 'react';
import { Box, Text } from 'ink';
import { LineInput } from './LineInput.js';
import { colour } from '../theme.js';

export interface QuestionProps {
  label: string;
  hint?: string | undefined;
  defaultValue?: string | undefined;
  /** true: one * per character; 'hidden': nothing at all is shown (a custodian's share). */
  secret?: boolean | 'hidden';
  error?: string | undefined;
  onSubmit: (value: string) => void;
}

/** One question at a time; Enter accepts the default. */
export function Question({ label, hint, defaultValue, secret, error, onSubmit }: QuestionProps) {
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>{label}</Text>
        {defaultValue ? <Text dimColor> [{defaultValue}]</Text> : null}
        <Text>: </Text>
        {secret ? <LineInput secret={secret} onSubmit={onSubmit} /> : <LineInput onSubmit={(v) => onSubmit(v.trim() === '' && defaultValue !== undefined ? defaultValue : v.trim())} />}
      </Box>
      {hint ? <Text dimColor>{hint}</Text> : null}
      {error ? <Text color={colour('red')}>{error}</Text> : null}
    </Box>
  );
}

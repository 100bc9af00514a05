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
  /** Esc: back one question (or out of the step). */
  onEscape?: (() => void) | undefined;
}

/** One question at a time; Enter accepts the default. Label, default and hint wrap; nothing is cut. */
export function Question({ label, hint, defaultValue, secret, error, onSubmit, onEscape }: QuestionProps) {
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{label}</Text>
        {defaultValue ? <Text dimColor> [{defaultValue}]</Text> : null}
        <Text>: </Text>
        {secret ? <LineInput secret={secret} onSubmit={onSubmit} onEscape={onEscape} /> : <LineInput onEscape={onEscape} onSubmit={(v) => onSubmit(v.trim() === '' && defaultValue !== undefined ? defaultValue : v.trim())} />}
      </Text>
      {hint ? <Text dimColor>{hint}</Text> : null}
      {error ? <Text color={colour('red')}>{error}</Text> : null}
    </Box>
  );
}

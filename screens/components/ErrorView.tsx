import React from 'react';
import { Box, Text } from 'ink';
import { colour, SYMBOL } from '../theme.js';
import { useKeys } from '../keys/useKeys.js';
import { explainSystemError } from '../../source/errors.js';

export function ErrorView({ error, onBack, backLabel = 'back to the steps' }: { error: { message: string; fix?: string | undefined }; onBack: () => void; backLabel?: string }) {
  useKeys((_input, key) => {
    if (key.return || key.escape) onBack();
  });
  return (
    <Box flexDirection="column">
      <Text color={colour('red')}>
        {SYMBOL.error} {error.message}
      </Text>
      {error.fix ? <Text>Fix: {error.fix}</Text> : null}
      <Text dimColor>Enter or Esc: {backLabel}</Text>
    </Box>
  );
}

export function toViewError(error: unknown): { message: string; fix?: string } {
  // A full disk is the operator's to fix, with the same words as on the command line.
  const e = explainSystemError(error) as { message?: string; fix?: string };
  return e.fix ? { message: e.message ?? String(error), fix: e.fix } : { message: e.message ?? String(error) };
}

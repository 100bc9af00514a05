import React, { type ReactNode } from 'react';
import { Box, Text } from 'ink';
import { colour } from '../theme.js';
import { ErrorView } from './ErrorView.js';

/**
 * The frame every step screen shares: its title with the environment, then either the error (with
 * its fix, Enter goes back) or the screen's own content.
 */
export function StepFrame({ title, env, error, onBack, children }: { title: string; env: string; error?: { message: string; fix?: string } | undefined; onBack: () => void; children?: ReactNode }) {
  return (
    <Box flexDirection="column">
      <Text bold color={colour('cyan')}>
        {title} · environment {env}
      </Text>
      {error ? <ErrorView error={error} onBack={onBack} /> : children}
    </Box>
  );
}

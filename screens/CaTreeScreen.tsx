import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { Select } from '@inkjs/ui';
import { colour } from './theme.js';
import type { WizardController } from '../source/wizard/controller.js';

/** CA-tree designs from the certifying-builds seed: pick one, see each node's state and the steps. */
export function CaTreeScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const [chosen, setChosen] = useState<string>();
  const choices = controller.caTreePresets(env);
  useInput((input, key) => {
    if (key.escape || input === 'q') {
      if (chosen) setChosen(undefined);
      else onExit();
    }
  });
  const header = (
    <Text bold color={colour('cyan')}>
      CA-tree designs · environment {env}
    </Text>
  );
  if (!chosen) {
    return (
      <Box flexDirection="column">
        {header}
        <Select options={choices.map((c) => ({ label: c.title, value: c.id }))} onChange={setChosen} />
        <Text dimColor>Enter: show the tree · Esc: back</Text>
      </Box>
    );
  }
  const view = controller.caTree(env, chosen);
  return (
    <Box flexDirection="column">
      {header}
      <Text bold>{view.title}</Text>
      <Text dimColor wrap="wrap">
        {view.summary}
      </Text>
      {view.lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Text bold>{view.steps.length ? 'Steps that build what is missing:' : 'Every node exists.'}</Text>
      {view.steps.map((s, i) => (
        <Text key={i} wrap="truncate-end">
          {'  '}
          {s}
        </Text>
      ))}
      <Text dimColor>Esc: other designs</Text>
    </Box>
  );
}

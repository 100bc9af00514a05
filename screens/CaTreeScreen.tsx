import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Menu } from './components/Menu.js';
import { Pager } from './components/Pager.js';
import { useKeys } from './keys/useKeys.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { wrapCommand, wrapText, type Line } from '../source/text-wrap.js';
import { colour } from './theme.js';
import type { WizardController } from '../source/wizard/controller.js';

/** The tree, its summary and the commands that build what is missing, wrapped to the width. */
export function caTreeLines(view: { title: string; summary: string; lines: string[]; steps: string[] }, columns: number): Line[] {
  return [
    ...wrapText(view.title, columns).map((text) => ({ text, bold: true })),
    ...wrapText(view.summary, columns).map((text) => ({ text, dim: true })),
    // A tree line wraps under its node, past the branch drawing.
    ...view.lines.flatMap((l) => {
      const lead = /^[│├└─ ]*/.exec(l)![0];
      return wrapText(l.slice(lead.length), columns, lead, `${lead.replace(/[├└]─ /g, '│  ').replace(/└/g, ' ')}    `).map((text) => ({ text }));
    }),
    { text: view.steps.length ? 'Steps that build what is missing (copy each whole):' : 'Every node exists.', bold: true },
    ...view.steps.flatMap((s) => (s.startsWith('certwright ') ? wrapCommand(s, columns, '  ') : wrapText(s, columns, '  ', '   ')).map((text) => ({ text }))),
  ];
}

/** CA-tree designs from the certifying-builds seed: pick one, see each node's state and the steps. */
export function CaTreeScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const { columns, rows } = useTerminalSize();
  const [chosen, setChosen] = useState<string>();
  const [index, setIndex] = useState(0);
  const choices = controller.caTreePresets(env);
  useKeys((input, key) => {
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
        <Menu options={choices.map((c) => ({ label: c.title, value: c.id }))} initial={index} onMove={setIndex} onChoose={(v, i) => { setIndex(i); setChosen(v); }} />
        <Text dimColor>Enter: show the tree · Esc: back</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      {header}
      <Pager lines={caTreeLines(controller.caTree(env, chosen), columns)} height={rows - 3} />
      <Text dimColor>Esc: other designs</Text>
    </Box>
  );
}

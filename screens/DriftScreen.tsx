import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Menu } from './components/Menu.js';
import { Pager } from './components/Pager.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { wrapCommand, wrapText, type Line } from '../source/text-wrap.js';
import { useKeys } from './keys/useKeys.js';
import { colour } from './theme.js';
import { toViewError } from './components/ErrorView.js';
import type { PipelineStep, WizardController } from '../source/wizard/controller.js';

/**
 * A drifted step: what changed, and the actions that resolve it, each with the command that does
 * the same outside the wizard: re-verify, show what was recorded, or redo the step (its records
 * forgotten through the registry's `state forget`, then its own screen). A root is never redone.
 */
export function DriftScreen({ controller, env, step, onExit, onRedo }: { controller: WizardController; env: string; step: PipelineStep & { drift: NonNullable<PipelineStep['drift']> }; onExit: () => void; onRedo: (id: string) => void }) {
  const drift = step.drift;
  const commands = controller.driftCommands(env, drift);
  const [showing, setShowing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [choice, setChoice] = useState(0);
  const { columns, rows } = useTerminalSize();
  useKeys(
    (input, key) => {
      if (key.escape || input === 'q') {
        if (confirming) setConfirming(false);
        else onExit();
      }
    },
    { hold: busy },
  );
  const redo = async () => {
    setBusy(true);
    try {
      await controller.forget(env, drift, { info() {}, warn() {}, progress() {}, done() {} });
      onRedo(step.id);
    } catch (e) {
      setError(toViewError(e));
      setBusy(false);
      setConfirming(false);
    }
  };
  const options = [
    { label: 'Re-verify now', value: 'reverify' },
    { label: 'Show what was recorded', value: 'show' },
    ...(drift.redo ? [{ label: 'Redo the step: forget its records, then run it again', value: 'redo' }] : []),
    { label: 'Back to the steps', value: 'back' },
  ];
  // What changed, the advice, what was recorded and the commands: one pager above the choices,
  // so the screen fits 24 rows and a long record scrolls instead of pushing the menu away.
  const lines: Line[] = [
    { text: 'What changed:', bold: true },
    ...drift.changed.flatMap((c) => wrapText(`${c.name}: ${c.detail}`, columns, '  ✗ ', '    ').map((text) => ({ text, colour: 'red' as const }))),
    ...wrapText(drift.advice, columns).map((text) => ({ text })),
    ...(showing
      ? [
          ...wrapText(`Recorded (${commands.show}):`, columns).map((text) => ({ text, bold: true })),
          ...controller.recorded(env, drift.records).flatMap(([k, v]) => wrapText(`${k}: ${v}`, columns, '  ', '      ').map((text) => ({ text }))),
        ]
      : []),
    ...(error ? wrapText(`${error.message}${error.fix ? ` ${error.fix}` : ''}`, columns).map((text) => ({ text, colour: 'red' as const })) : []),
    { text: 'Outside the wizard:', dim: true },
    ...wrapCommand(commands.show, columns, '  ').map((text) => ({ text, dim: true })),
    ...(drift.redo ? wrapCommand(commands.forget, columns, '  ').map((text) => ({ text, dim: true })) : []),
  ];
  const forgetLines = wrapCommand(commands.forget, columns, '  ');
  const thenLines = wrapText("Then the step's screen opens to run it again. Nothing in Vault or on disk is removed.", columns);
  // What stands below the pager: "This runs:", the command, what follows, and the two choices.
  const menuRows = confirming ? 1 + forgetLines.length + thenLines.length + 2 : options.length;
  return (
    <Box flexDirection="column">
      <Text bold color={colour('cyan')}>
        {step.title} has drifted · environment {env}
      </Text>
      <Pager lines={lines} height={Math.max(3, rows - 1 - menuRows - 2)} />
      {busy ? (
        <Text>Forgetting the records</Text>
      ) : confirming ? (
        <Box flexDirection="column">
          <Text>This runs:</Text>
          <Text>{forgetLines.join('\n')}</Text>
          <Text>{thenLines.join('\n')}</Text>
          <Menu
            options={[
              { label: 'Forget and redo', value: 'yes' },
              { label: 'Cancel', value: 'no' },
            ]}
            onChoose={(v) => (v === 'yes' ? void redo() : setConfirming(false))}
          />
        </Box>
      ) : (
        <Menu
          options={options}
          initial={choice}
          onMove={setChoice}
          onChoose={(v) => {
            if (v === 'reverify' || v === 'back') onExit();
            else if (v === 'show') setShowing(true);
            else if (v === 'redo') setConfirming(true);
          }}
        />
      )}
      <Text dimColor>Enter: choose · Esc: back (the steps re-verify when shown)</Text>
    </Box>
  );
}

import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { Select } from '@inkjs/ui';
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
  useInput((input, key) => {
    if (busy) return;
    if (key.escape || input === 'q') {
      if (confirming) setConfirming(false);
      else onExit();
    }
  });
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
  return (
    <Box flexDirection="column">
      <Text bold color={colour('cyan')}>
        {step.title} has drifted · environment {env}
      </Text>
      <Text bold>What changed:</Text>
      {drift.changed.map((c, i) => (
        <Text key={i} wrap="wrap" color={colour('red')}>
          {'  ✗ '}
          {c.name}: {c.detail}
        </Text>
      ))}
      <Text wrap="wrap">{drift.advice}</Text>
      {showing ? (
        <Box flexDirection="column">
          <Text bold>Recorded ({commands.show}):</Text>
          {controller.recorded(env, drift.records).map(([k, v], i) => (
            <Text key={i} wrap="wrap">
              {'  '}
              {k}: {v}
            </Text>
          ))}
        </Box>
      ) : null}
      {error ? (
        <Text color={colour('red')} wrap="wrap">
          {error.message}
          {error.fix ? ` ${error.fix}` : ''}
        </Text>
      ) : null}
      {busy ? (
        <Text>Forgetting the records…</Text>
      ) : confirming ? (
        <Box flexDirection="column">
          <Text wrap="wrap">This runs: {commands.forget}</Text>
          <Text>Then the step's screen opens to run it again. Nothing in Vault or on disk is removed.</Text>
          <Select
            options={[
              { label: 'Forget and redo', value: 'yes' },
              { label: 'Cancel', value: 'no' },
            ]}
            onChange={(v) => (v === 'yes' ? void redo() : setConfirming(false))}
          />
        </Box>
      ) : (
        <Box flexDirection="column">
          <Select
            options={options}
            onChange={(v) => {
              if (v === 'reverify' || v === 'back') onExit();
              else if (v === 'show') setShowing(true);
              else if (v === 'redo') setConfirming(true);
            }}
          />
          <Text dimColor wrap="wrap">
            Outside the wizard: {commands.show}
            {drift.redo ? ` · redo: ${commands.forget}` : ''}
          </Text>
        </Box>
      )}
      <Text dimColor>Enter: choose · Esc: back (the steps re-verify when shown)</Text>
    </Box>
  );
}

import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { Question } from './components/Question.js';
import { PlanView } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { colour } from './theme.js';
import type { WizardController, VaultServerForm } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'dns' | 'ip' | 'listen' | 'owner' | 'planning' | 'plan' | 'running' | 'done' | 'error';

/**
 * Vault over HTTPS: the server certificate from the environment's PKI, the config and compose
 * file, then Vault started and waited for over HTTPS (progress shown while it starts).
 */
export function VaultHttpsScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.vaultServerDefaults(env);
  const [form, setForm] = useState<VaultServerForm>(defaults);
  const [phase, setPhase] = useState<Phase>('dns');
  const [plan, setPlan] = useState<Plan>();
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [result, setResult] = useState<{ apiAddr: string; fingerprint: string }>();
  const task = useTask();

  useLoadWhen(
    phase === 'planning',
    () => {
      task.setActivity('Checking Vault, the PKI mount and the TLS directory');
      return controller.planVaultServer(env, form);
    },
    (p) => {
      setPlan(p);
      setPhase('plan');
    },
    (e) => {
      setError(toViewError(e));
      setPhase('error');
    },
  );

  const run = async () => {
    setPhase('running');
    try {
      setResult(await controller.applyVaultServer(env, form, task.reporter));
      setPhase('done');
    } catch (e) {
      setError(toViewError(e));
      setPhase('error');
    }
  };

  useInput((input, key) => {
    if (phase === 'plan' && key.return) void run();
    else if ((phase === 'plan' && (key.escape || input === 'q')) || (phase === 'done' && (key.return || input === 'q'))) onExit();
  });

  return (
    <StepFrame title="Vault over HTTPS" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'dns' && <Question label="DNS names on Vault's certificate" hint="comma-separated; the first is the common name" defaultValue={defaults.dns} onSubmit={(v) => { setForm({ ...form, dns: v }); setPhase('ip'); }} />}
      {phase === 'ip' && <Question label="IP addresses on the certificate" hint="comma-separated" defaultValue={defaults.ip} onSubmit={(v) => { setForm({ ...form, ip: v }); setPhase('listen'); }} />}
      {phase === 'listen' && <Question label="Listen on (HOST:PORT)" defaultValue={defaults.listen} onSubmit={(v) => { setForm({ ...form, listen: v }); setPhase('owner'); }} />}
      {phase === 'owner' && <Question label="Container user UID:GID (owns the TLS files; empty: you)" defaultValue={defaults.owner || undefined} onSubmit={(v) => { setForm({ ...form, owner: v }); setPhase('planning'); }} />}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title={`Vault over HTTPS (${form.runtime})`} plan={plan} />}
      {phase === 'plan' && <Text dimColor>Enter: apply · Esc: back</Text>}
      {(phase === 'running' || phase === 'done') && <TaskView activity={task.activity} lines={task.lines} running={phase === 'running'} />}
      {phase === 'done' && result && (
        <Box flexDirection="column">
          <Text color={colour('green')}>Vault answers over HTTPS at {result.apiAddr}</Text>
          <Text>{result.fingerprint}</Text>
          <Text dimColor>Next: initialise and unseal. Enter: back to the steps</Text>
        </Box>
      )}
    </StepFrame>
  );
}

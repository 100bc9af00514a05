import React, { useState } from 'react';
import { Text } from 'ink';
import { Question } from './components/Question.js';
import { PlanView } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { questionOrder } from './hooks/questionOrder.js';
import { useKeys } from './keys/useKeys.js';
import { wrapText } from '../source/text-wrap.js';
import type { WizardController, VaultServerForm } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'dns' | 'ip' | 'listen' | 'owner' | 'planning' | 'plan' | 'running' | 'done' | 'error';

/**
 * Vault over HTTPS: the server certificate from the environment's PKI, the config and compose
 * file, then Vault started and waited for over HTTPS (progress shown while it starts). The
 * container user is asked only when Vault runs in a container.
 */
export function VaultHttpsScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.vaultServerDefaults(env);
  const { columns, rows } = useTerminalSize();
  const [form, setForm] = useState<VaultServerForm>(defaults);
  const order = questionOrder<Phase>(['dns', 'ip', 'listen', 'owner'], { owner: defaults.runtime === 'process' });
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

  const back = () => {
    const before = order.previous(phase === 'plan' ? 'planning' : phase);
    if (before) setPhase(before);
    else onExit();
  };

  useKeys(
    (input, key) => {
      if (phase === 'plan' && key.return) void run();
      else if (phase === 'plan' && (key.escape || input === 'q')) back();
      else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
    },
    { hold: phase === 'planning' || phase === 'running' },
  );

  const answer = (field: keyof VaultServerForm, after: Phase) => (v: string) => {
    setForm({ ...form, [field]: v });
    setPhase(order.next(after, 'planning'));
  };
  const body = rows - 3;
  return (
    <StepFrame title="Vault over HTTPS" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'dns' && <Question label="DNS names on Vault's certificate" hint="Comma-separated; the first is the common name. Esc: back to the steps" defaultValue={form.dns} onEscape={back} onSubmit={answer('dns', 'dns')} />}
      {phase === 'ip' && <Question label="IP addresses on the certificate" hint="Comma-separated, or empty. Esc: back" defaultValue={form.ip} onEscape={back} onSubmit={answer('ip', 'ip')} />}
      {phase === 'listen' && <Question label="Listen on (HOST:PORT)" hint="Esc: back" defaultValue={form.listen} onEscape={back} onSubmit={answer('listen', 'listen')} />}
      {phase === 'owner' && <Question label="Container user UID:GID (owns the TLS files; empty: you)" hint="Esc: back" defaultValue={form.owner || undefined} onEscape={back} onSubmit={answer('owner', 'owner')} />}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title={`Vault over HTTPS (${form.runtime})`} plan={plan} columns={columns} height={body} />}
      {phase === 'plan' && <Text dimColor>Enter: apply · Esc: back</Text>}
      {phase === 'running' && <TaskView activity={task.activity} lines={task.lines} running columns={columns} height={body} />}
      {phase === 'done' && result && (
        <TaskView
          lines={task.lines}
          running={false}
          columns={columns}
          height={body}
          after={[...wrapText(`Vault answers over HTTPS at ${result.apiAddr}`, columns).map((text) => ({ text, colour: 'green' as const })), ...wrapText(result.fingerprint, columns).map((text) => ({ text }))]}
        />
      )}
      {phase === 'done' && <Text dimColor>Next: initialise and unseal. Enter: back to the steps</Text>}
    </StepFrame>
  );
}

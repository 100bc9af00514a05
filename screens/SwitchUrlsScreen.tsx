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
import { useKeys } from './keys/useKeys.js';
import type { WizardController } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'mount' | 'base' | 'planning' | 'plan' | 'running' | 'done' | 'error';

/** AIA/CRL URLs to HTTPS: CA and CRL are fetched over TLS first; only then the URLs change. */
export function SwitchUrlsScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.switchUrlsDefaults(env);
  const { columns, rows } = useTerminalSize();
  const [mount, setMount] = useState(defaults.mount);
  const [base, setBase] = useState(defaults.base);
  const [phase, setPhase] = useState<Phase>('mount');
  const [plan, setPlan] = useState<Plan>();
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const task = useTask();

  useLoadWhen(
    phase === 'planning',
    () => {
      task.setActivity(`Fetching CA and CRL from ${base} over HTTPS`);
      return controller.planSwitchUrls(env, mount, base);
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

  useKeys(
    (input, key) => {
      if (phase === 'plan' && key.return) {
        if (plan && plan.actions.length === 0) {
          onExit();
          return;
        }
        setPhase('running');
        controller
          .applySwitchUrls(env, mount, base, task.reporter)
          .then(() => setPhase('done'))
          .catch((e) => {
            setError(toViewError(e));
            setPhase('error');
          });
      } else if (phase === 'plan' && (key.escape || input === 'q')) setPhase('base');
      else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
    },
    { hold: phase === 'planning' || phase === 'running' },
  );

  const body = rows - 3;
  return (
    <StepFrame title="AIA/CRL URLs over HTTPS" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'mount' && <Question label="PKI mount" defaultValue={defaults.mount} hint="Esc: back to the steps" onEscape={onExit} onSubmit={(v) => { setMount(v); setPhase('base'); }} />}
      {phase === 'base' && <Question label="HTTPS base URL" defaultValue={defaults.base} hint="The https://HOST:PORT clients reach Vault at. Esc: back" onEscape={() => setPhase('mount')} onSubmit={(v) => { setBase(v); setPhase('planning'); }} />}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title={`switch ${mount}'s URLs`} plan={plan} columns={columns} height={body} />}
      {phase === 'plan' && <Text dimColor>{plan && plan.actions.length === 0 ? 'Enter: back to the steps' : 'Enter: apply · Esc: back'}</Text>}
      {(phase === 'running' || phase === 'done') && <TaskView activity={task.activity} lines={task.lines} running={phase === 'running'} columns={columns} height={body} />}
      {phase === 'done' && <Text dimColor>Enter: back to the steps</Text>}
    </StepFrame>
  );
}

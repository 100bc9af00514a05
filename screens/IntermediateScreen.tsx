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
import type { WizardController, IntermediateForm } from '../source/wizard/controller.js';
import type { RootSecretAnswer } from '../source/wizard/context.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'mount' | 'cn' | 'rootDir' | 'planning' | 'plan' | 'pass' | 'share' | 'running' | 'done' | 'error';

/** Intermediate in Vault, signed by the offline root on this machine (request, sign, install). */
export function IntermediateScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.intermediateDefaults(env);
  const given = controller.defaults;
  const [form, setForm] = useState<IntermediateForm>(defaults);
  const ORDER: Phase[] = ['mount', 'cn', 'rootDir'];
  const answered: Partial<Record<Phase, boolean>> = { mount: given.mount !== undefined, cn: given.intermediateCn !== undefined, rootDir: given.rootDir !== undefined };
  /** The next question the flags did not answer, or the plan. */
  const next = (after?: Phase): Phase => {
    for (let i = after ? ORDER.indexOf(after) + 1 : 0; i < ORDER.length; i += 1) if (!answered[ORDER[i]!]) return ORDER[i]!;
    return 'planning';
  };
  const [phase, setPhase] = useState<Phase>(next());
  const [plan, setPlan] = useState<Plan>();
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const [result, setResult] = useState<{ issuerId: string; fingerprint: string; alreadyInstalled: boolean }>();
  // A root under M-of-N custody: one screen per custodian, each share checked as it is typed.
  const [custody, setCustody] = useState<{ threshold: number; custodians: number; names: string[] }>();
  const [shares, setShares] = useState<Array<{ text: string; source: string }>>([]);
  const [accepted, setAccepted] = useState<string[]>([]);
  const task = useTask();

  useLoadWhen(
    phase === 'planning',
    () => {
      task.setActivity('Checking Vault and the mount');
      return controller.planIntermediate(env, form);
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

  const run = async (answer: RootSecretAnswer) => {
    setPhase('running');
    try {
      setResult(await controller.applyIntermediate(env, form, answer, task.reporter));
      setPhase('done');
    } catch (e) {
      setError(toViewError(e));
      setPhase('error');
    }
  };

  useInput((input, key) => {
    if (phase === 'plan' && key.return) {
      if (plan && plan.actions.length === 0) {
        onExit();
        return;
      }
      controller
        .rootSecretFromFlags(form.rootDir)
        .then((fromFlags) => {
          if (fromFlags) return run(fromFlags);
          const c = controller.rootCustody(form.rootDir);
          setCustody(c);
          setPhase(c ? 'share' : 'pass');
        })
        .catch((e) => {
          setError(toViewError(e));
          setPhase('error');
        });
    } else if ((phase === 'plan' && (key.escape || input === 'q')) || (phase === 'done' && (key.return || input === 'q'))) {
      onExit();
    }
  });

  return (
    <StepFrame title="Intermediate CA" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'mount' && (
        <Question label="PKI mount for the intermediate" defaultValue={defaults.mount} error={hint} onSubmit={(v) => { const bad = controller.validateMount(v); if (bad) { setHint(bad); return; } setHint(undefined); setForm({ ...form, mount: v }); setPhase(next('mount')); }} />
      )}
      {phase === 'cn' && <Question label="Intermediate CA name (CN)" defaultValue={defaults.commonName} onSubmit={(v) => { setForm({ ...form, commonName: v }); setPhase(next('cn')); }} />}
      {phase === 'rootDir' && <Question label="Offline root directory" defaultValue={defaults.rootDir} onSubmit={(v) => { setForm({ ...form, rootDir: v }); setPhase(next('rootDir')); }} />}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {plan && (phase === 'plan' || phase === 'pass') && <PlanView title={`intermediate in ${form.mount}`} plan={plan} />}
      {phase === 'plan' && <Text dimColor>{plan && plan.actions.length === 0 ? 'Enter: back to the steps' : 'Enter: apply · Esc: back'}</Text>}
      {phase === 'pass' && <Question label="Root key passphrase" secret onSubmit={(v) => void run({ passphrase: Buffer.from(v, 'utf8') })} />}
      {phase === 'share' && custody && (
        <Box flexDirection="column">
          <Text>
            {custody.threshold} of {custody.custodians} custodians open this root{accepted.length ? ` · accepted: ${accepted.join(', ')}` : ''}.
          </Text>
          <Question
            key={shares.length}
            label={`Share ${shares.length + 1} of ${custody.threshold}: custodian, type your share's groups (nothing is shown)`}
            secret="hidden"
            error={hint}
            onSubmit={(v) => {
              void controller.checkShare(form.rootDir, v, shares).then((r) => {
                if ('error' in r) {
                  setHint(r.error);
                  return;
                }
                setHint(undefined);
                const next = [...shares, { text: v, source: `the share typed for custodian ${shares.length + 1}` }];
                setAccepted([...accepted, `share ${r.index} (${r.custodian})`]);
                setShares(next);
                if (next.length >= custody.threshold) void run({ shares: next });
              });
            }}
          />
        </Box>
      )}
      {(phase === 'running' || phase === 'done') && <TaskView activity={task.activity} lines={task.lines} running={phase === 'running'} />}
      {phase === 'done' && result && (
        <Box flexDirection="column">
          <Text color={colour('green')}>
            Intermediate {result.alreadyInstalled ? 'already installed' : 'installed'}: issuer {result.issuerId}
          </Text>
          <Text>{result.fingerprint}</Text>
          <Text dimColor>Enter: back to the steps</Text>
        </Box>
      )}
    </StepFrame>
  );
}

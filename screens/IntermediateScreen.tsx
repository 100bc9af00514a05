import React, { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
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
import type { WizardController, IntermediateForm } from '../source/wizard/controller.js';
import type { RootSecretAnswer } from '../source/wizard/context.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'precheck' | 'mount' | 'cn' | 'rootDir' | 'planning' | 'plan' | 'pass' | 'share' | 'running' | 'done' | 'error';

/** A typed root passphrase that does not open the key: asked again, not an error screen. */
export function isWrongPassphrase(error: unknown): boolean {
  return error instanceof Error && /^The passphrase does not open /.test(error.message);
}

/** Intermediate in Vault, signed by the offline root on this machine (request, sign, install). */
export function IntermediateScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.intermediateDefaults(env);
  const given = controller.defaults;
  const { columns, rows } = useTerminalSize();
  const [form, setForm] = useState<IntermediateForm>(defaults);
  const order = questionOrder<Phase>(['mount', 'cn', 'rootDir'], { mount: given.mount !== undefined, cn: given.intermediateCn !== undefined, rootDir: given.rootDir !== undefined });
  const [phase, setPhase] = useState<Phase>('precheck');
  // What can be checked before the first question is: no answers asked for a step that cannot run.
  useEffect(() => {
    if (phase !== 'precheck') return;
    controller.vaultConnectionProblem(env).then((problem) => {
      if (problem) {
        setError(toViewError(problem));
        setPhase('error');
      } else setPhase(order.first('planning'));
    }, (e) => {
      setError(toViewError(e));
      setPhase('error');
    });
  }, [phase]);
  const [plan, setPlan] = useState<Plan>();
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const [attempt, setAttempt] = useState(0);
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

  const run = async (answer: RootSecretAnswer, typed: boolean) => {
    setPhase('running');
    try {
      setResult(await controller.applyIntermediate(env, form, answer, task.reporter));
      setPhase('done');
    } catch (e) {
      if (typed && isWrongPassphrase(e)) {
        // Back to the passphrase prompt: a mistyped passphrase is not the end of the step.
        setHint(`That passphrase does not open the root key in ${form.rootDir}. Type it again (Esc: back to the plan).`);
        task.reset();
        setAttempt((a) => a + 1);
        setPhase('pass');
        return;
      }
      setError(toViewError(e));
      setPhase('error');
    }
  };

  const back = () => {
    setHint(undefined);
    if (phase === 'pass' || phase === 'share') {
      setShares([]);
      setAccepted([]);
      setPhase('plan');
      return;
    }
    const before = order.previous(phase === 'plan' ? 'planning' : phase);
    if (before) setPhase(before);
    else onExit();
  };

  useKeys(
    (input, key) => {
      if (phase === 'plan' && key.return) {
        if (plan && plan.actions.length === 0) {
          onExit();
          return;
        }
        setPhase('running');
        controller
          .rootSecretFromFlags(form.rootDir)
          .then((fromFlags) => {
            if (fromFlags) return run(fromFlags, false);
            const c = controller.rootCustody(form.rootDir);
            setCustody(c);
            setPhase(c ? 'share' : 'pass');
          })
          .catch((e) => {
            setError(toViewError(e));
            setPhase('error');
          });
      } else if (phase === 'plan' && (key.escape || input === 'q')) back();
      else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
    },
    { hold: phase === 'precheck' || phase === 'planning' || phase === 'running' },
  );

  const body = rows - 3;
  return (
    <StepFrame title="Intermediate CA" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'mount' && (
        <Question label="PKI mount for the intermediate" defaultValue={form.mount} hint="A Vault path: letters, digits, - and _, e.g. pki_int. Esc: back" error={hint} onEscape={back} onSubmit={(v) => { const bad = controller.validateMount(v); if (bad) { setHint(bad.replace(/--mount /g, '')); return; } setHint(undefined); setForm({ ...form, mount: v }); setPhase(order.next('mount', 'planning')); }} />
      )}
      {phase === 'cn' && <Question label="Intermediate CA name (CN)" defaultValue={form.commonName} hint="Esc: back" onEscape={back} onSubmit={(v) => { setForm({ ...form, commonName: v }); setPhase(order.next('cn', 'planning')); }} />}
      {phase === 'rootDir' && <Question label="Offline root directory" defaultValue={form.rootDir} hint="Where root-ca.key and root-ca.pem are. Esc: back" onEscape={back} onSubmit={(v) => { setForm({ ...form, rootDir: v }); setPhase(order.next('rootDir', 'planning')); }} />}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title={`intermediate in ${form.mount}`} plan={plan} columns={columns} height={body} />}
      {phase === 'plan' && <Text dimColor>{plan && plan.actions.length === 0 ? 'Enter: back to the steps' : 'Enter: apply · Esc: back'}</Text>}
      {phase === 'pass' && <Text dimColor>{wrapText(`Signing the intermediate for ${form.mount} with the root in ${form.rootDir}`, columns).join('\n')}</Text>}
      {phase === 'pass' && <Question key={attempt} label="Root key passphrase" secret error={hint} hint={hint ? undefined : 'Esc: back to the plan'} onEscape={back} onSubmit={(v) => { setHint(undefined); void run({ passphrase: Buffer.from(v, 'utf8') }, true); }} />}
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
            hint="Esc: back to the plan"
            onEscape={back}
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
                if (next.length >= custody.threshold) void run({ shares: next }, false);
              });
            }}
          />
        </Box>
      )}
      {phase === 'running' && <TaskView activity={task.activity} lines={task.lines} running columns={columns} height={body} />}
      {phase === 'done' && result && (
        <TaskView
          lines={task.lines}
          running={false}
          columns={columns}
          height={body}
          after={[
            ...wrapText(`Intermediate ${result.alreadyInstalled ? 'already installed' : 'installed'}: issuer ${result.issuerId}`, columns).map((text) => ({ text, colour: 'green' as const })),
            ...wrapText(result.fingerprint, columns).map((text) => ({ text })),
          ]}
        />
      )}
      {phase === 'done' && <Text dimColor>Enter: back to the steps</Text>}
    </StepFrame>
  );
}

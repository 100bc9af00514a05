import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Question } from './components/Question.js';
import { PlanView } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { Menu } from './components/Menu.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { questionOrder } from './hooks/questionOrder.js';
import { useKeys } from './keys/useKeys.js';
import { wrapText } from '../source/text-wrap.js';
import type { WizardController, RootForm } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';
import type { KeyType } from '../source/pki/keys.js';

type Phase = 'cn' | 'outDir' | 'keyType' | 'ttl' | 'pathLen' | 'planning' | 'plan' | 'pass1' | 'pass2' | 'confirm' | 'running' | 'done' | 'error';

const KEY_TYPES = [
  { label: 'EC P-384 (recommended)', value: 'ec-p384' },
  { label: 'EC P-256', value: 'ec-p256' },
  { label: 'RSA 4096', value: 'rsa-4096' },
  { label: 'RSA 3072', value: 'rsa-3072' },
];

/**
 * The root ceremony: questions the flags did not answer, the plan, the passphrase (hidden, twice),
 * the CA name typed to confirm, then the step itself. Esc goes back one question.
 */
export function RootCeremonyScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.rootDefaults(env);
  const given = controller.defaults;
  const { columns, rows } = useTerminalSize();
  const [form, setForm] = useState<RootForm>(defaults);
  const order = questionOrder<Phase>(['cn', 'outDir', 'keyType', 'ttl', 'pathLen'], { cn: given.commonName !== undefined, outDir: given.outDir !== undefined, keyType: given.keyType !== undefined, ttl: given.ttl !== undefined, pathLen: given.pathLen !== undefined });
  const [phase, setPhase] = useState<Phase>(order.first('planning'));
  const [plan, setPlan] = useState<Plan>();
  const [passphrase, setPassphrase] = useState<string>('');
  const [fromFile, setFromFile] = useState(false);
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  const [result, setResult] = useState<{ fingerprint: string; certFile: string; notAfter: string }>();
  const task = useTask();

  useLoadWhen(
    phase === 'planning',
    () => controller.planRoot(env, form),
    (p) => {
      setPlan(p);
      setPhase('plan');
    },
    (e) => {
      setError(toViewError(e));
      setPhase('error');
    },
  );

  const run = async (pass: Buffer) => {
    setPhase('running');
    try {
      const r = await controller.applyRoot(env, form, pass, task.reporter);
      setResult(r);
      setPhase('done');
    } catch (e) {
      setError(toViewError(e));
      setPhase('error');
    }
  };

  /** Esc: one question back; from the first question (or the plan with nothing asked), the steps. */
  const back = () => {
    setHint(undefined);
    if (phase === 'pass2' || (phase === 'confirm' && !fromFile)) {
      setPassphrase('');
      setPhase('pass1');
    } else if (phase === 'pass1' || phase === 'confirm') {
      setPassphrase('');
      setPhase('plan');
    } else {
      const before = order.previous(phase === 'plan' ? 'planning' : phase);
      if (before) setPhase(before);
      else onExit();
    }
  };

  useKeys(
    (input, key) => {
      if (phase === 'plan' && key.return) {
        setPhase('running');
        controller
          .passphraseFromFile(12)
          .then((file) => {
            if (file) {
              setPassphrase(file.toString('utf8'));
              file.fill(0);
              setFromFile(true);
              setPhase('confirm');
            } else setPhase('pass1');
          })
          .catch((e) => {
            setError(toViewError(e));
            setPhase('error');
          });
      } else if (phase === 'plan' && (key.escape || input === 'q')) back();
      else if (phase === 'keyType' && key.escape) back();
      else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
    },
    { hold: phase === 'planning' || phase === 'running' },
  );

  const header = 3; // title, footer, spare
  return (
    <StepFrame title="Root ceremony" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'cn' && <Question label="Root CA name (CN)" defaultValue={form.commonName} hint="Esc: back to the steps" onEscape={back} onSubmit={(v) => { setForm({ ...form, commonName: v }); setPhase(order.next('cn', 'planning')); }} />}
      {phase === 'outDir' && (
        <Question label="Directory for root-ca.key and root-ca.pem" defaultValue={form.outDir} hint="Keep it on this offline machine. It is created with mode 0700 if missing. Esc: back" onEscape={back} onSubmit={(v) => { setForm({ ...form, outDir: v }); setPhase(order.next('outDir', 'planning')); }} />
      )}
      {phase === 'keyType' && (
        <Box flexDirection="column">
          <Text bold>Key type:</Text>
          <Menu options={KEY_TYPES} initial={Math.max(0, KEY_TYPES.findIndex((k) => k.value === form.keyType))} onChoose={(v) => { setForm({ ...form, keyType: v as KeyType }); setPhase(order.next('keyType', 'planning')); }} />
          <Text dimColor>Enter: choose · Esc: back</Text>
        </Box>
      )}
      {phase === 'ttl' && (
        <Question label="Validity" defaultValue={form.ttl} hint="A duration: a number and a unit (h, d, w, y), e.g. 10y or 3650d. Esc: back" error={hint} onEscape={back} onSubmit={(v) => { if (!/^\d+[smhdwy]?$|^(\d+[smhdwy])+$/.test(v)) { setHint(`"${v}" is not a duration: give a number and a unit (h, d, w, y), e.g. 10y.`); return; } setHint(undefined); setForm({ ...form, ttl: v }); setPhase(order.next('ttl', 'planning')); }} />
      )}
      {phase === 'pathLen' && (
        <Question label="Path length (CA levels allowed below the root; empty = unlimited)" defaultValue={form.pathLen} hint="Esc: back" error={hint} onEscape={back} onSubmit={(v) => { if (v !== '' && !/^\d$/.test(v)) { setHint('The path length is a number from 0 to 9, or empty for unlimited.'); return; } setHint(undefined); setForm({ ...form, pathLen: v }); setPhase(order.next('pathLen', 'planning')); }} />
      )}
      {phase === 'planning' && <TaskView activity="Checking the directory" lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title="offline root" plan={plan} columns={columns} height={rows - header} />}
      {phase === 'plan' && <Text dimColor>Enter: continue · Esc: back</Text>}
      {plan && (phase === 'pass1' || phase === 'pass2' || phase === 'confirm') && (
        <Text dimColor>{wrapText(`Creating ${form.commonName} (${form.keyType}, ${form.ttl}) in ${form.outDir}`, columns).join('\n')}</Text>
      )}
      {phase === 'pass1' && (
        <Question label="New passphrase for the root key" secret error={hint} hint="At least 12 characters. It is never stored or shown. Esc: back to the plan" onEscape={back} onSubmit={(v) => { if (v.length < 12) { setHint(`The passphrase needs at least 12 characters (that one had ${v.length}).`); return; } setHint(undefined); setPassphrase(v); setPhase('pass2'); }} />
      )}
      {phase === 'pass2' && (
        <Question label="Type the passphrase again" secret error={hint} hint="Esc: back to the first passphrase" onEscape={back} onSubmit={(v) => { if (v !== passphrase) { setHint('The two passphrases differ; type the first one again.'); setPassphrase(''); setPhase('pass1'); return; } setHint(undefined); setPhase('confirm'); }} />
      )}
      {phase === 'confirm' && (
        <Question key={attempt} label={`Type the CA name "${form.commonName}" to create the root`} hint="Esc: back" error={hint} onEscape={back} onSubmit={(v) => { if (v !== form.commonName) { setHint('That is not the CA name; nothing was created. Type it exactly, or Esc to go back.'); setAttempt((a) => a + 1); return; } const buf = Buffer.from(passphrase, 'utf8'); setPassphrase(''); void run(buf); }} />
      )}
      {phase === 'running' && <TaskView activity={task.activity} lines={task.lines} running columns={columns} height={rows - header} />}
      {phase === 'done' && result && (
        <TaskView
          lines={task.lines}
          running={false}
          columns={columns}
          height={rows - header}
          after={[
            ...wrapText(`Root CA created: ${result.certFile}`, columns).map((text) => ({ text, colour: 'green' as const })),
            { text: 'SHA-256 fingerprint:' },
            ...wrapText(result.fingerprint, columns).map((text) => ({ text })),
            { text: `Valid until ${result.notAfter}` },
          ]}
        />
      )}
      {phase === 'done' && <Text dimColor>Enter: back to the steps</Text>}
    </StepFrame>
  );
}

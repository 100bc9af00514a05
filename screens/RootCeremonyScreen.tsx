import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { Select } from '@inkjs/ui';
import { Question } from './components/Question.js';
import { PlanView } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { colour } from './theme.js';
import type { WizardController, RootForm } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';
import type { KeyType } from '../source/pki/keys.js';

type Phase = 'cn' | 'outDir' | 'keyType' | 'ttl' | 'pathLen' | 'planning' | 'plan' | 'pass1' | 'pass2' | 'confirm' | 'running' | 'done' | 'error';

/**
 * The root ceremony: questions the flags did not answer, the plan, the passphrase (hidden, twice),
 * the CA name typed to confirm, then the step itself.
 */
export function RootCeremonyScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.rootDefaults(env);
  const given = controller.defaults;
  const [form, setForm] = useState<RootForm>(defaults);
  const ORDER: Phase[] = ['cn', 'outDir', 'keyType', 'ttl', 'pathLen'];
  const answered: Partial<Record<Phase, boolean>> = { cn: given.commonName !== undefined, outDir: given.outDir !== undefined, keyType: given.keyType !== undefined, ttl: given.ttl !== undefined, pathLen: given.pathLen !== undefined };
  /** The next question the flags did not answer, or the plan. */
  const next = (after?: Phase): Phase => {
    for (let i = after ? ORDER.indexOf(after) + 1 : 0; i < ORDER.length; i += 1) if (!answered[ORDER[i]!]) return ORDER[i]!;
    return 'planning';
  };
  const [phase, setPhase] = useState<Phase>(next());
  const [plan, setPlan] = useState<Plan>();
  const [passphrase, setPassphrase] = useState<string>('');
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

  useInput((input, key) => {
    if (phase === 'plan' && key.return) {
      controller
        .passphraseFromFile(12)
        .then((fromFile) => {
          if (fromFile) {
            setPassphrase(fromFile.toString('utf8'));
            fromFile.fill(0);
            setPhase('confirm');
          } else setPhase('pass1');
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
    <StepFrame title="Root ceremony" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'cn' && (
        <Question label="Root CA name (CN)" defaultValue={defaults.commonName} onSubmit={(v) => { setForm({ ...form, commonName: v }); setPhase(next('cn')); }} />
      )}
      {phase === 'outDir' && (
        <Question label="Directory for root-ca.key and root-ca.pem" defaultValue={defaults.outDir} hint="Keep it on this offline machine. It is created with mode 0700 if missing." onSubmit={(v) => { setForm({ ...form, outDir: v }); setPhase(next('outDir')); }} />
      )}
      {phase === 'keyType' && (
        <Box flexDirection="column">
          <Text bold>Key type:</Text>
          <Select
            options={[
              { label: 'EC P-384 (recommended)', value: 'ec-p384' },
              { label: 'EC P-256', value: 'ec-p256' },
              { label: 'RSA 4096', value: 'rsa-4096' },
              { label: 'RSA 3072', value: 'rsa-3072' },
            ]}
            onChange={(v) => { setForm({ ...form, keyType: v as KeyType }); setPhase(next('keyType')); }}
          />
        </Box>
      )}
      {phase === 'ttl' && (
        <Question label="Validity" defaultValue={defaults.ttl} hint="e.g. 10y, 3650d" error={hint} onSubmit={(v) => { if (!/^\d+[smhdwy]?$|^(\d+[smhdwy])+$/.test(v)) { setHint(`"${v}" is not a duration`); return; } setHint(undefined); setForm({ ...form, ttl: v }); setPhase(next('ttl')); }} />
      )}
      {phase === 'pathLen' && (
        <Question label="Path length (CA levels allowed below the root; empty = unlimited)" defaultValue={defaults.pathLen} error={hint} onSubmit={(v) => { if (v !== '' && !/^\d$/.test(v)) { setHint('Type a number from 0 to 9, or leave it empty'); return; } setHint(undefined); setForm({ ...form, pathLen: v }); setPhase(next('pathLen')); }} />
      )}
      {phase === 'planning' && <Text>Checking the directory…</Text>}
      {plan && (phase === 'plan' || phase === 'pass1' || phase === 'pass2' || phase === 'confirm') && <PlanView title="offline root" plan={plan} />}
      {phase === 'plan' && <Text dimColor>Enter: continue · Esc: back</Text>}
      {phase === 'pass1' && (
        <Question label="New passphrase for the root key" secret error={hint} hint="At least 12 characters. It is never stored or shown." onSubmit={(v) => { if (v.length < 12) { setHint('The passphrase needs at least 12 characters'); return; } setHint(undefined); setPassphrase(v); setPhase('pass2'); }} />
      )}
      {phase === 'pass2' && (
        <Question label="Type the passphrase again" secret error={hint} onSubmit={(v) => { if (v !== passphrase) { setHint('The two passphrases differ; type the first one again'); setPassphrase(''); setPhase('pass1'); return; } setHint(undefined); setPhase('confirm'); }} />
      )}
      {phase === 'confirm' && (
        <Question key={attempt} label={`Type the CA name "${form.commonName}" to create the root`} error={hint} onSubmit={(v) => { if (v !== form.commonName) { setHint('That is not the CA name; nothing was created'); setAttempt((a) => a + 1); return; } const buf = Buffer.from(passphrase, 'utf8'); setPassphrase(''); void run(buf); }} />
      )}
      {(phase === 'running' || phase === 'done') && <TaskView activity={task.activity} lines={task.lines} running={phase === 'running'} />}
      {phase === 'done' && result && (
        <Box flexDirection="column">
          <Text color={colour('green')}>Root CA created: {result.certFile}</Text>
          <Text>SHA-256 fingerprint:</Text>
          <Text>{result.fingerprint}</Text>
          <Text>Valid until {result.notAfter}</Text>
          <Text dimColor>Enter: back to the steps</Text>
        </Box>
      )}
    </StepFrame>
  );
}

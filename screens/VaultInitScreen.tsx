import React, { useEffect, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { Question } from './components/Question.js';
import { TaskView } from './components/TaskView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { colour } from './theme.js';
import type { WizardController } from '../source/wizard/controller.js';
import type { InitSecrets } from '../source/steps/vault-init.js';

type Phase = 'checking' | 'shares' | 'threshold' | 'running' | 'keys' | 'unseal' | 'done' | 'error';

/**
 * Initialise and unseal over HTTPS. The keys are shown once, on this screen only, until the
 * operator confirms they are copied; then they are gone. Shares are typed hidden.
 */
export function VaultInitScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const [phase, setPhase] = useState<Phase>('checking');
  const [shares, setShares] = useState(5);
  const [secrets, setSecrets] = useState<InitSecrets>();
  const [progress, setProgress] = useState<{ given: number; needed: number }>({ given: 0, needed: 0 });
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const task = useTask();

  const fail = (e: unknown) => {
    setError(toViewError(e));
    setPhase('error');
  };

  useEffect(() => {
    if (phase !== 'checking') return;
    task.setActivity('Asking Vault over HTTPS (trusting only the environment root)');
    controller
      .sealStatus(env)
      .then((s) => {
        setProgress({ given: s.progress, needed: s.t });
        setPhase(s.sealed ? 'unseal' : 'done');
      })
      .catch((e: Error) => (/not initialised/.test(e.message) ? setPhase('shares') : fail(e)));
  }, [phase]);

  const init = async (threshold: number) => {
    setPhase('running');
    try {
      const result = await controller.initVault(env, shares, threshold, task.reporter);
      if (result.secrets) {
        setSecrets(result.secrets);
        setPhase('keys');
      } else setPhase('checking');
    } catch (e) {
      fail(e);
    }
  };

  const unseal = async (share: string) => {
    if (share.trim() === '') return;
    try {
      const s = await controller.unsealShare(env, share, task.reporter);
      setProgress({ given: s.progress, needed: s.t });
      setHint(undefined);
      if (!s.sealed) setPhase('done');
    } catch (e) {
      setHint(toViewError(e).message);
    }
  };

  useInput((input, key) => {
    if (phase === 'keys' && key.return) {
      setSecrets(undefined); // shown once: gone from memory and screen
      setPhase('checking');
    } else if (phase === 'done' && (key.return || input === 'q')) onExit();
    else if (phase === 'unseal' && key.escape) onExit();
  });

  return (
    <StepFrame title="Initialise and unseal" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {(phase === 'checking' || phase === 'running') && <TaskView activity={task.activity} lines={task.lines} running />}
      {phase === 'shares' && <Question label="Unseal key shares" defaultValue="5" onSubmit={(v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 10) { setHint('Give a number from 1 to 10.'); return; } setHint(undefined); setShares(n); setPhase('threshold'); }} error={hint} />}
      {phase === 'threshold' && <Question label="Shares needed to unseal" defaultValue={String(Math.min(3, shares))} onSubmit={(v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > shares || (shares > 1 && n < 2)) { setHint(`Give a number from ${shares > 1 ? 2 : 1} to ${shares}.`); return; } setHint(undefined); void init(n); }} error={hint} />}
      {phase === 'keys' && secrets && (
        <Box flexDirection="column">
          <Text color={colour('yellow')}>Shown once, stored nowhere. Give each key to a different holder now.</Text>
          {secrets.keysB64.map((k, i) => (
            <Text key={k}>
              Unseal key {i + 1}: {k}
            </Text>
          ))}
          <Text>Root token: {secrets.rootToken}</Text>
          <Text dimColor>Enter: I have copied them (they disappear)</Text>
        </Box>
      )}
      {phase === 'unseal' && (
        <Box flexDirection="column">
          <Text>
            Vault is sealed: {progress.given} of {progress.needed} key shares given.
          </Text>
          <Question key={progress.given} label="Unseal key share (hidden)" secret error={hint} onSubmit={(v) => void unseal(v)} />
          <Text dimColor>Esc: back to the steps</Text>
        </Box>
      )}
      {phase === 'done' && (
        <Box flexDirection="column">
          <Text color={colour('green')}>Vault is initialised and unsealed.</Text>
          <Text dimColor>Enter: back to the steps</Text>
        </Box>
      )}
    </StepFrame>
  );
}

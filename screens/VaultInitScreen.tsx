import React, { useEffect, useRef, useState } from 'react';
import { createHash } from 'node:crypto';
import { Box, Text } from 'ink';
import { Question } from './components/Question.js';
import { TaskView } from './components/TaskView.js';
import { PlanView } from './components/PlanView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { useKeys } from './keys/useKeys.js';
import { colour } from './theme.js';
import { unsealVerdict, type WizardController } from '../source/wizard/controller.js';
import type { InitSecrets } from '../source/steps/vault-init.js';
import type { Plan } from '../source/steps/context.js';

type Phase = 'checking' | 'shares' | 'threshold' | 'planning' | 'plan' | 'running' | 'keys' | 'unseal' | 'submitting' | 'done' | 'error';

/**
 * Initialise and unseal over HTTPS. Init shows its plan and asks before it runs. The keys are
 * shown once, on this screen only, until the operator confirms they are copied; then they are
 * gone. Shares are typed hidden; a share Vault refuses or does not count is said on screen.
 */
export function VaultInitScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const { columns, rows } = useTerminalSize();
  const [phase, setPhase] = useState<Phase>('checking');
  const [shares, setShares] = useState(() => controller.initSharesDefault());
  const [threshold, setThreshold] = useState(3);
  const [plan, setPlan] = useState<Plan>();
  const [secrets, setSecrets] = useState<InitSecrets>();
  const [progress, setProgress] = useState<{ given: number; needed: number }>({ given: 0, needed: 0 });
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const [notice, setNotice] = useState<{ text: string; refused: boolean }>();
  const [attempt, setAttempt] = useState(0);
  /** Digests (never the shares) of the shares given in this round, to refuse one given twice. */
  const round = useRef(new Set<string>());
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

  useEffect(() => {
    if (phase !== 'planning') return;
    controller.planVaultInit(env, shares, threshold).then((p) => {
      setPlan(p);
      setPhase('plan');
    }, fail);
  }, [phase]);

  const init = async () => {
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
    const trimmed = share.trim();
    if (trimmed === '') {
      setNotice({ text: 'Type a key share (it stays hidden), or Esc to go back to the steps.', refused: true });
      return;
    }
    const digest = createHash('sha256').update(trimmed).digest('hex');
    if (round.current.has(digest)) {
      setNotice({ text: `That share was already given in this round (${progress.given} of ${progress.needed}). Give another holder's share.`, refused: true });
      setAttempt((a) => a + 1);
      return;
    }
    setPhase('submitting');
    try {
      const s = await controller.unsealShare(env, trimmed, task.reporter);
      const verdict = unsealVerdict(progress, { given: s.progress, needed: s.t, sealed: s.sealed });
      if (s.progress === 0) round.current.clear();
      else if (s.progress > progress.given) round.current.add(digest);
      setNotice(verdict);
      setProgress({ given: s.progress, needed: s.t });
      setPhase(s.sealed ? 'unseal' : 'done');
    } catch (e) {
      round.current.clear();
      const message = toViewError(e).message;
      setNotice({ text: /rejected/.test(message) ? `Vault refused that share and discarded the ${progress.given + 1} given in this round: ${message.replace(/^Vault rejected the unseal key shares of this round: /, '')}` : message, refused: true });
      setProgress((p) => ({ ...p, given: 0 }));
      setPhase('unseal');
    }
    setAttempt((a) => a + 1);
  };

  useKeys(
    (input, key) => {
      if (phase === 'keys' && key.return) {
        setSecrets(undefined); // shown once: gone from memory and screen
        setPhase('checking');
      } else if (phase === 'plan' && key.return) void init();
      else if (phase === 'plan' && (key.escape || input === 'q')) setPhase('threshold');
      else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
    },
    { hold: phase === 'checking' || phase === 'planning' || phase === 'running' || phase === 'submitting' },
  );

  return (
    <StepFrame title="Initialise and unseal" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {(phase === 'checking' || phase === 'running' || phase === 'planning' || phase === 'submitting') && <TaskView activity={phase === 'submitting' ? 'Giving the share to Vault' : task.activity} lines={task.lines} running columns={columns} height={rows - 3} />}
      {phase === 'shares' && <Question label="Unseal key shares" defaultValue={String(shares)} hint="How many holders get a share: 1 to 10. Esc: back to the steps" onEscape={onExit} onSubmit={(v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 10) { setHint(`"${v}" is not a number of shares: give a whole number from 1 to 10.`); return; } setHint(undefined); setShares(n); setThreshold(Math.min(3, n)); setPhase('threshold'); }} error={hint} />}
      {phase === 'threshold' && <Question label="Shares needed to unseal" defaultValue={String(Math.min(threshold, shares))} hint={`From ${shares > 1 ? 2 : 1} to ${shares}. Esc: back`} onEscape={() => { setHint(undefined); setPhase('shares'); }} onSubmit={(v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > shares || (shares > 1 && n < 2)) { setHint(`"${v}" does not fit: with ${shares} shares, give a number from ${shares > 1 ? 2 : 1} to ${shares}.`); return; } setHint(undefined); setThreshold(n); setPhase('planning'); }} error={hint} />}
      {phase === 'plan' && plan && <PlanView title="initialise Vault" plan={plan} columns={columns} height={rows - 3} />}
      {phase === 'plan' && <Text dimColor>Enter: initialise now · Esc: back</Text>}
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
          {notice ? <Text color={notice.refused ? colour('red') : colour('green')}>{notice.text}</Text> : null}
          <Question key={attempt} label="Unseal key share (hidden)" secret onEscape={onExit} onSubmit={(v) => void unseal(v)} />
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

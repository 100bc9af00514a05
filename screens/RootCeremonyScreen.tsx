import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Menu } from './components/Menu.js';
import { useKeys } from './keys/useKeys.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { Question } from './components/Question.js';
import { PlanView } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { toViewError } from './components/ErrorView.js';
import { StepFrame } from './components/StepFrame.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { colour } from './theme.js';
import type { WizardController, RootForm, CustodyForm } from '../source/wizard/controller.js';
import type { Plan } from '../source/steps/context.js';
import type { KeyType } from '../source/pki/keys.js';

type Phase = 'cn' | 'outDir' | 'keyType' | 'ttl' | 'pathLen' | 'custody' | 'custodians' | 'threshold' | 'names' | 'sharesOut' | 'show' | 'planning' | 'plan' | 'pass1' | 'pass2' | 'confirm' | 'running' | 'done' | 'error';

/** A new share on screen for its custodian: first the call to look away, then the groups. */
interface Showing {
  share: { custodian: string; index: number; custodians: number; threshold: number; groups: string };
  revealed: boolean;
  done: () => void;
}

/**
 * The root ceremony: questions the flags did not answer, the plan, the passphrase (hidden, twice)
 * or M-of-N custody (no passphrase at all), the CA name typed to confirm, then the step itself;
 * under custody each new share can be shown once, custodian by custodian.
 */
export function RootCeremonyScreen({ controller, env, onExit }: { controller: WizardController; env: string; onExit: () => void }) {
  const defaults = controller.rootDefaults(env);
  const given = controller.defaults;
  const [form, setForm] = useState<RootForm>(defaults);
  const { columns, rows } = useTerminalSize();
  const ORDER: Phase[] = ['cn', 'outDir', 'keyType', 'ttl', 'pathLen', 'custody', 'custodians', 'threshold', 'names', 'sharesOut', 'show'];
  const CUSTODY_PHASES: Phase[] = ['custodians', 'threshold', 'names', 'sharesOut', 'show'];
  // A passphrase file answers "one passphrase"; --custodians answers "custodians" (and its own questions).
  const byFlags = given.passphraseFile !== undefined || given.custodians !== undefined;
  const answered: Partial<Record<Phase, boolean>> = {
    cn: given.commonName !== undefined,
    outDir: given.outDir !== undefined,
    keyType: given.keyType !== undefined,
    ttl: given.ttl !== undefined,
    pathLen: given.pathLen !== undefined,
    custody: byFlags,
    custodians: given.custodians !== undefined,
    threshold: given.threshold !== undefined,
    names: given.custodianNames !== undefined,
    sharesOut: given.sharesOut !== undefined,
  };
  /** The next question the flags did not answer, or the plan. */
  const next = (after?: Phase, custody = form.custody): Phase => {
    for (let i = after ? ORDER.indexOf(after) + 1 : 0; i < ORDER.length; i += 1) {
      const p = ORDER[i]!;
      if (CUSTODY_PHASES.includes(p) && !custody) continue;
      if (!answered[p]) return p;
    }
    return 'planning';
  };
  /** The question before `phase` the flags did not answer (Esc goes there), or undefined: the steps. */
  const previous = (phase: Phase): Phase | undefined => {
    for (let i = (phase === 'plan' ? ORDER.length : ORDER.indexOf(phase)) - 1; i >= 0; i -= 1) {
      const p = ORDER[i]!;
      if (CUSTODY_PHASES.includes(p) && !form.custody) continue;
      if (!answered[p]) return p;
    }
    return undefined;
  };
  const back = () => {
    setHint(undefined);
    if (phase === 'pass2') setPhase('pass1');
    else if (phase === 'pass1' || phase === 'confirm') {
      setPassphrase('');
      setPhase('plan');
    } else {
      const before = previous(phase);
      if (before) setPhase(before);
      else onExit();
    }
  };
  const custodyDefaults = controller.custodyDefaults(env);
  const setCustody = (change: Partial<CustodyForm>, after: Phase) => {
    const custody = { ...(form.custody ?? custodyDefaults), ...change };
    setForm({ ...form, custody });
    setPhase(next(after, custody));
  };
  const [showing, setShowing] = useState<Showing>();
  const [phase, setPhase] = useState<Phase>(next());
  const [plan, setPlan] = useState<Plan>();
  const [passphrase, setPassphrase] = useState<string>('');
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [hint, setHint] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  const [result, setResult] = useState<{ fingerprint: string; certFile: string; notAfter: string; shares?: Array<{ index: number; custodian: string; file: string }> | undefined; threshold?: number | undefined }>();
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

  /** Resolves when the custodian has seen the share and pressed Enter again. */
  const showShare = (share: Showing['share']) =>
    new Promise<void>((resolve) => {
      setShowing({ share, revealed: false, done: resolve });
    });

  const run = async (pass: Buffer | undefined) => {
    setPhase('running');
    try {
      const r = await controller.applyRoot(env, form, pass, task.reporter, showShare);
      setResult(r);
      setPhase('done');
    } catch (e) {
      setError(toViewError(e));
      setPhase('error');
    }
  };

  useKeys((input, key) => {
    if (showing && key.return) {
      if (!showing.revealed) setShowing({ ...showing, revealed: true });
      else {
        const done = showing.done;
        setShowing(undefined);
        done();
      }
      return;
    }
    if (phase === 'plan' && key.return && form.custody) {
      // Under custody nobody types a passphrase: only the CA name is typed to confirm.
      setPhase('confirm');
    } else if (phase === 'plan' && key.return) {
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
    } else if ((phase === 'plan' || phase === 'keyType' || phase === 'custody' || phase === 'show') && (key.escape || (phase === 'plan' && input === 'q'))) back();
    else if (phase === 'done' && (key.return || key.escape || input === 'q')) onExit();
  }, { hold: phase === 'planning' || (phase === 'running' && !showing) });

  return (
    <StepFrame title="Root ceremony" env={env} error={phase === 'error' ? error : undefined} onBack={onExit}>
      {phase === 'cn' && (
        <Question label="Root CA name (CN)" defaultValue={form.commonName} hint="Esc: back to the steps" onEscape={back} onSubmit={(v) => { setForm({ ...form, commonName: v }); setPhase(next('cn')); }} />
      )}
      {phase === 'outDir' && (
        <Question label="Directory for root-ca.key and root-ca.pem" defaultValue={form.outDir} hint="Keep it on this offline machine. It is created with mode 0700 if missing. Esc: back" onEscape={back} onSubmit={(v) => { setForm({ ...form, outDir: v }); setPhase(next('outDir')); }} />
      )}
      {phase === 'keyType' && (
        <Box flexDirection="column">
          <Text bold>Key type:</Text>
          <Menu
            options={[
              { label: 'EC P-384 (recommended)', value: 'ec-p384' },
              { label: 'EC P-256', value: 'ec-p256' },
              { label: 'RSA 4096', value: 'rsa-4096' },
              { label: 'RSA 3072', value: 'rsa-3072' },
            ]}
            onChoose={(v) => { setForm({ ...form, keyType: v as KeyType }); setPhase(next('keyType')); }}
          />
        </Box>
      )}
      {phase === 'ttl' && (
        <Question label="Validity" defaultValue={form.ttl} onEscape={back} hint="e.g. 10y, 3650d" error={hint} onSubmit={(v) => { if (!/^\d+[smhdwy]?$|^(\d+[smhdwy])+$/.test(v)) { setHint(`"${v}" is not a duration`); return; } setHint(undefined); setForm({ ...form, ttl: v }); setPhase(next('ttl')); }} />
      )}
      {phase === 'pathLen' && (
        <Question label="Path length (CA levels allowed below the root; empty = unlimited)" defaultValue={form.pathLen} onEscape={back} error={hint} onSubmit={(v) => { if (v !== '' && !/^\d$/.test(v)) { setHint('Type a number from 0 to 9, or leave it empty'); return; } setHint(undefined); setForm({ ...form, pathLen: v }); setPhase(next('pathLen')); }} />
      )}
      {phase === 'custody' && (
        <Box flexDirection="column">
          <Text bold>Who opens the root key:</Text>
          <Menu
            options={[
              { label: 'One passphrase (typed twice)', value: 'passphrase' },
              { label: 'Custodians: M of N open it (random passphrase, one share each)', value: 'custody' },
            ]}
            onChoose={(v) => {
              if (v === 'custody') setCustody({}, 'custody');
              else {
                setForm({ ...form, custody: undefined });
                setPhase(next('custody', undefined));
              }
            }}
          />
        </Box>
      )}
      {phase === 'custodians' && (
        <Question onEscape={back} label="Number of custodians (one share each)" defaultValue={custodyDefaults.custodians} error={hint} onSubmit={(v) => { const bad = controller.validateCustody({ ...custodyDefaults, custodians: v, threshold: '2' }); if (bad) { setHint(bad); return; } setHint(undefined); setCustody({ custodians: v }, 'custodians'); }} />
      )}
      {phase === 'threshold' && (
        <Question onEscape={back} label="How many custodians together open the root" defaultValue={custodyDefaults.threshold} error={hint} onSubmit={(v) => { const bad = controller.validateCustody({ ...form.custody!, threshold: v, names: '' }); if (bad) { setHint(bad); return; } setHint(undefined); setCustody({ threshold: v }, 'threshold'); }} />
      )}
      {phase === 'names' && (
        <Question onEscape={back} label="Custodian names, comma-separated (empty: custodian-1, custodian-2, ...)" defaultValue={custodyDefaults.names || undefined} error={hint} onSubmit={(v) => { const bad = controller.validateCustody({ ...form.custody!, names: v }); if (bad) { setHint(bad); return; } setHint(undefined); setCustody({ names: v }, 'names'); }} />
      )}
      {phase === 'sharesOut' && (
        <Question onEscape={back} label="Directory for the share files (not the root's)" defaultValue={custodyDefaults.sharesOut} hint="One NAME.share (0600) per custodian: hand each out and delete them here." onSubmit={(v) => setCustody({ sharesOut: v }, 'sharesOut')} />
      )}
      {phase === 'show' && (
        <Box flexDirection="column">
          <Text bold>Show each share once, on its own screen, for a paper copy?</Text>
          <Menu
            options={[
              { label: 'No: the share files only', value: 'no' },
              { label: 'Yes: each custodian in turn, alone at the screen', value: 'yes' },
            ]}
            onChoose={(v) => setCustody({ show: v === 'yes' }, 'show')}
          />
        </Box>
      )}
      {phase === 'planning' && <TaskView activity="Checking the directory" lines={[]} running />}
      {plan && phase === 'plan' && <PlanView title="offline root" plan={plan} columns={columns} height={rows - 3} />}
      {phase === 'plan' && <Text dimColor>Enter: continue · Esc: back</Text>}
      {phase === 'pass1' && (
        <Question onEscape={back} label="New passphrase for the root key" secret error={hint} hint="At least 12 characters. It is never stored or shown." onSubmit={(v) => { if (v.length < 12) { setHint('The passphrase needs at least 12 characters'); return; } setHint(undefined); setPassphrase(v); setPhase('pass2'); }} />
      )}
      {phase === 'pass2' && (
        <Question onEscape={back} label="Type the passphrase again" secret error={hint} onSubmit={(v) => { if (v !== passphrase) { setHint('The two passphrases differ; type the first one again'); setPassphrase(''); setPhase('pass1'); return; } setHint(undefined); setPhase('confirm'); }} />
      )}
      {phase === 'confirm' && (
        <Question key={attempt} onEscape={back} label={`Type the CA name "${form.commonName}" to create the root`} error={hint} onSubmit={(v) => { if (v !== form.commonName) { setHint('That is not the CA name; nothing was created'); setAttempt((a) => a + 1); return; } setHint(undefined); if (form.custody) { void run(undefined); return; } const buf = Buffer.from(passphrase, 'utf8'); setPassphrase(''); void run(buf); }} />
      )}
      {showing && !showing.revealed && (
        <Text bold>
          Custodian "{showing.share.custodian}" (share {showing.share.index} of {showing.share.custodians}): everyone else look away, then press Enter to show the share.
        </Text>
      )}
      {showing?.revealed && (
        <Box flexDirection="column">
          <Text bold>
            Share {showing.share.index} of {showing.share.custodians} for {showing.share.custodian} (any {showing.share.threshold} open the root). Write every group down; the last character of each is its check:
          </Text>
          <Text>{showing.share.groups}</Text>
          <Text dimColor>Written down? Enter: clear it from the screen</Text>
        </Box>
      )}
      {!showing && (phase === 'running' || phase === 'done') && <TaskView activity={task.activity} lines={task.lines} running={phase === 'running'} columns={columns} height={phase === 'done' ? Math.max(3, rows - 10 - (result?.shares?.length ?? 0)) : rows - 3} />}
      {phase === 'done' && result && (
        <Box flexDirection="column">
          <Text color={colour('green')}>Root CA created: {result.certFile}</Text>
          <Text>SHA-256 fingerprint:</Text>
          <Text>{result.fingerprint}</Text>
          <Text>Valid until {result.notAfter}</Text>
          {result.shares && (
            <Box flexDirection="column">
              <Text>
                Any {result.threshold} of {result.shares.length} custodians open the root. Hand each their share and delete it here:
              </Text>
              {result.shares.map((s) => (
                <Text key={s.index}>
                  {'  '}share {s.index} ({s.custodian}): {s.file}
                </Text>
              ))}
            </Box>
          )}
          <Text dimColor>Enter: back to the steps</Text>
        </Box>
      )}
    </StepFrame>
  );
}

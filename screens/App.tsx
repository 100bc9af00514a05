import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, useApp } from 'ink';
import { StepList } from './components/StepList.js';
import { ErrorView, toViewError } from './components/ErrorView.js';
import { Menu } from './components/Menu.js';
import { RootCeremonyScreen } from './RootCeremonyScreen.js';
import { IntermediateScreen } from './IntermediateScreen.js';
import { CaTreeScreen } from './CaTreeScreen.js';
import { AgentRolloutScreen } from './AgentRolloutScreen.js';
import { Question } from './components/Question.js';
import { VaultHttpsScreen } from './VaultHttpsScreen.js';
import { VaultInitScreen } from './VaultInitScreen.js';
import { SwitchUrlsScreen } from './SwitchUrlsScreen.js';
import { DriftScreen } from './DriftScreen.js';
import { KeyboardProvider } from './keys/KeyboardProvider.js';
import { useKeys } from './keys/useKeys.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { colour } from './theme.js';
import type { WizardController, PipelineStep } from '../source/wizard/controller.js';
import { envChoices, FIRST_WORDS } from '../source/wizard/first-frame.js';

type DriftStep = PipelineStep & { drift: NonNullable<PipelineStep['drift']> };
type View = { name: 'drift'; step: DriftStep } | { name: 'choose-env' } | { name: 'new-env' } | { name: 'overview' } | { name: 'root-create' } | { name: 'intermediate' } | { name: 'vault-https' } | { name: 'vault-init' } | { name: 'switch-urls' } | { name: 'ca-tree' } | { name: 'agents' } | { name: 'error'; error: { message: string; fix?: string } };

export interface AppProps {
  controller: WizardController;
  env?: string | undefined;
  /** Starts the rehearsal lab; offered when no environment exists. */
  onStartLab?: (() => void) | undefined;
  /** Ctrl-C: the wizard ends at once and the command exits 130 (the screen only reports it). */
  onInterrupt?: (() => void) | undefined;
}

/** The wizard: the pipeline's steps with their status, resuming where the state left off. */
export function App(props: AppProps) {
  const { exit } = useApp();
  return (
    <KeyboardProvider
      onInterrupt={() => {
        props.onInterrupt?.();
        exit();
      }}
    >
      <Wizard {...props} />
    </KeyboardProvider>
  );
}

function Wizard({ controller, env: initialEnv, onStartLab }: AppProps) {
  const { exit } = useApp();
  const { columns } = useTerminalSize();
  const [env, setEnv] = useState<string | undefined>(initialEnv);
  const [view, setView] = useState<View>(initialEnv ? { name: 'overview' } : { name: 'choose-env' });
  const [steps, setSteps] = useState<PipelineStep[]>();
  const [selected, setSelected] = useState(0);
  const [envChoice, setEnvChoice] = useState(0);
  const [hint, setHint] = useState<string>();
  /** The first overview lands on the first open step; coming back from a step keeps the selection. */
  const placed = useRef(false);
  const envs = controller.listEnvs();

  useEffect(() => {
    if (view.name !== 'overview' || !env) return;
    setSteps(undefined);
    controller
      .overview(env)
      .then((s) => {
        setSteps(s);
        if (!placed.current) {
          placed.current = true;
          const firstOpen = s.findIndex((x) => x.state !== 'done' && x.state !== 'unavailable');
          setSelected(firstOpen >= 0 ? firstOpen : 0);
        } else setSelected((i) => Math.min(i, s.length - 1));
      })
      .catch((e) => setView({ name: 'error', error: toViewError(e) }));
  }, [view.name, env]);

  const open = (step: PipelineStep | undefined) => {
    setHint(undefined);
    if (step?.state === 'drift' && step.drift) setView({ name: 'drift', step: step as DriftStep });
    else if (step?.id === 'root-create') {
      if (step.state === 'done') setHint('The root exists; certwright never replaces it. Choose the next step.');
      else setView({ name: 'root-create' });
    } else if (step?.id === 'intermediate') {
      if (steps?.[0]?.state !== 'done' && !controller.defaults.rootDir) setHint('Create the offline root first (or start the wizard with --root-dir).');
      else setView({ name: 'intermediate' });
    } else if (step?.id === 'agents') {
      if (steps?.find((s) => s.id === 'intermediate')?.state !== 'done') setHint('Install the intermediate first: agents issue from it.');
      else setView({ name: 'agents' });
    } else if (step?.id === 'ca-tree') setView({ name: 'ca-tree' });
    else if ((step?.id === 'vault-https' || step?.id === 'vault-init' || step?.id === 'switch-urls') && step.state !== 'unavailable') {
      setView({ name: step.id } as View);
    } else if (step?.state === 'unavailable') setHint(step.detail);
    else setHint('This step is not in this version of the wizard yet.');
  };

  // While the overview re-verifies, keys wait (typed-ahead ↓ Enter still counts), except q: quitting
  // works at once. The list is cleared when a step is left, so no key acts on the list from before.
  useKeys(
    (input, key) => {
      if (input === 'q') exit();
      else if (!steps) return;
      else if (key.escape) setHint('This is the step list. q quits; Ctrl-C interrupts.');
      else if (key.upArrow || input === 'k') setSelected((s) => Math.max(0, s - 1));
      else if (key.downArrow || input === 'j') setSelected((s) => Math.min(steps.length - 1, s + 1));
      else if (key.return) open(steps[selected]);
    },
    { active: view.name === 'overview', hold: view.name === 'overview' && !steps, urgent: (input) => input === 'q' },
  );

  const back = () => {
    setHint(undefined);
    // Cleared with the view, not after it: a key must never act on the list from before the step.
    setSteps(undefined);
    setView({ name: 'overview' });
  };

  const title = (
    <Text bold color={colour('cyan')}>
      certwright{env ? ` · ${env}` : ''}
    </Text>
  );

  if (view.name === 'choose-env') {
    const options = envChoices(envs, Boolean(onStartLab));
    return (
      <Box flexDirection="column">
        {title}
        <Text>{envs.length === 0 ? FIRST_WORDS.noEnv : FIRST_WORDS.chooseEnv}</Text>
        <Menu
          options={options}
          initial={envChoice}
          onMove={setEnvChoice}
          onChoose={(v) => {
            if (v === 'quit') exit();
            else if (v === 'lab') onStartLab?.();
            else if (v === 'new') setView({ name: 'new-env' });
            else {
              setEnv(v.slice(4));
              setView({ name: 'overview' });
            }
          }}
        />
        <Text dimColor>{FIRST_WORDS.chooseFooter}</Text>
      </Box>
    );
  }
  if (view.name === 'new-env') {
    return (
      <Box flexDirection="column">
        {title}
        <Question
          label="Environment name"
          hint="Letters, digits, - and _, e.g. test or prod. Esc: back"
          error={hint}
          onEscape={() => {
            setHint(undefined);
            setView({ name: 'choose-env' });
          }}
          onSubmit={(v) => {
            const bad = controller.validateEnv(v);
            if (bad) {
              setHint(bad);
              return;
            }
            setHint(undefined);
            setEnv(v);
            setView({ name: 'overview' });
          }}
        />
      </Box>
    );
  }
  if (view.name === 'error') return <Box flexDirection="column">{title}<ErrorView error={view.error} backLabel="quit" onBack={() => exit()} /></Box>;
  if (view.name === 'drift' && env) return <DriftScreen controller={controller} env={env} step={view.step} onExit={back} onRedo={(id) => setView({ name: id } as View)} />;
  if (view.name === 'root-create' && env) return <RootCeremonyScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'intermediate' && env) return <IntermediateScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'ca-tree' && env) return <CaTreeScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'vault-https' && env) return <VaultHttpsScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'vault-init' && env) return <VaultInitScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'switch-urls' && env) return <SwitchUrlsScreen controller={controller} env={env} onExit={back} />;
  if (view.name === 'agents' && env) return <AgentRolloutScreen agents={controller.agents} env={env} onExit={back} />;
  return (
    <Box flexDirection="column">
      {title}
      {steps ? <StepList steps={steps} selected={selected} columns={columns} /> : <Text>{FIRST_WORDS.reverifying}</Text>}
      {hint ? <Text color={colour('yellow')}>{hint}</Text> : null}
      <Text dimColor>{FIRST_WORDS.overviewFooter}</Text>
    </Box>
  );
}

import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Question } from './components/Question.js';
import { planLines } from './components/PlanView.js';
import { TaskView } from './components/TaskView.js';
import { Pager } from './components/Pager.js';
import { Menu } from './components/Menu.js';
import { ErrorView, toViewError } from './components/ErrorView.js';
import { useTask } from './hooks/useTask.js';
import { useLoadWhen } from './hooks/useLoadWhen.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { useKeys } from './keys/useKeys.js';
import { wrapCommand, wrapText, type Line } from '../source/text-wrap.js';
import { colour, SYMBOL } from './theme.js';
import { AGENT_FIELDS as FIELDS, AGENT_LABELS as LABELS, AGENT_HINTS as HINTS, type AgentRolloutController, type AgentForm, type PlannedAgent, type AppliedAgent } from '../source/wizard/agent-rollout.js';

type Phase = 'menu' | 'ask' | 'planning' | 'plan' | 'running' | 'done' | 'error';
/**
 * Agent rollout: choose apps and proxies, see the plan for each, apply, see each agent's result
 * (with the commands that install its systemd user unit).
 */
export function AgentRolloutScreen({ agents, env, onExit }: { agents: AgentRolloutController; env: string; onExit: () => void }) {
  const [phase, setPhase] = useState<Phase>('menu');
  const [queue, setQueue] = useState<AgentForm[]>([]);
  const [form, setForm] = useState<AgentForm>();
  const [field, setField] = useState(0);
  const [hint, setHint] = useState<string>();
  const [planned, setPlanned] = useState<PlannedAgent[]>([]);
  const [applied, setApplied] = useState<AppliedAgent[]>([]);
  const [error, setError] = useState<{ message: string; fix?: string }>();
  const [choice, setChoice] = useState(0);
  const { columns, rows } = useTerminalSize();
  const task = useTask();
  const existing = agents.list(env);

  useLoadWhen(
    phase === 'planning',
    () => {
      task.setActivity('Reading Vault and the agent directories');
      return agents.plan(env, queue);
    },
    (p) => {
      setPlanned(p);
      setPhase('plan');
    },
    (e) => {
      setError(toViewError(e));
      setPhase('error');
    },
  );

  const applyAll = async () => {
    setPhase('running');
    try {
      setApplied(await agents.apply(env, planned.filter((p) => p.plan).map((p) => p.form), task.reporter));
      setQueue([]);
      setPhase('done');
    } catch (e) {
      setError(toViewError(e));
      setPhase('error');
    }
  };

  useKeys(
    (input, key) => {
      if (phase === 'plan') {
        if (key.return && planned.some((p) => p.plan)) void applyAll();
        else if (key.escape || input === 'q') setPhase('menu');
      } else if (phase === 'done' && (key.return || key.escape || input === 'q')) {
        setApplied([]);
        setPhase('menu');
      }
    },
    { hold: phase === 'planning' || phase === 'running' },
  );

  /** Esc on a question: the one before it, or (on the first) back to the menu. */
  const back = () => {
    setHint(undefined);
    if (field > 0) setField(field - 1);
    else {
      setForm(undefined);
      setPhase('menu');
    }
  };

  const header = (
    <Text bold color={colour('cyan')}>
      Agent rollout · environment {env}
    </Text>
  );
  if (phase === 'error' && error) {
    return (
      <Box flexDirection="column">
        {header}
        <ErrorView error={error} onBack={() => setPhase('menu')} />
      </Box>
    );
  }

  const answer = (value: string) => {
    if (!form) return;
    const f = FIELDS[form.kind][field]!;
    let next: AgentForm = { ...form, [f]: value };
    const bad = agents.checkAnswer(form, f, value);
    if (bad) {
      setHint(bad);
      return;
    }
    if (f === 'name') next = agents.withNameDefaults(env, next);
    setHint(undefined);
    if (field + 1 < FIELDS[form.kind].length) {
      setForm(next);
      setField(field + 1);
    } else {
      setQueue([...queue, next]);
      setForm(undefined);
      setPhase('menu');
    }
  };

  const body = rows - 3;
  const planned_ = planned.flatMap((p): Line[] =>
    p.plan
      ? [...planLines(`agent for ${p.form.kind} ${p.form.name}`, p.plan, columns), { text: '' }]
      : wrapText(`${SYMBOL.error} ${p.form.kind} ${p.form.name}: ${p.error?.message ?? ''}${p.error?.fix ? ` Fix: ${p.error.fix}` : ''}`, columns, '', '  ').map((text) => ({ text, colour: 'red' as const })),
  );
  const results: Line[] = applied.flatMap((a): Line[] =>
    a.result
      ? [
          ...wrapText(`${SYMBOL.done} ${a.form.kind} ${a.form.name}: ${a.result.changed.length ? 'written' : 'already up to date'} in ${a.result.outDir} (secret_id ${a.result.secretId})`, columns, '', '  ').map((text) => ({ text, colour: 'green' as const })),
          { text: 'Install its systemd user unit (each command whole; copy it as shown):' },
          ...wrapCommand(a.result.installScript, columns, '  ').map((text) => ({ text })),
          ...a.result.installCommands.flatMap((c) => wrapCommand(c, columns, '    ').map((text) => ({ text, dim: true }))),
        ]
      : wrapText(`${SYMBOL.error} ${a.form.kind} ${a.form.name}: ${a.error?.message ?? ''}`, columns, '', '  ').map((text) => ({ text, colour: 'red' as const })),
  );
  const fields = form ? FIELDS[form.kind] : [];
  return (
    <Box flexDirection="column">
      {header}
      {phase === 'menu' && (
        <Box flexDirection="column">
          <Text bold>Agents set up</Text>
          {existing.length === 0 ? <Text dimColor>  none yet</Text> : existing.map((a) => <Text key={`${a.kind}-${a.name}`}>  {SYMBOL.done} {a.kind} {a.name} · {a.detail} · {a.unit}</Text>)}
          {queue.length > 0 && <Text bold>Chosen for this rollout</Text>}
          {queue.map((q) => (
            <Text key={`${q.kind}-${q.name}`}>  {SYMBOL.todo} {q.kind} {q.name}{q.kind === 'app' ? ` · ${[q.commonName, q.altNames].filter(Boolean).join(', ')}` : ` · ${q.caOut}`}</Text>
          ))}
          <Menu
            options={[
              { label: 'Add an app (rotating leaf certificate)', value: 'app' },
              { label: 'Add a proxy (CA chain only)', value: 'proxy' },
              ...(queue.length ? [{ label: `See the plan for ${queue.length} agent(s), then apply`, value: 'plan' }] : []),
              { label: 'Back to the steps', value: 'back' },
            ]}
            initial={choice}
            onMove={setChoice}
            onChoose={(v, i) => {
              setChoice(i);
              if (v === 'back') onExit();
              else if (v === 'plan') setPhase('planning');
              else {
                setForm(agents.defaults(env, v as AgentForm['kind']));
                setField(0);
                setPhase('ask');
              }
            }}
          />
        </Box>
      )}
      {phase === 'ask' && form && (
        <Box flexDirection="column">
          <Text dimColor>
            New {form.kind} agent · question {field + 1} of {fields.length} · Esc: {field > 0 ? 'previous question' : 'cancel'}
          </Text>
          <Question key={`${form.kind}-${field}`} label={LABELS[fields[field]!]} defaultValue={(form[fields[field]!] as string) || undefined} hint={HINTS[fields[field]!]} error={hint} onEscape={back} onSubmit={answer} />
        </Box>
      )}
      {phase === 'planning' && <TaskView activity={task.activity} lines={[]} running />}
      {phase === 'plan' && (
        <Box flexDirection="column">
          <Pager lines={planned_} height={body} />
          <Text dimColor>{planned.some((p) => p.plan) ? 'Enter: apply the agents with a plan · Esc: back' : 'Esc: back'}</Text>
        </Box>
      )}
      {phase === 'running' && <TaskView activity={task.activity} lines={task.lines} running columns={columns} height={body} />}
      {phase === 'done' && (
        <Box flexDirection="column">
          <TaskView lines={task.lines} running={false} columns={columns} height={body} after={results} />
          <Text dimColor>Enter: back to the agents</Text>
        </Box>
      )}
    </Box>
  );
}

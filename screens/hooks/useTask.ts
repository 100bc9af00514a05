import { useCallback, useState } from 'react';
import type { Reporter } from '../../source/steps/context.js';

export interface TaskLine {
  kind: 'done' | 'info' | 'warn';
  text: string;
}

/** Runs a step's apply with a reporter that feeds the screen: current activity + finished lines. */
export function useTask() {
  const [activity, setActivity] = useState<string | undefined>();
  const [lines, setLines] = useState<TaskLine[]>([]);
  const reporter: Reporter = {
    progress: (m) => setActivity(m),
    done: (m) => setLines((l) => [...l, { kind: 'done', text: m }]),
    info: (m) => setLines((l) => [...l, { kind: 'info', text: m }]),
    warn: (m) => setLines((l) => [...l, { kind: 'warn', text: m }]),
  };
  const reset = useCallback(() => {
    setActivity(undefined);
    setLines([]);
  }, []);
  return { activity, setActivity, lines, reporter, reset };
}

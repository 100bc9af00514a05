import { useCallback, useEffect, useRef, useState } from 'react';
import { nextDelayMs, refreshFailed } from '../../source/status/backoff.js';
import type { StatusSnapshot } from '../../source/status/types.js';

export type LoadSnapshot = (signal: AbortSignal, force: boolean) => Promise<StatusSnapshot>;

export interface PollState {
  snapshot?: StatusSnapshot | undefined;
  error?: string | undefined;
  refreshing: boolean;
  /** When the next refresh starts (ms since epoch). */
  nextAt?: number | undefined;
  failures: number;
  refresh(): void;
}

/**
 * Polls `load` one refresh at a time: the next one is scheduled when the last has finished, at
 * the base interval, doubling while Vault is unreachable or the refresh fails (see backoff.ts).
 * Unmounting aborts the refresh in flight through its AbortSignal. Errors are shown, not swallowed.
 */
export function useSnapshotPoll(load: LoadSnapshot, intervalMs: number): PollState {
  const [snapshot, setSnapshot] = useState<StatusSnapshot>();
  const [error, setError] = useState<string>();
  const [refreshing, setRefreshing] = useState(true);
  const [nextAt, setNextAt] = useState<number>();
  const [failures, setFailures] = useState(0);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  const controller = useRef<AbortController | undefined>(undefined);
  const failuresRef = useRef(0);
  const running = useRef(false);
  const mounted = useRef(true);

  const run = useCallback(
    (force: boolean) => {
      if (running.current || !mounted.current) return;
      if (timer.current) clearTimeout(timer.current);
      running.current = true;
      setRefreshing(true);
      const c = new AbortController();
      controller.current = c;
      load(c.signal, force)
        .then((s) => {
          if (c.signal.aborted) return;
          setSnapshot(s);
          setError(undefined);
          failuresRef.current = refreshFailed(s) ? failuresRef.current + 1 : 0;
        })
        .catch((e: Error) => {
          if (c.signal.aborted) return;
          setError(e.message);
          failuresRef.current += 1;
        })
        .finally(() => {
          running.current = false;
          if (c.signal.aborted || !mounted.current) return;
          setRefreshing(false);
          setFailures(failuresRef.current);
          const delay = nextDelayMs(intervalMs, failuresRef.current);
          setNextAt(Date.now() + delay);
          timer.current = setTimeout(() => run(false), delay);
        });
    },
    [load, intervalMs],
  );

  useEffect(() => {
    mounted.current = true;
    run(false);
    return () => {
      mounted.current = false;
      if (timer.current) clearTimeout(timer.current);
      controller.current?.abort();
    };
  }, [run]);

  return { snapshot, error, refreshing, nextAt, failures, refresh: () => run(true) };
}

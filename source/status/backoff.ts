/**
 * Refresh pacing for the live screen and `status --watch`: the base interval while things are
 * healthy, doubling after each refresh in which Vault could not be reached (or the refresh
 * itself failed), up to a ceiling — so a Vault that is down is asked less and less often,
 * never hammered. One refresh at a time: the next is scheduled only when the last finished.
 */
export const MIN_INTERVAL_S = 2;
export const MAX_BACKOFF_MS = 5 * 60_000;

export function nextDelayMs(baseMs: number, consecutiveFailures: number, ceilingMs = MAX_BACKOFF_MS): number {
  if (consecutiveFailures <= 0) return baseMs;
  return Math.min(ceilingMs, baseMs * 2 ** Math.min(consecutiveFailures, 16));
}

/** A refresh counts as failed when Vault was unreachable; sealed is an answer, not a reason to back off less. */
export function refreshFailed(snapshot: { sections: { vault: { reachable: boolean | null; sealed: boolean | null } } } | undefined): boolean {
  if (!snapshot) return true;
  const v = snapshot.sections.vault;
  return v.reachable === false || v.sealed === true;
}

/** Sleeps for ms or until the signal aborts; resolves false when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

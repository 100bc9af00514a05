import { useEffect } from 'react';

/**
 * Runs `load` each time `active` becomes true (a screen entering its "planning" phase) and hands
 * the result, or the error, back to the screen. The screens' plans all load this way.
 */
export function useLoadWhen<T>(active: boolean, load: () => Promise<T>, onLoaded: (value: T) => void, onFailed: (error: unknown) => void): void {
  useEffect(() => {
    if (!active) return;
    load().then(onLoaded, onFailed);
  }, [active]);
}

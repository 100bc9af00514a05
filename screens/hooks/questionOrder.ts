/**
 * The questions of a step screen in order, skipping those a flag answered: the next one after a
 * question (or `end` when none is left), and the one before it (or undefined: Esc leaves the step).
 */
export function questionOrder<P extends string>(order: P[], answered: Partial<Record<P, boolean>>) {
  const open = order.filter((p) => !answered[p]);
  return {
    first: (end: P): P => open[0] ?? end,
    next: (after: P, end: P): P => open[open.indexOf(after) + 1] ?? end,
    /** The question before `phase`; for a phase after the questions (the plan), the last one. */
    previous: (phase: P): P | undefined => {
      const i = open.indexOf(phase);
      return i === -1 ? open[open.length - 1] : open[i - 1];
    },
  };
}

import { formatHead, transcriptHead, transcriptLines, witnessHeadLine } from '../../state/transcript.js';

/** Transcript actions of the offline side (a ceremony); the rest are written by online steps. */
export const OFFLINE_ACTIONS = new Set(['root-create', 'intermediate-sign', 'root-crl', 'cross-sign-sign']);

/**
 * The line that closes a ceremony: the transcript's head, when entries were added since `before`
 * (the count before the run) and one of them is a ceremony action (the root opened). Used by the
 * step commands, `apply --file` and the wizard alike.
 */
export function ceremonyHeadLine(file: string, before: number): string | undefined {
  return closedCeremony(file, before) ? witnessHeadLine(file) : undefined;
}

/** The same for a narrow screen (the wizard's task lines): a title, then the head in two halves. */
export function ceremonyHeadLines(file: string, before: number): string[] {
  const head = closedCeremony(file, before) ? transcriptHead(file) : undefined;
  if (!head) return [];
  const groups = formatHead(head.head).split(' ');
  return [`Transcript head (entry ${head.entries}), for the witnesses to write down:`, `  ${groups.slice(0, 8).join(' ')}`, `  ${groups.slice(8).join(' ')}`];
}

function closedCeremony(file: string, before: number): boolean {
  const added = transcriptLines(file).slice(before);
  const ceremony = added.some((line) => {
    try {
      return OFFLINE_ACTIONS.has(String((JSON.parse(line) as { action?: unknown }).action));
    } catch {
      return false;
    }
  });
  return ceremony;
}

export function transcriptLength(file: string): number {
  return transcriptLines(file).length;
}

/** Colours only when the terminal wants them; every state also has a symbol, so NO_COLOR reads fine. */
export function colour(name: 'green' | 'red' | 'yellow' | 'cyan' | 'gray'): string | undefined {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return undefined;
  return name;
}

export const SYMBOL = { done: '✓', pending: '»', todo: '○', drift: '!', unavailable: '-', error: '✗', pointer: '▸' } as const;

/**
 * The frame-width check: what an operator at an 80x24 terminal would lose. A line wider than the
 * terminal is cut (or wrapped by the terminal, breaking the layout), and `…` is how Ink says it
 * cut text. Both are refused on every screen; the check reads the frame as the terminal shows it.
 */
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]|\u001B\][^\u0007]*\u0007/g;

export function visibleLines(frame: string): string[] {
  return frame.replace(ANSI, '').split('\n');
}

export function frameProblems(frame: string, columns = 80, rows?: number): string[] {
  const lines = visibleLines(frame);
  const problems: string[] = [];
  lines.forEach((line, i) => {
    const width = [...line.trimEnd()].length;
    if (width > columns) problems.push(`line ${i + 1} is ${width} columns wide (> ${columns}): ${line}`);
    if (line.includes('…')) problems.push(`line ${i + 1} has "…" (text cut): ${line}`);
  });
  if (rows !== undefined && lines.length > rows) problems.push(`the frame has ${lines.length} lines (> ${rows} rows)`);
  return problems;
}

export function assertFits(frame: string, columns = 80, rows?: number): void {
  const problems = frameProblems(frame, columns, rows);
  if (problems.length) throw new Error(`the screen does not fit ${columns} columns:\n${problems.join('\n')}\n--- frame ---\n${frame}`);
}

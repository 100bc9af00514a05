import fs from 'node:fs';
import path from 'node:path';
import { envsDir, type HomeOptions } from '../paths.js';
import { SYMBOL } from '../../screens/theme.js';

/**
 * The wizard's first screen, without React. Loading Ink, React and the screens takes most of a
 * second on a slow machine; the first screen depends only on the state directory, so it is painted
 * at once from here, and the Ink app (screens/App.tsx, which takes its words from this module)
 * paints over it the moment it is ready. Keys typed in between are not lost: the terminal is put
 * in raw mode at once, so they wait in the terminal, unechoed, and the keyboard owner reads them
 * in order (a Ctrl-C among them still interrupts).
 */

/** The environments with a state file, by name. */
export function listEnvNames(home: HomeOptions): string[] {
  try {
    const dir = envsDir(home);
    return fs.readdirSync(dir).filter((name) => fs.existsSync(path.join(dir, name, 'state.json'))).sort();
  } catch {
    return [];
  }
}

export const FIRST_WORDS = {
  noEnv: 'No environment is configured yet.',
  chooseEnv: 'Choose an environment:',
  chooseFooter: '↑/↓ choose · Enter open · Ctrl-C quit',
  reverifying: 'Re-verifying the completed steps',
  overviewFooter: '↑/↓ choose · Enter open · q quit',
} as const;

export interface EnvChoice {
  label: string;
  value: string;
}

/** The choices of the first screen when no --env is given: each environment, the lab, new, quit. */
export function envChoices(envs: string[], lab: boolean): EnvChoice[] {
  return [
    ...envs.map((e) => ({ label: `Environment ${e}`, value: `env:${e}` })),
    ...(lab ? [{ label: 'Start the rehearsal lab (throwaway OpenBao on 127.0.0.1)', value: 'lab' }] : []),
    { label: 'New environment', value: 'new' },
    { label: 'Quit', value: 'quit' },
  ];
}

type Style = 'title' | 'bold' | 'dim' | 'plain';

/** The lines of the first screen, as the Ink app draws them (test/first-frame.test.tsx compares). */
export function firstFrameLines(env: string | undefined, envs: string[], lab: boolean): Array<[Style, string]> {
  const title: [Style, string] = ['title', `certwright${env ? ` · ${env}` : ''}`];
  if (env) return [title, ['plain', FIRST_WORDS.reverifying], ['dim', FIRST_WORDS.overviewFooter]];
  return [
    title,
    ['plain', envs.length === 0 ? FIRST_WORDS.noEnv : FIRST_WORDS.chooseEnv],
    ...envChoices(envs, lab).map((c, i): [Style, string] => (i === 0 ? ['bold', `${SYMBOL.pointer} ${c.label}`] : ['plain', `  ${c.label}`])),
    ['dim', FIRST_WORDS.chooseFooter],
  ];
}

export interface FirstFrame {
  /** Clears the painted lines, just before the Ink app draws the same screen in their place. */
  handOver(): void;
}

/**
 * Paints the first screen on a terminal and keeps typed keys for the app. The terminal's raw mode
 * is undone by Node when the process ends, whatever way it ends.
 */
export function paintFirstFrame(env: string | undefined, home: HomeOptions, lab: boolean): FirstFrame {
  const out = process.stdout;
  const columns = out.columns > 0 ? out.columns : 80;
  const color = !(process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '');
  const styled = (style: Style, text: string): string => {
    if (style === 'title') return color ? `\x1b[1m\x1b[36m${text}\x1b[39m\x1b[22m` : `\x1b[1m${text}\x1b[22m`;
    if (style === 'bold') return `\x1b[1m${text}\x1b[22m`;
    if (style === 'dim') return `\x1b[2m${text}\x1b[22m`;
    return text;
  };
  const lines = firstFrameLines(env, listEnvNames(home), lab);
  // A line wider than the terminal takes more than one row; the hand-over climbs them all.
  const rows = lines.reduce((n, [, text]) => n + Math.max(1, Math.ceil([...text].length / columns)), 0);
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  out.write(`${lines.map(([style, text]) => styled(style, text)).join('\n')}\n`);
  let done = false;
  return {
    handOver() {
      if (done) return;
      done = true;
      // To the first painted row, then erase to the end of the screen.
      out.write(`\x1b[${rows}F\x1b[J`);
    },
  };
}

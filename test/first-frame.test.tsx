import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { describe, expect, it } from 'vitest';
import { App } from '../screens/App.js';
import { WizardController } from '../source/wizard/controller.js';
import { firstFrameLines } from '../source/wizard/first-frame.js';
import { BIN, ROOT, tempDir } from './helpers/env.js';
import { driveInk } from './helpers/ink.js';
import { visibleLines } from './helpers/frame.js';

/**
 * The wizard paints its first screen from the state before React and Ink load, and the Ink app
 * paints the same screen over it (source/wizard/first-frame.ts). These tests hold the two to the
 * same words, and watch the real binary in a pseudo-terminal: the early paint comes before React is
 * even resolved, keys typed at once are all processed in order, and Ctrl-C still exits 130.
 */

function makeEnv(home: string, env: string): void {
  fs.mkdirSync(path.join(home, 'envs', env), { recursive: true });
  fs.writeFileSync(path.join(home, 'envs', env, 'state.json'), '{}');
}

const text = (lines: ReturnType<typeof firstFrameLines>) => lines.map(([, t]) => t);

describe('the first screen, painted before React', () => {
  it.each([
    ['no environment yet', [] as string[], undefined],
    ['two environments', ['prod', 'test'], undefined],
    ['--env given', ['prod'], 'prod'],
  ])('is the Ink app\'s first frame, word for word (%s)', async (_name, envs, env) => {
    const home = path.join(tempDir(), 'home');
    for (const e of envs) makeEnv(home, e);
    const controller = new WizardController({ stateDir: home }, {});
    const ui = driveInk(<App controller={controller} env={env} onStartLab={() => undefined} />);
    const expected = text(firstFrameLines(env, controller.listEnvs(), true));
    const first = await ui.waitFor(expected[1]!);
    expect(visibleLines(first).map((l) => l.trimEnd()).filter((l) => l !== '')).toEqual(expected);
    ui.view.unmount();
  });

  it('the real binary paints it before loading React, keeps keys typed at once, and exits 130 on Ctrl-C', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const marks = path.join(ROOT, 'test', 'helpers', 'react-mark.mjs');
    // A pseudo-terminal (util-linux script), NO_COLOR, 80 columns; ↓ ↓ typed before anything is drawn.
    const child = spawn('script', ['-qfec', `stty cols 80 rows 24; exec node --import ${JSON.stringify(marks)} ${JSON.stringify(BIN)} wizard`, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: home, CERTWRIGHT_HOME: home, NO_COLOR: '1', TERM: 'xterm-256color' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdin.write('\u001B[B\u001B[B');
    const until = async (what: RegExp) => {
      const deadline = Date.now() + 60_000;
      while (!what.test(output)) {
        if (Date.now() > deadline) throw new Error(`never saw ${String(what)}; output:\n${JSON.stringify(output)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(/\u25b8 Quit/);
      child.stdin.write('\u0003');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    const painted = output.indexOf('New environment');
    const reactResolved = output.indexOf('[react resolved]');
    const handOver = output.search(/\u001B\[6F\u001B\[J/);
    expect(painted).toBeGreaterThanOrEqual(0);
    expect(reactResolved).toBeGreaterThan(painted);
    expect(handOver).toBeGreaterThan(reactResolved);
    // The early screen shows the first choice; the ↓ ↓ typed before it existed reach the Ink app.
    expect(output.slice(0, handOver)).toContain('\u25b8 Start the rehearsal lab');
    expect(output.slice(0, handOver)).not.toContain('\u25b8 Quit');
    expect(output).toContain('Interrupted');
  });
});

import type { StatusCollector } from './collect.js';

/** The only path of `status` that loads React and Ink: the live screen in a terminal. */
export async function runStatusScreen(collector: StatusCollector, options: { intervalS: number; env?: string | undefined }): Promise<number> {
  const [{ render }, React, { StatusScreen }] = await Promise.all([import('ink'), import('react'), import('../../screens/StatusScreen.js')]);
  let last = 0;
  const load = async (signal: AbortSignal, force: boolean) => {
    const s = await collector.collect(signal, { force });
    last = s.exitCode;
    return s;
  };
  const app = render(React.createElement(StatusScreen, { load, intervalMs: options.intervalS * 1000, env: options.env }), { exitOnCtrlC: false });
  await app.waitUntilExit();
  return last;
}

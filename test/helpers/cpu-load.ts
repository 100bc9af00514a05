import { spawn } from 'node:child_process';

/**
 * CPU burners: `count` Node processes spinning `for(;;){}` so the machine is as busy as the one
 * where keys were lost. Started and stopped by their PIDs (never by name); stop() waits until each
 * has exited.
 */
export function startBurners(count = 2): { pids: number[]; stop: () => Promise<void> } {
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  const pids = children.map((c) => c.pid!).filter(Boolean);
  return {
    pids,
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              process.kill(c.pid!, 'SIGKILL');
            }),
        ),
      );
    },
  };
}

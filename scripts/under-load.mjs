// Runs test files with the machine busy: two CPU burners (node -e 'for(;;){}', started and
// stopped by PID) for the whole run, then vitest on the files given (default: the status and
// wizard screen tests). `npm run test:load` or `node scripts/under-load.mjs FILES...`; the tmux
// files among them share the tmux/port-8200 lock with other suites: `flock /tmp/cw-8200.lock npm run test:load`.
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';

const files = process.argv.slice(2);
const targets = files.length ? files : ['test/status-screen-ink.test.tsx', 'test/status-screen.test.ts', 'test/wizard.test.tsx', 'test/wizard-terminal.test.ts', 'test/screens-under-load.test.tsx'];
const burners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
const stop = () => {
  for (const b of burners) {
    try {
      process.kill(b.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};
process.on('exit', stop);
process.stderr.write(`CPU burners PIDs ${burners.map((b) => b.pid).join(', ')}; load average ${os.loadavg()[0].toFixed(1)}\n`);
const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...targets], { stdio: 'inherit' });
process.stderr.write(`load average at the end ${os.loadavg()[0].toFixed(1)}\n`);
stop();
process.exit(run.status ?? 1);

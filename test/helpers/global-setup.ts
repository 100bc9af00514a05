import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

/** The CLI tests run the compiled binary; make sure build/ is fresh even under plain `npx vitest`. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..', '..');
  const cli = path.join(root, 'build', 'source', 'cli.js');
  const newest = (dir: string): number => {
    let latest = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }
    return latest;
  };
  const sources = Math.max(...['source', 'screens', 'state'].map((d) => newest(path.join(root, d))));
  if (!fs.existsSync(cli) || fs.statSync(cli).mtimeMs < sources) {
    execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
  if (!fs.existsSync(path.join(root, '.tools', 'bin', 'bao'))) {
    execFileSync('bash', ['scripts/install-tools.sh'], { cwd: root, stdio: 'inherit' });
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandSpec, CommandContext } from '../command.js';
import { startDevServer } from '../system/openbao.js';
import { WizardController } from '../wizard/controller.js';
import { wizardDefaults, wizardFlags, runWizard } from '../wizard/launch.js';
import { writeFileAtomic } from '../system/files.js';

/**
 * The rehearsal lab: a throwaway OpenBao dev server on 127.0.0.1 (in memory, plain HTTP, from the
 * pinned install), a temp workspace for state and the offline root, and --env lab.
 */
export async function runLab(ctx: CommandContext): Promise<number> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'certwright-lab-'));
  fs.chmodSync(workspace, 0o700);
  const server = await startDevServer({ logFile: path.join(workspace, 'openbao.log') });
  // However this process ends (q, Ctrl-C, SIGTERM, the terminal closing), the lab server ends too:
  // 'exit' handlers run on process.exit, where the finally below would not.
  const killOnExit = () => {
    if (server.process.exitCode === null) server.process.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  const stop = async () => {
    await server.stop();
    process.removeListener('exit', killOnExit);
  };
  try {
    // The lab's token is a throwaway dev-server token; it lives in the workspace, mode 0600.
    const tokenFile = path.join(workspace, 'token');
    await writeFileAtomic(tokenFile, `${server.token}\n`, { mode: 0o600 });
    process.env.VAULT_ADDR = server.addr;
    process.env.VAULT_TOKEN = server.token;
    delete process.env.BAO_ADDR;
    delete process.env.BAO_TOKEN;
    const stateDir = ctx.flags.string('state-dir') ?? path.join(workspace, 'state');
    const home = { stateDir };
    const lines = [
      `Lab OpenBao (dev mode, in memory) at ${server.addr}, PID ${server.pid}`,
      `Workspace: ${workspace}`,
      `Other shells: export VAULT_ADDR=${server.addr} VAULT_TOKEN=$(cat ${tokenFile}) CERTWRIGHT_HOME=${stateDir}`,
    ];
    if (!ctx.tty) {
      process.stdout.write(`${lines.join('\n')}\nThe lab runs until this process gets SIGINT or SIGTERM.\n`);
      await new Promise<void>((resolve) => {
        process.removeAllListeners('SIGINT');
        process.removeAllListeners('SIGTERM');
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      return 0;
    }
    process.stderr.write(`${lines.join('\n')}\n`);
    const defaults = { ...wizardDefaults(ctx), env: 'lab', outDir: ctx.flags.string('out') ?? path.join(workspace, 'offline-root') };
    fs.mkdirSync(defaults.outDir, { recursive: true, mode: 0o700 });
    await runWizard(new WizardController(home, defaults, { addr: server.addr, workspace }), 'lab');
    process.stderr.write(`Lab stopped. Its files stay in ${workspace} until you remove them.\n`);
    return 0;
  } finally {
    await stop();
  }
}

export const command: CommandSpec = {
  name: 'lab',
  summary: 'Starts a throwaway OpenBao dev server on 127.0.0.1 and a temp workspace, and opens the wizard on --env lab. Without a terminal it just runs the lab until interrupted.',
  usage: 'lab [--state-dir DIR]',
  flags: wizardFlags,
  run: runLab,
};

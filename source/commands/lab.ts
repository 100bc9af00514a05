import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandSpec, CommandContext } from '../command.js';
import { freePortPair } from '../system/openbao.js';
import { runningPid, startedProcesses, stopBaoServer } from '../system/bao-process.js';
import { runStep } from '../steps/run.js';
import { vaultServer } from '../steps/defs/vault-server.js';
import { WizardController } from '../wizard/controller.js';
import { noQuestions } from '../wizard/context.js';
import { cliReporter } from '../output.js';
import { wizardDefaults, wizardFlags, runWizard } from '../wizard/launch.js';

/**
 * The rehearsal lab: a temp workspace, --env lab, and the environment's own Vault started the
 * way any environment's is (the vault-server step: a real OpenBao with raft storage in the
 * workspace, not dev mode), so the wizard walks the whole pipeline on it, HTTPS move included.
 */
export async function runLab(ctx: CommandContext): Promise<number> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'certwright-lab-'));
  fs.chmodSync(workspace, 0o700);
  const stateDir = ctx.flags.string('state-dir') ?? path.join(workspace, 'state');
  const home = { stateDir };
  const serverDir = path.join(workspace, 'vault');
  const pidFile = path.join(serverDir, 'vault.pid');
  // However this process ends (q, Ctrl-C, SIGTERM, the terminal closing), the lab's Vault ends
  // too. vault-https restarts it with a new PID, so the PID is read from its file at the end.
  const killOnExit = () => {
    const recorded = runningPid(pidFile);
    for (const pid of new Set([...(recorded !== undefined ? [recorded] : []), ...startedProcesses()])) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', killOnExit);
  const stop = async () => {
    for (const pid of startedProcesses()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    const pid = runningPid(pidFile);
    if (pid !== undefined) await stopBaoServer(pid);
    process.removeListener('exit', killOnExit);
  };
  try {
    const keysFile = path.join(workspace, 'vault-keys.json');
    const port = await freePortPair();
    const started = await runStep(
      vaultServer,
      { values: { env: 'lab', out: serverDir, listen: `127.0.0.1:${port}`, 'keys-out': keysFile, 'key-shares': '1', 'key-threshold': '1' }, home, report: cliReporter({ quiet: true }), interact: noQuestions, dryRun: false, tty: false, command: 'lab' },
      { plan() {}, dryRun() {} },
    );
    if (started.status !== 'applied') return 0;
    // The lab's root token is a throwaway; it lives in the workspace's keys file, mode 0600.
    process.env.VAULT_TOKEN = (JSON.parse(fs.readFileSync(keysFile, 'utf8')) as { root_token: string }).root_token;
    // The address comes from the lab's state, so that it follows the move to HTTPS.
    for (const name of ['VAULT_ADDR', 'BAO_ADDR', 'BAO_TOKEN', 'VAULT_CACERT', 'BAO_CACERT']) delete process.env[name];
    const lines = [
      `Lab OpenBao (raft storage in ${serverDir}, not dev mode) at ${started.result.addr}, PID ${started.result.pid}`,
      `Workspace: ${workspace}`,
      `Other shells: export CERTWRIGHT_HOME=${stateDir} VAULT_TOKEN=$(sed -n 's/.*"root_token": "\\(.*\\)".*/\\1/p' ${keysFile})`,
    ];
    if (!ctx.tty) {
      process.stdout.write(`${lines.join('\n')}\nThe lab runs until this process gets SIGINT or SIGTERM.\n`);
      await new Promise<void>((resolve) => {
        // The server runs detached, so nothing else keeps this process waiting for the signal.
        const keepAlive = setInterval(() => undefined, 60_000);
        const done = () => {
          clearInterval(keepAlive);
          resolve();
        };
        process.removeAllListeners('SIGINT');
        process.removeAllListeners('SIGTERM');
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      return 0;
    }
    process.stderr.write(`${lines.join('\n')}\n`);
    const defaults = { ...wizardDefaults(ctx), env: 'lab', outDir: ctx.flags.string('out') ?? path.join(workspace, 'offline-root'), keyFile: keysFile };
    await runWizard(new WizardController(home, defaults, { addr: started.result.addr, workspace }), 'lab');
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

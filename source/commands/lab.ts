import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { CommandContext } from '../command.js';
import { Flags, type FlagValues } from '../flags.js';
import { OperatorError, UsageError } from '../errors.js';
import { freePortPair, findBao } from '../system/openbao.js';
import { runningPid, startedProcesses, stopBaoServer, startAgentUntilRendered } from '../system/bao-process.js';
import { writeFileAtomic } from '../system/files.js';
import { runStep } from '../steps/run.js';
import { vaultServer } from '../steps/defs/vault-server.js';
import { vaultHttps } from '../steps/defs/vault-https.js';
import { WizardController } from '../wizard/controller.js';
import { noQuestions } from '../wizard/context.js';
import { cliReporter } from '../output.js';
import { envPaths, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { loadEstate } from '../estate/load.js';
import type { EstateFile } from '../estate/schema.js';
import { wizardDefaults, runWizard } from '../wizard/launch.js';

/**
 * The rehearsal lab: a temp workspace and the environment's own Vault started the way any
 * environment's is (the vault-server step: a real OpenBao with raft storage in the workspace, not
 * dev mode), so that the wizard walks the whole pipeline on it, HTTPS move included.
 *   lab              the wizard on --env lab; it writes WORKSPACE/estate.yaml as it runs each step
 *   lab --file F     rehearses F: F with lab addresses and workspace paths, run by `apply`
 *   lab --resume W   reopens a kept workspace: its Vault restarted and unsealed, its agents run again
 * Whatever way the lab ends (q, Ctrl-C, SIGTERM, SIGHUP), every process it started is stopped.
 */

/** What a workspace keeps so that `lab --resume` can reopen it (no secret: the keys file is its own, 0600). */
interface LabRecord {
  version: 1;
  env: string;
  stateDir: string;
  serverDir: string;
  keysFile: string;
  estateFile: string;
  /** The estate file this lab rehearses (lab --file), when it does. */
  rehearses?: string | undefined;
}

const RECORD = 'lab.json';

export async function runLab(ctx: CommandContext, options: { rehearse?: string | undefined; resume?: string | undefined } = {}): Promise<number> {
  if (options.rehearse && options.resume) throw new UsageError('--file and --resume contradict each other.', 'Rehearse a file in a new lab (--file F), or reopen a kept lab (--resume DIR).');
  const resumed = options.resume ? readRecord(options.resume) : undefined;
  const workspace = resumed ? path.resolve(options.resume!) : fs.mkdtempSync(path.join(os.tmpdir(), 'certwright-lab-'));
  fs.chmodSync(workspace, 0o700);
  const rehearsal = options.rehearse ? loadEstate(options.rehearse) : undefined;
  const record: LabRecord = resumed ?? {
    version: 1,
    env: rehearsal?.spec.environment ?? 'lab',
    stateDir: ctx.flags.string('state-dir') ?? path.join(workspace, 'state'),
    serverDir: path.join(workspace, 'vault'),
    keysFile: path.join(workspace, 'vault-keys.json'),
    estateFile: path.join(workspace, 'estate.yaml'),
    ...(rehearsal ? { rehearses: rehearsal.absFile } : {}),
  };
  const home: HomeOptions = { stateDir: record.stateDir };
  const pidFile = path.join(record.serverDir, 'vault.pid');
  const stopAll = (): number[] => {
    const recorded = runningPid(pidFile);
    const pids = [...new Set([...(recorded !== undefined ? [recorded] : []), ...startedProcesses()])];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    return pids;
  };
  process.on('exit', stopAll);
  // SIGHUP (the terminal closing) ends the lab like Ctrl-C does (cli.ts: exit 129), through exit, which stops everything.
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
    process.removeListener('exit', stopAll);
  };
  try {
    if (!resumed) await writeFileAtomic(path.join(workspace, RECORD), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    for (const name of ['VAULT_ADDR', 'BAO_ADDR', 'BAO_TOKEN', 'VAULT_TOKEN', 'VAULT_CACERT', 'BAO_CACERT']) delete process.env[name];
    if (rehearsal) return await rehearse(ctx, record, workspace, rehearsal.absFile, rehearsal.spec);
    const addr = resumed ? await restartVault(record, home) : await startVault(record, home);
    if (addr === undefined) return 0;
    // The lab's root token is a throwaway; it lives in the workspace's keys file, mode 0600.
    process.env.VAULT_TOKEN = rootToken(record.keysFile);
    if (resumed) await restartAgents(record, home);
    // What another shell needs, in a file of the workspace (0600, as the keys file), so that the
    // line that says how to use it is short enough to copy whole from an 80-column terminal.
    const shellEnv = path.join(workspace, 'env.sh');
    if (!fs.existsSync(shellEnv)) fs.writeFileSync(shellEnv, `export CERTWRIGHT_HOME='${record.stateDir}'\nexport VAULT_TOKEN="$(sed -n 's/.*"root_token": "\\(.*\\)".*/\\1/p' '${record.keysFile}')"\n`, { mode: 0o600, flag: 'wx' });
    const lines = [
      `Lab OpenBao at ${addr} (PID ${runningPid(pidFile) ?? '?'}; raft storage, not dev mode)`,
      `Workspace: ${workspace}`,
      `Reopen it later: certwright lab --resume ${workspace}`,
      `Other shells: . ${shellEnv}`,
    ];
    if (!ctx.tty) {
      process.stdout.write(`${lines.join('\n')}\nThe lab runs until this process gets SIGINT, SIGTERM or SIGHUP.\n`);
      await untilSignalled();
      return 0;
    }
    process.stderr.write(`${lines.join('\n')}\n`);
    const defaults = { ...wizardDefaults(ctx), env: record.env, outDir: ctx.flags.string('out') ?? path.join(workspace, 'offline-root'), keyFile: record.keysFile, estateFile: record.rehearses ? undefined : record.estateFile };
    const controller = new WizardController(home, defaults, { addr, workspace });
    if (!resumed) await controller.recordStep(vaultServer, record.env, serverValues(record, addr), cliReporter({ quiet: true }));
    let code = 0;
    if (ctx.plain) {
      const { runPlainWizard } = await import('../wizard/plain.js');
      code = await runPlainWizard(controller, record.env);
    } else await runWizard(controller, record.env);
    // One fact per line, each command whole on its own line: an 80-column terminal cuts nothing.
    process.stderr.write(['Lab stopped. Its files stay in', `  ${workspace}`, 'Reopen it with:', `  certwright lab --resume ${workspace}`, 'What the wizard ran is in its estate file; rehearse it with:', `  certwright lab --file ${record.estateFile}`, ''].join('\n'));
    return code;
  } finally {
    await stop();
  }
}

function readRecord(dir: string): LabRecord {
  const file = path.join(dir, RECORD);
  let record: LabRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as LabRecord;
  } catch (error) {
    throw new OperatorError(`${dir} is not a kept lab: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, 'Pass --resume with the workspace a lab printed ("Workspace: ..."), or start a new lab.');
  }
  if (record.version !== 1 || !record.stateDir || !record.serverDir || !record.keysFile) throw new OperatorError(`${file} is not a lab record this version of certwright wrote.`, 'Start a new lab.');
  return record;
}

function rootToken(keysFile: string): string {
  return (JSON.parse(fs.readFileSync(keysFile, 'utf8')) as { root_token: string }).root_token;
}

function serverValues(record: LabRecord, addr: string): FlagValues {
  const listen = new URL(addr).host;
  return { env: record.env, out: record.serverDir, listen, 'key-shares': '1', 'key-threshold': '1' };
}

/** A new lab's Vault: vault-server on a free loopback port pair, one key share, keys in the workspace. */
async function startVault(record: LabRecord, home: HomeOptions): Promise<string | undefined> {
  const port = await freePortPair();
  const values = serverValues(record, `http://127.0.0.1:${port}`);
  const started = await runStep(vaultServer, { values: { ...values, 'keys-out': record.keysFile }, home, report: cliReporter({ quiet: true }), interact: noQuestions, dryRun: false, tty: false, command: 'lab' }, { plan() {}, dryRun() {} });
  return started.status === 'applied' ? started.result.addr : undefined;
}

/** A kept lab's Vault, restarted on its storage the way it last ran (over TLS after vault-https) and unsealed from its keys file. */
async function restartVault(record: LabRecord, home: HomeOptions): Promise<string | undefined> {
  const state = new StateStore(record.env, envPaths(record.env, home).stateFile).read();
  const https = state.steps['vault-https'];
  const server = state.steps['vault-server'];
  if (!server || server.status !== 'done') throw new OperatorError(`The lab in ${path.dirname(record.serverDir)} never got its Vault running.`, 'Start a new lab.');
  const options = { home, report: cliReporter({ quiet: true }), interact: noQuestions, dryRun: false, tty: false, command: 'lab --resume' } as const;
  if (https?.status === 'done') {
    const values: FlagValues = { env: record.env, out: String(https.facts.outDir), listen: String(https.facts.listen), 'tls-dir': String(https.facts.tlsDir), start: true, 'key-file': [record.keysFile] };
    const outcome = await runStep(vaultHttps, { ...options, values }, { plan() {}, dryRun() {} });
    return outcome.status === 'applied' ? outcome.result.apiAddr : undefined;
  }
  const outcome = await runStep(vaultServer, { ...options, values: { ...serverValues(record, String(server.facts.addr)), 'key-file': [record.keysFile] } }, { plan() {}, dryRun() {} });
  return outcome.status === 'applied' ? outcome.result.addr : undefined;
}

/**
 * The agents a kept lab had, from its estate file. Each consumed its single-use wrapped secret_id
 * when it first logged in, so each agent step runs again with --new-secret-id (the older ones
 * are destroyed) before the agent runs again as a process, until its first render.
 */
async function restartAgents(record: LabRecord, home: HomeOptions): Promise<void> {
  if (!fs.existsSync(record.estateFile)) return;
  const estate = loadEstate(record.estateFile);
  const { pipeline } = await import('../estate/pipeline.js');
  for (const step of await pipeline(estate, { oneMachine: true })) {
    if (step.id !== 'agent-app' && step.id !== 'agent-proxy') continue;
    if (!fs.existsSync(path.join(String(step.values.out), 'agent.hcl'))) continue;
    await runStep(step.def, { values: { ...step.values, 'new-secret-id': true }, home, report: cliReporter({ quiet: true }), interact: noQuestions, dryRun: false, tty: false, command: 'lab --resume' }, { plan() {}, dryRun() {} });
  }
  await startAgents(estate.spec.agents ?? [], (line) => process.stderr.write(`${line}\n`));
}

async function startAgents(agents: NonNullable<EstateFile['agents']>, say: (line: string) => void): Promise<boolean> {
  let all = true;
  for (const a of agents) {
    if (!fs.existsSync(path.join(a.out, 'agent.hcl'))) continue;
    const first = a.kind === 'app' ? path.join(a.tls_dir!, 'current', 'cert.pem') : a.ca_out!;
    const started = await startAgentUntilRendered(findBao(), a.out, first);
    say(`${started.rendered ? '✓' : '✗'} bao agent for ${a.kind} ${a.name} (PID ${started.pid}): ${started.rendered ? `first render at ${first}` : `nothing rendered at ${first} yet; see ${started.log}`}`);
    all &&= started.rendered;
  }
  return all;
}

/**
 * F as the lab runs it: the same environment and steps, with the Vault certwright runs on a free
 * loopback port (a Vault F names by address is replaced by it), every path inside the workspace,
 * and what a lab cannot do on this machine left out, each said.
 */
export function labSpec(spec: EstateFile, workspace: string, port: number): { spec: EstateFile; notes: string[] } {
  const out: EstateFile = structuredClone(spec);
  const notes: string[] = [];
  const listen = `127.0.0.1:${port}`;
  // Relative paths already resolve in the workspace (the file is written there); absolute ones move under it.
  const move = (p: string | undefined) => (p === undefined ? undefined : path.isAbsolute(p) ? path.join(workspace, 'abs', p) : p);
  if (out.vault.address) notes.push(`vault.address ${out.vault.address} is replaced by the lab's own Vault at https://${listen}`);
  else if (out.vault.listen !== listen) notes.push(`vault.listen ${out.vault.listen} becomes ${listen}`);
  if (out.vault.runtime === 'podman') notes.push('vault.runtime podman becomes a host process');
  out.vault = { listen, data_dir: './vault', ...(out.vault.key_shares ? { key_shares: out.vault.key_shares } : {}), ...(out.vault.key_threshold ? { key_threshold: out.vault.key_threshold } : {}) };
  out.root.dir = move(out.root.dir)!;
  if (out.root.custody) {
    out.root.custody.shares_out = move(out.root.custody.shares_out)!;
    notes.push(`root.custody: the rehearsal opens the root with the first ${out.root.custody.threshold} custodians' shares from the workspace (throwaway, like the lab)`);
  }
  if (out.vault_cert) {
    out.vault_cert.dir = move(out.vault_cert.dir)!;
    out.vault_cert.dns = [...new Set([...(out.vault_cert.dns ?? []), 'localhost'])];
    out.vault_cert.ip = [...new Set([...(out.vault_cert.ip ?? []), '127.0.0.1'])];
    if (out.vault_cert.owner) notes.push(`vault_cert.owner ${out.vault_cert.owner} is left out: the lab's Vault runs as you`);
    delete out.vault_cert.owner;
  } else {
    out.vault_cert = { dir: './vault-tls', dns: ['localhost'], ip: ['127.0.0.1'] };
    notes.push('vault_cert added (./vault-tls, localhost, 127.0.0.1): the lab moves its Vault to HTTPS');
  }
  if (out.urls) {
    if (out.urls.base !== `https://${listen}`) notes.push(`urls.base ${out.urls.base} becomes https://${listen}`);
    out.urls = { base: `https://${listen}` };
  }
  for (const a of out.agents ?? []) {
    a.out = move(a.out)!;
    if (a.tls_dir) a.tls_dir = move(a.tls_dir);
    if (a.ca_out) a.ca_out = move(a.ca_out);
    if (a.user) notes.push(`agents ${a.kind} ${a.name}: user ${a.user} is left out: the lab runs its agents as you, as processes`);
    delete a.user;
  }
  if (out.distribute_ca) {
    notes.push(`distribute_ca (users ${out.distribute_ca.users.join(', ')}) is left out: it writes into real users' homes`);
    delete out.distribute_ca;
  }
  if (out.build_role) {
    if (out.build_role.role_id_out) out.build_role.role_id_out = move(out.build_role.role_id_out);
    if (out.build_role.secret_id_out) out.build_role.secret_id_out = move(out.build_role.secret_id_out);
  }
  if (out.air_gap?.carry_dir) out.air_gap.carry_dir = move(out.air_gap.carry_dir);
  return { spec: out, notes };
}

/** The share files of the first M custodians, as root create names them in the lab's shares_out. */
function labShareFiles(custody: NonNullable<EstateFile['root']['custody']>, dir: string): string[] {
  const names = custody.names?.length ? custody.names : Array.from({ length: custody.custodians }, (_, i) => `custodian-${i + 1}`);
  return names.slice(0, custody.threshold).map((n) => path.join(path.resolve(dir, custody.shares_out), `${n}.share`));
}

async function rehearse(ctx: CommandContext, record: LabRecord, workspace: string, source: string, spec: EstateFile): Promise<number> {
  const port = await freePortPair();
  // The spec as loaded has absolute paths resolved against F's directory: keep F's own words instead.
  const { parse } = await import('yaml');
  const raw = parse(fs.readFileSync(source, 'utf8')) as EstateFile;
  const { spec: lab, notes } = labSpec(raw, workspace, port);
  const header = `# Rehearsal of ${source} in the lab (certwright lab --file): lab addresses, workspace paths.\n`;
  await writeFileAtomic(record.estateFile, header + stringify(lab, { lineWidth: 0 }), { mode: 0o644 });
  const passFile = path.join(workspace, 'root-passphrase');
  if (!fs.existsSync(passFile)) await writeFileAtomic(passFile, `${crypto.randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  process.stderr.write(
    [`Rehearsing ${source} in ${workspace} (environment ${spec.environment}, state ${record.stateDir}).`, ...notes.map((n) => `  - ${n}`), `  The lab's ${lab.root.custody ? `root shares are in ${path.resolve(path.dirname(record.estateFile), lab.root.custody.shares_out)}` : `root passphrase is ${passFile}`} (0600), its unseal keys ${record.keysFile} (0600): throwaway, like the lab.`, ''].join('\n'),
  );
  const home: HomeOptions = { stateDir: record.stateDir };
  const { command: apply } = await import('./apply.js');
  // A root under custody is opened as at a ceremony: by M custodians' shares (the lab's own), no passphrase.
  const custody = lab.root.custody;
  const opens: FlagValues = custody ? { share: labShareFiles(custody, path.dirname(record.estateFile)) } : { 'passphrase-file': passFile };
  const code = await apply.run({ ...ctx, home, tty: false, flags: new Flags({ file: record.estateFile, 'one-machine': true, yes: true, ...opens, 'keys-out': record.keysFile }, apply.flags) });
  if (code !== 0) return code;
  const agentsOk = await startAgents(loadEstate(record.estateFile).spec.agents ?? [], (line) => process.stderr.write(`${line}\n`));
  const { command: status } = await import('./status.js');
  const addr = new StateStore(spec.environment, envPaths(spec.environment, home).stateFile).read().vault?.addr ?? `https://127.0.0.1:${port}`;
  if (ctx.tty) {
    const controller = new WizardController(home, { ...wizardDefaults(ctx), env: spec.environment, keyFile: record.keysFile }, { addr, workspace });
    await runWizard(controller, spec.environment);
    return 0;
  }
  process.stderr.write(`\nStatus of the rehearsal (certwright status --env ${spec.environment}, CERTWRIGHT_HOME=${record.stateDir}):\n`);
  const statusCode = await status.run({ ...ctx, home, tty: false, plain: true, flags: new Flags({ env: spec.environment, format: 'text' }, status.flags) });
  process.stderr.write(`\nRehearsal ${statusCode === 0 && agentsOk ? 'reached a green status' : 'ended with findings (above)'}. Its files stay in ${workspace}: reopen it with \`certwright lab --resume ${workspace}\`.\n`);
  return statusCode !== 0 ? statusCode : agentsOk ? 0 : 9;
}

function untilSignalled(): Promise<void> {
  return new Promise<void>((resolve) => {
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
}

import fs from 'node:fs';
import type { CommandContext, CommandSpec } from '../command.js';
import { envPaths } from '../paths.js';
import { ceremonyHeadLine, transcriptLength } from '../ceremony/head.js';
import { Cancelled, DriftError, OperatorError, UsageError } from '../errors.js';
import { cliReporter, columnsOf } from '../output.js';
import { resolveConnection } from '../vault/connection.js';
import { VaultClient } from '../vault/client.js';
import { runStep } from '../steps/run.js';
import type { Where } from '../steps/step.js';
import { evaluateStep, handedOverAfter, readState } from '../estate/evaluate.js';
import { airGaps, evaluateAll, formatEstatePlan, shown, type PipelineStep } from '../estate/pipeline.js';
import type { Estate } from '../estate/load.js';
import { cliInteraction, cliPlanView, dryRunRequested } from './step-command.js';
import { FILE_FLAG, OFFLINE_FLAG, ONE_MACHINE_FLAG } from './estate-flags.js';
import { openEstate } from './estate-common.js';
import { managedVault } from '../estate/schema.js';

/**
 * apply --file: runs the estate's steps that are not done, in pipeline order, each through the
 * one step runner (parse, plan, apply, verify), exactly as `certwright <step>` would. It is not a
 * registry step itself: it has no inputs of its own beyond the file and owns no state; every
 * change it makes is made, recorded and verified by a registry step. Across the air gap it runs
 * the steps of the side it is on and stops at the first step of the other side, naming what to
 * carry there; --one-machine runs everything here.
 */
export const command: CommandSpec = {
  name: 'apply',
  summary: 'Runs the steps of an estate file that are not done, each plan / apply / verify, and stops at the air gap naming what to carry across (--one-machine: everything here). A second apply changes nothing.',
  usage: 'apply --file FILE [--one-machine] [--offline] [--passphrase-file FILE | --share FILE ...] [--keys-out FILE] [--yes]',
  flags: [
    FILE_FLAG,
    ONE_MACHINE_FLAG,
    OFFLINE_FLAG,
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'the root key passphrase (mode 0600); typed when absent in a terminal' },
    { name: 'share', type: 'string', multiple: true, value: 'FILE', env: '', description: 'a custodian\'s share, for a root under custody (root.custody); repeat for each custodian; typed in turn in a terminal when absent' },
    { name: 'keys-out', type: 'string', value: 'FILE', description: 'vault-server writes the unseal keys + root token to this new 0600 file; later steps read the token and shares back', env: '' },
  ],
  async run(ctx) {
    if (dryRunRequested(ctx.flags)) {
      const { command: plan } = await import('./plan.js');
      return plan.run(ctx);
    }
    const { estate, steps, oneMachine } = await openEstate(ctx, { passphraseFile: ctx.flags.string('passphrase-file'), shares: ctx.flags.list('share'), keysOut: ctx.flags.string('keys-out') });
    tokenFromKeysFile(ctx);
    const offline = ctx.flags.bool('offline');
    if (offline && oneMachine) throw new UsageError('--offline and --one-machine contradict each other.', 'Rehearse on one machine with --one-machine, or run the offline half with --offline.');
    const statuses = await evaluateAll(estate, steps, ctx.home, offline);
    process.stderr.write(`${formatEstatePlan(estate, steps, statuses, oneMachine, columnsOf(process.stderr))}\n`);
    const drifted = statuses.findIndex((s) => s.state === 'drifted');
    if (drifted >= 0) throw driftError(estate, steps[drifted]!, statuses[drifted]!.why);
    if (statuses.every((s) => s.state === 'done')) {
      process.stdout.write(`Nothing to do: all ${steps.length} steps of ${estate.file} are done.\n`);
      return 0;
    }
    if (!ctx.flags.bool('yes')) {
      if (!ctx.tty) throw new UsageError('apply changes Vault and files, and no terminal is attached to confirm.', 'Review `certwright plan --file ...`, then pass --yes.');
      const { confirm } = await import('@inquirer/prompts');
      const ok = await confirm({ message: `Apply the steps that are to do in ${estate.file}?`, default: false }).catch(() => false);
      if (!ok) throw new Cancelled('Nothing was changed.');
    }
    return applySteps(ctx, estate, steps, oneMachine);
  },
};

function driftError(estate: Estate, step: PipelineStep, why: string): DriftError {
  return new DriftError(`${step.key} has drifted: ${why}.`, `Find out what changed (\`certwright plan --file ${estate.file}\`, \`certwright state show --env ${estate.spec.environment}\`); apply runs nothing past a drifted step.`);
}

/** Which side of the air gap this machine is on: online when Vault answers. */
async function detectSide(ctx: CommandContext, estate: Estate): Promise<Exclude<Where, 'anywhere'>> {
  if (ctx.flags.bool('offline')) return 'offline';
  // The machine that runs the environment's own Vault is its online side.
  if (managedVault(estate.spec.vault)) return 'online';
  try {
    const conn = resolveConnection({ vaultAddr: estate.spec.vault.address, vaultCa: estate.spec.vault.ca, requireToken: false });
    await new VaultClient({ ...conn, timeoutMs: 3000 }).request('GET', 'sys/health', { anonymous: true, accept: [429, 472, 473, 501, 503] });
    return 'online';
  } catch {
    return 'offline';
  }
}

/**
 * The steps after the environment's own Vault is initialised need its root token: read back from
 * the --keys-out file (0600, written by vault-server), unless a token is already given. It stays
 * in this process's environment only.
 */
function tokenFromKeysFile(ctx: CommandContext): void {
  const file = ctx.flags.string('keys-out');
  if (!file || process.env.BAO_TOKEN || process.env.VAULT_TOKEN || !fs.existsSync(file)) return;
  try {
    const token = (JSON.parse(fs.readFileSync(file, 'utf8')) as { root_token?: string }).root_token;
    if (token) process.env.VAULT_TOKEN = token;
  } catch {
    /* not the keys file vault-server writes: the token comes the usual way */
  }
}

async function applySteps(ctx: CommandContext, estate: Estate, steps: PipelineStep[], oneMachine: boolean): Promise<number> {
  const report = cliReporter();
  tokenFromKeysFile(ctx);
  const gaps = airGaps(steps);
  let side: Exclude<Where, 'anywhere'> | undefined;
  let applied = 0;
  // A ceremony (a step that opened the root) ends with the transcript's head, for the witnesses.
  const transcript = envPaths(estate.spec.environment, ctx.home).transcript;
  const before = transcriptLength(transcript);
  const closeCeremony = () => {
    const line = ceremonyHeadLine(transcript, before);
    if (line) process.stdout.write(`${line}\n`);
  };
  for (const [i, step] of steps.entries()) {
    // Afresh before each step: the ones before it have just changed the world.
    const status = await evaluateStep(step, step.def, ctx.home, readState(estate.spec.environment, ctx.home), { earlierPending: false, offline: ctx.flags.bool('offline'), laterHandedOver: handedOverAfter(steps)[i] });
    if (status.state === 'done') continue;
    if (status.state === 'drifted') throw driftError(estate, step, status.why);
    if (!oneMachine && step.where !== 'anywhere') {
      side ??= await detectSide(ctx, estate);
      if (step.where !== side) {
        process.stdout.write(`${airGapStop(estate, step, side, gaps.find((g) => g.before === i)?.carry ?? [], applied, envPaths(estate.spec.environment, ctx.home).transcript)}\n`);
        closeCeremony();
        return 0;
      }
    }
    process.stderr.write(`\n[${i + 1}/${steps.length}] ${step.key}\n`);
    const outcome = await runStep(step.def, { values: step.values, home: ctx.home, report, interact: cliInteraction(ctx.flags, ctx.tty), dryRun: false, tty: ctx.tty, command: `apply: ${step.def.command}` }, cliPlanView);
    if (outcome.status !== 'applied') throw new Cancelled(`Stopped before ${step.key}; the steps before it are done.`);
    applied += 1;
    tokenFromKeysFile(ctx);
    const text = await step.def.present(outcome.result, outcome.input, outcome.run);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    const code = step.def.exitCode ? step.def.exitCode(outcome.result) : 0;
    if (code !== 0) {
      process.stderr.write(`${step.key} finished with exit code ${code}; apply stops here. Fix what it reported and run apply again.\n`);
      closeCeremony();
      return code;
    }
  }
  process.stdout.write(`Applied ${applied} step(s); every step of ${estate.file} is done.\n`);
  closeCeremony();
  return 0;
}

function airGapStop(estate: Estate, step: PipelineStep, side: Exclude<Where, 'anywhere'>, carry: string[], applied: number, transcript: string): string {
  const there = step.where === 'offline' ? 'the offline (ceremony) machine' : 'the online machine (the one that reaches Vault)';
  const lines = [
    `${applied ? `Applied ${applied} step(s) here. ` : ''}Air gap: the next step, ${step.key}, runs on ${there}; this machine is ${side}.`,
    'Carry across (paths relative to the estate file, the same on both machines):',
    `  ${shown(estate, estate.absFile)} (this estate file)`,
    ...carry.map((f) => `  ${shown(estate, f)}`),
  ];
  if (side === 'offline' && applied > 0 && fs.existsSync(transcript)) lines.push(`For the record (public, hash-chained): the ceremony transcript ${transcript}; check it with \`certwright transcript verify --env ${estate.spec.environment} --file FILE\`.`);
  if (carry.some((f) => f.endsWith('root-ca.pem'))) lines.push('Never carry root-ca.key: the root key stays on the ceremony machine.');
  lines.push(`There, run: certwright apply --file ${estate.file}${step.where === 'offline' ? (estate.spec.root.custody ? ` --offline --share FILE (${estate.spec.root.custody.threshold} custodians)` : ' --offline --passphrase-file FILE') : ''}`);
  return lines.join('\n');
}

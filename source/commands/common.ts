import fs from 'node:fs';
import { UsageError, Cancelled, OperatorError } from '../errors.js';
import { validateEnvName, validateMountPath } from '../paths.js';
import { parsePassphrase } from '../pki/keys.js';
import { EnvSession } from '../steps/context.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import type { CommandContext } from '../command.js';
import type { Plan } from '../steps/context.js';
import { formatPlan } from '../output.js';
import { readPrivateFile } from '../system/secrets.js';

export function requireEnv(ctx: CommandContext): string {
  return validateEnvName(ctx.flags.require('env', 'each environment has its own state, root and mounts'));
}

export function requireMount(ctx: CommandContext): string {
  return validateMountPath(ctx.flags.require('mount'));
}

export async function openSession(ctx: CommandContext, command: string): Promise<EnvSession> {
  return EnvSession.open(requireEnv(ctx), ctx.home, command);
}

export function vaultFor(ctx: CommandContext, session?: EnvSession, options: { requireToken?: boolean } = {}): VaultClient {
  const connection = resolveConnection({
    vaultAddr: ctx.flags.string('vault-addr'),
    vaultCa: ctx.flags.string('vault-ca'),
    stateAddr: session?.state.vault?.addr,
    stateCa: session?.state.vault?.caFile,
    ...(options.requireToken === undefined ? {} : { requireToken: options.requireToken }),
  });
  return new VaultClient(connection);
}

/**
 * The passphrase for the root key: from --passphrase-file, or typed (hidden) in a terminal.
 * Without a terminal a missing file is an error that names the flag.
 */
export async function obtainPassphrase(ctx: CommandContext, purpose: 'new' | 'open'): Promise<Buffer> {
  const file = ctx.flags.string('passphrase-file');
  const minLength = purpose === 'new' ? 12 : 1;
  if (file) {
    const content = await readPrivateFile(file, '--passphrase-file');
    return parsePassphrase(content, file, { minLength });
  }
  if (!ctx.tty) {
    throw new UsageError('--passphrase-file is required when no terminal is attached.', 'Pass --passphrase-file FILE (a file readable only by you, mode 0600) or run in a terminal to type it.');
  }
  const { password } = await import('@inquirer/prompts');
  const first = await password({ message: purpose === 'new' ? `New root key passphrase (at least ${minLength} characters):` : 'Root key passphrase:', mask: '*' }).catch(() => {
    throw new Cancelled();
  });
  if (purpose === 'new') {
    const second = await password({ message: 'Type it again:', mask: '*' }).catch(() => {
      throw new Cancelled();
    });
    if (first !== second) throw new OperatorError('The two passphrases differ.', 'Run the command again and type the same passphrase twice.');
  }
  return parsePassphrase(Buffer.from(first, 'utf8'), 'the typed passphrase', { minLength });
}

/** Prints the plan; returns false when the run should stop here (dry run or declined). */
export async function showPlan(ctx: CommandContext, title: string, plan: Plan): Promise<boolean> {
  process.stderr.write(`${formatPlan(title, plan)}\n`);
  if (ctx.flags.bool('dry-run')) {
    process.stderr.write('Dry run: nothing was changed.\n');
    return false;
  }
  return true;
}

/** Type-to-confirm for ceremony actions, asked in a terminal even with --yes. */
export async function typedConfirmation(ctx: CommandContext, expected: string, what: string): Promise<void> {
  if (!ctx.tty) return;
  const { input } = await import('@inquirer/prompts');
  const typed = await input({ message: `Type the CA name "${expected}" to ${what}:` }).catch(() => {
    throw new Cancelled();
  });
  if (typed.trim() !== expected) throw new Cancelled(`The name typed does not match "${expected}". Nothing was changed.`);
}

export function fileExistsOrThrow(file: string, flag: string): void {
  if (!fs.existsSync(file)) throw new OperatorError(`${flag} ${file} does not exist.`, `Check the path given to ${flag}.`);
}

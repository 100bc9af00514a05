import fs from 'node:fs';
import path from 'node:path';
import { VaultClient } from '../vault/client.js';
import { sealStatus } from '../vault/pki.js';
import { withTrustDiagnosis } from '../vault/trust.js';
import { writeFileAtomic, planOutputDir, ensureOutputDir } from '../system/files.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setVault } from '../../state/transitions.js';
import { appendTranscript } from '../../state/transcript.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

/**
 * vault-init — initialises a fresh Vault over HTTPS, trusting only the environment's root.
 * plan reads: sys/seal-status over HTTPS (initialised?), the --keys-out path (must not exist).
 * apply writes: sys/init; the unseal keys and root token go to the caller exactly once (and to
 *   --keys-out, mode 0600, when named) and nowhere else — not state, logs or the transcript; the
 *   state's vault address and CA file, the step's record (shares, threshold), a transcript line.
 */
export const STEP_ID = 'vault-init';

export interface VaultInitInput {
  shares: number;
  threshold: number;
  keysOut?: string | undefined;
  caFile: string;
}

/** What sys/init returned: secrets, kept in memory only until shown. */
export interface InitSecrets {
  keysB64: string[];
  keysHex: string[];
  rootToken: string;
  shares: number;
  threshold: number;
}

export async function planVaultInit(vault: VaultClient, input: VaultInitInput): Promise<Plan & { initialized: boolean; sealed: boolean }> {
  if (input.threshold > input.shares) throw new OperatorError(`--key-threshold ${input.threshold} is larger than --key-shares ${input.shares}.`, 'Pass a threshold no larger than the number of shares (e.g. --key-shares 5 --key-threshold 3).');
  if (input.shares > 1 && input.threshold < 2) throw new OperatorError(`--key-threshold 1 with ${input.shares} shares lets any single holder unseal.`, 'Use a threshold of at least 2 with several shares, or --key-shares 1 --key-threshold 1 for a lab.');
  let keysDirAction: string | undefined;
  if (input.keysOut) {
    if (fs.existsSync(input.keysOut)) throw new OperatorError(`--keys-out ${input.keysOut} already exists; certwright never overwrites unseal keys.`, 'Name a new file.');
    const createDir = await planOutputDir(path.dirname(path.resolve(input.keysOut)), '--keys-out directory');
    if (createDir) keysDirAction = createDir;
  }
  const status = await withTrustDiagnosis(vault, () => sealStatus(vault));
  const plan = { ...emptyPlan(), initialized: status.initialized, sealed: status.sealed };
  if (keysDirAction && !status.initialized) plan.actions.push(keysDirAction);
  plan.facts.push(['Vault', `${vault.addr} (${status.version})`], ['Trusting', input.caFile], ['Key shares', `${input.shares}, threshold ${input.threshold}`]);
  if (!status.initialized) {
    plan.actions.push(`Initialise Vault: ${input.shares} unseal key share(s), ${input.threshold} needed to unseal`);
    plan.actions.push(input.keysOut ? `Write the unseal keys and root token to ${input.keysOut} (0600), and show them nowhere else` : 'Show the unseal keys and root token once, on standard output; they are stored nowhere');
  }
  return plan;
}

export async function applyVaultInit(session: EnvSession, vault: VaultClient, input: VaultInitInput, report: Reporter): Promise<{ secrets?: InitSecrets; keysFile?: string; alreadyInitialized: boolean; sealed: boolean }> {
  const plan = await planVaultInit(vault, input);
  session.commit(setVault(session.state, vault.addr, input.caFile, new Date()));
  if (plan.initialized) {
    report.info(`Vault at ${vault.addr} is already initialised${plan.sealed ? ' and sealed: run certwright vault-unseal' : ''}; nothing to do.`);
    return { alreadyInitialized: true, sealed: plan.sealed };
  }
  report.progress('Initialising Vault');
  const res = await vault.write<never>('sys/init', { secret_shares: input.shares, secret_threshold: input.threshold }, { anonymous: true });
  const body = res.json as unknown as { keys?: string[]; keys_base64?: string[]; root_token?: string };
  if (!body?.keys_base64 || !body.root_token) throw new ExternalError(`Vault at ${vault.addr} answered sys/init without keys.`, 'Check the server log; the storage may already hold an initialised Vault.');
  const secrets: InitSecrets = { keysB64: body.keys_base64, keysHex: body.keys ?? [], rootToken: body.root_token, shares: input.shares, threshold: input.threshold };
  report.done(`Vault initialised: ${input.shares} key share(s), threshold ${input.threshold}`);
  let keysFile: string | undefined;
  if (input.keysOut) {
    try {
      await ensureOutputDir(path.dirname(path.resolve(input.keysOut)));
      await writeFileAtomic(path.resolve(input.keysOut), keysFileContent(secrets), { mode: 0o600, noClobber: true });
      keysFile = path.resolve(input.keysOut);
      report.done(`Unseal keys and root token written to ${keysFile} (0600)`);
    } catch (error) {
      // The keys exist only in this process now: losing them would lose the Vault. Show them instead.
      report.warn(`Could not write ${input.keysOut} (${(error as Error).message}); the keys are shown below instead.`);
    }
  }
  session.commit(completeStep(session.state, STEP_ID, undefined, new Date(), [], { addr: vault.addr, shares: input.shares, threshold: input.threshold, ...(keysFile ? { keysFile } : {}) }));
  appendTranscript(session.paths.transcript, 'vault-init', { addr: vault.addr, shares: input.shares, threshold: input.threshold, keysFile: keysFile ?? 'shown once on the terminal' });
  return { secrets, ...(keysFile ? { keysFile } : {}), alreadyInitialized: false, sealed: true };
}

/** The same shape as `bao operator init -format=json`, so other tools read it too. */
export function keysFileContent(s: InitSecrets): string {
  return `${JSON.stringify({ unseal_keys_b64: s.keysB64, unseal_keys_hex: s.keysHex, unseal_shares: s.shares, unseal_threshold: s.threshold, root_token: s.rootToken }, null, 2)}\n`;
}

export function formatSecrets(s: InitSecrets): string {
  const lines = [
    `Unseal keys (${s.shares}; any ${s.threshold} unseal Vault) and the initial root token.`,
    'They are shown this once and stored nowhere by certwright (not in state, logs or the transcript).',
    'Give each key to a different holder now; revoke the root token once you have other admin access.',
    '',
    ...s.keysB64.map((k, i) => `Unseal key ${i + 1}: ${k}`),
    '',
    `Root token: ${s.rootToken}`,
  ];
  return `${lines.join('\n')}\n`;
}

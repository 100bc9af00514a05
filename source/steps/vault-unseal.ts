import { VaultClient } from '../vault/client.js';
import { sealStatus, type SealStatus } from '../vault/pki.js';
import { withTrustDiagnosis } from '../vault/trust.js';
import { readPrivateFile } from '../system/secrets.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setVault } from '../../state/transitions.js';
import type { EnvSession, Reporter } from './context.js';

/**
 * vault-unseal — submits key shares over HTTPS (trusting only the environment's root) until Vault
 * is unsealed.
 * plan reads: sys/seal-status. apply writes: sys/unseal (one share at a time, never more than
 *   needed), the state's vault address and CA file and the step's record. Shares are never stored.
 */
export const STEP_ID = 'vault-unseal';

/**
 * Shares from a file: `bao operator init -format=json` output (or certwright's --keys-out file),
 * or one share per line ("Unseal Key 1: ..." prefixes are accepted). The file must not be
 * readable by everyone.
 */
export async function readShares(file: string): Promise<string[]> {
  const text = (await readPrivateFile(file, '--key-file')).toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      throw new OperatorError(`--key-file ${file} looks like JSON but does not parse.`, 'Pass the file vault-init --keys-out wrote, or one key share per line.');
    }
    const keys = (parsed.unseal_keys_b64 ?? parsed.keys_base64 ?? parsed.keys) as unknown;
    if (!Array.isArray(keys) || keys.length === 0) throw new OperatorError(`--key-file ${file} holds no unseal_keys_b64.`, 'Pass the file vault-init --keys-out wrote, or one key share per line.');
    return keys.map(String);
  }
  const shares = trimmed
    .split('\n')
    .map((l) => l.replace(/^\s*unseal key \d+\s*:\s*/i, '').trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  if (shares.length === 0) throw new OperatorError(`--key-file ${file} is empty.`, 'Put one unseal key share per line.');
  return shares;
}

export async function currentSeal(vault: VaultClient): Promise<SealStatus> {
  const status = await withTrustDiagnosis(vault, () => sealStatus(vault));
  if (!status.initialized) throw new ExternalError(`Vault at ${vault.addr} is not initialised; there is nothing to unseal.`, 'Initialise it first: certwright vault-init --env ENV.');
  return status;
}

/** Submits one share; a wrong share is an error that says so (Vault keeps the progress). */
export async function submitShare(vault: VaultClient, share: string): Promise<SealStatus> {
  const res = await vault.write<never>('sys/unseal', { key: share.trim() }, { anonymous: true, accept: [400] });
  if (res.status === 400) {
    const why = res.json?.errors?.join('; ') ?? res.text;
    throw new OperatorError(
      `Vault rejected the unseal key shares of this round: ${why}. Vault discarded them; it is still sealed.`,
      'One share was wrong (perhaps one given earlier, by another holder or an earlier run): check that each share belongs to this Vault (every init makes new keys) and was copied whole, then give the threshold again.',
    );
  }
  return res.json as unknown as SealStatus;
}

/**
 * Feeds shares from `next` until unsealed. `next` returns undefined when it has no more; then the
 * run fails with the progress and how to go on.
 */
export async function unsealWith(session: EnvSession, vault: VaultClient, caFile: string, next: (status: SealStatus) => Promise<string | undefined>, report: Reporter, options: { reset?: boolean } = {}): Promise<{ alreadyUnsealed: boolean; submitted: number; status: SealStatus }> {
  let status = await currentSeal(vault);
  session.commit(setVault(session.state, vault.addr, caFile, new Date()));
  if (!status.sealed) {
    report.info(`Vault at ${vault.addr} is already unsealed.`);
    return { alreadyUnsealed: true, submitted: 0, status };
  }
  if (status.progress > 0 && options.reset) {
    await vault.write<never>('sys/unseal', { reset: true }, { anonymous: true });
    report.done(`Discarded the ${status.progress} share(s) given earlier in this round`);
    status = await currentSeal(vault);
  } else if (status.progress > 0) {
    report.info(`${status.progress} of ${status.t} share(s) were given earlier (another holder or an earlier run); if one was wrong, run again with --reset.`);
  }
  let submitted = 0;
  const seen = new Set<string>();
  while (status.sealed) {
    const share = await next(status);
    if (share === undefined) {
      throw new ExternalError(`Vault at ${vault.addr} is still sealed: ${status.progress} of ${status.t} key shares given.`, `Give ${status.t - status.progress} more share(s): --key-file FILE (repeatable), or run in a terminal to type them.`);
    }
    if (seen.has(share.trim())) continue; // the same share twice does not count twice; skip it
    seen.add(share.trim());
    status = await submitShare(vault, share);
    submitted += 1;
    if (status.sealed) report.done(`Key share accepted (${status.progress} of ${status.t})`);
  }
  report.done(`Vault at ${vault.addr} is unsealed`);
  // Raft elects a leader a moment after the unseal; until then every write answers 500 ("local
  // node not active"). Wait, bounded, for an active node or a standby that knows its leader.
  if (!(await untilServing(vault, 30))) report.warn(`Vault at ${vault.addr} is unsealed but no raft leader was elected within 30 s; the next command may see "local node not active". Read the server's log.`);
  session.commit(completeStep(session.state, STEP_ID, undefined, new Date(), [], { addr: vault.addr, threshold: status.t, shares: status.n }));
  return { alreadyUnsealed: false, submitted, status };
}

async function untilServing(vault: VaultClient, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      const h = await vault.health();
      if (!h.sealed && !h.standby) return true;
      const leader = (await vault.request<{ leader_address?: string }>('GET', 'sys/leader', { anonymous: true })).json as { leader_address?: string } | undefined;
      if (!h.sealed && leader?.leader_address) return true;
    } catch {
      /* not answering yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

import { UsageError } from '../../errors.js';
import { httpsVault } from '../../vault/trust.js';
import { defineStep } from '../step.js';
import { emptyPlan, type Plan } from '../context.js';
import type { SealStatus } from '../../vault/pki.js';

const impl = () => import('../vault-unseal.js');

interface UnsealInput {
  shares: string[];
  fromFiles: boolean;
  reset: boolean;
}

interface UnsealResult {
  addr: string;
  sealed: boolean;
  alreadyUnsealed: boolean;
  sharesSubmitted: number;
}

export const vaultUnseal = defineStep<UnsealInput, Plan & { status: SealStatus }, UnsealResult>({
  id: 'vault-unseal',
  command: 'vault-unseal',
  title: 'Unseal Vault',
  summary: 'Unseals Vault over HTTPS (trusting only the environment\'s root): key shares from --key-file (repeatable; one share per line, or the vault-init --keys-out JSON), or typed with hidden input in a terminal, until unsealed.',
  usage: 'vault-unseal --env E [--key-file FILE ...] [--reset]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'key-file', type: 'string', multiple: true, value: 'FILE', description: 'file with key share(s); not world-readable; repeatable', env: '' },
    { name: 'reset', type: 'boolean', description: 'discard shares given earlier in this unseal round first' },
  ],
  async parse(run) {
    const { readShares } = await impl();
    const files = run.flags.list('key-file');
    const shares: string[] = [];
    for (const file of files) shares.push(...(await readShares(file)));
    return { shares, fromFiles: files.length > 0, reset: run.flags.bool('reset') };
  },
  planTitle: () => 'unseal Vault',
  async plan(run, input) {
    const { vault } = httpsVault(run.session.state, { vaultAddr: run.flags.string('vault-addr'), vaultCa: run.flags.string('vault-ca') });
    const status = await (await impl()).currentSeal(vault);
    // Checked against the server first: an unsealed Vault needs no keys at all.
    if (status.sealed && !input.fromFiles && !run.tty) throw new UsageError('--key-file is required when no terminal is attached.', 'Pass --key-file FILE (repeatable; mode 0600), or run in a terminal to type the shares (hidden).');
    const plan = { ...emptyPlan(), status };
    plan.facts.push(['Vault', vault.addr], ['Sealed', status.sealed ? `yes (${status.progress} of ${status.t} shares given)` : 'no']);
    if (status.sealed) {
      if (input.reset && status.progress > 0) plan.actions.push(`Discard the ${status.progress} share(s) given earlier in this round`);
      plan.actions.push(`Submit key shares (${input.fromFiles ? `${input.shares.length} from --key-file` : 'typed, hidden'}) until ${status.t} are given`);
    }
    return plan;
  },
  async apply(run, input) {
    const { vault, caFile } = httpsVault(run.session.state, { vaultAddr: run.flags.string('vault-addr'), vaultCa: run.flags.string('vault-ca') });
    const queue = [...input.shares];
    const result = await (await impl()).unsealWith(
      run.session,
      vault,
      caFile,
      async (status) => {
        if (queue.length > 0) return queue.shift();
        if (input.fromFiles) return undefined;
        return run.interact.unsealShare(status);
      },
      run.report,
      { reset: input.reset },
    );
    return { addr: vault.addr, sealed: result.status.sealed, alreadyUnsealed: result.alreadyUnsealed, sharesSubmitted: result.submitted };
  },
  present: (r) => `Vault at ${r.addr} is unsealed.`,
});

import path from 'node:path';
import { httpsVault } from '../../vault/trust.js';
import { defineStep } from '../step.js';
import type { Plan } from '../context.js';
import type { VaultInitInput, InitSecrets } from '../vault-init.js';

const impl = () => import('../vault-init.js');

interface InitResult {
  addr: string;
  secrets?: InitSecrets | undefined;
  keysFile?: string | undefined;
  alreadyInitialized: boolean;
  sealed: boolean;
}

export const vaultInit = defineStep<VaultInitInput & { unseal: boolean }, Plan, InitResult>({
  id: 'vault-init',
  command: 'vault-init',
  title: 'Initialise Vault',
  summary: 'Initialises a fresh Vault over HTTPS, trusting only the environment\'s root. Shows the unseal keys and root token exactly once (stdout), never stores or logs them; --keys-out writes them to a new file (0600) instead.',
  usage: 'vault-init --env E [--key-shares N] [--key-threshold M] [--keys-out FILE] [--unseal]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'key-shares', type: 'string', value: 'N', description: 'number of unseal key shares', default: '5' },
    { name: 'key-threshold', type: 'string', value: 'M', description: 'shares needed to unseal', defaultText: '3, or the number of shares when fewer' },
    { name: 'keys-out', type: 'string', value: 'FILE', description: 'write keys + root token here (new file, mode 0600) instead of showing them', env: '' },
    { name: 'unseal', type: 'boolean', description: 'unseal right away with the new keys (lab, rehearsal)' },
  ],
  parse(run) {
    const f = run.flags;
    const shares = f.int('key-shares', { min: 1, max: 10 })!;
    const threshold = f.int('key-threshold', { min: 1, max: 10 }) ?? Math.min(3, shares);
    const keysOut = f.string('keys-out');
    const { caFile } = httpsVault(run.session.state, { vaultAddr: f.string('vault-addr'), vaultCa: f.string('vault-ca') });
    return { shares, threshold, keysOut: keysOut ? path.resolve(keysOut) : undefined, caFile, unseal: f.bool('unseal') };
  },
  planTitle: () => 'initialise Vault',
  async plan(run, input) {
    const { vault } = httpsVault(run.session.state, { vaultAddr: run.flags.string('vault-addr'), vaultCa: run.flags.string('vault-ca') });
    return (await impl()).planVaultInit(vault, input);
  },
  async apply(run, input) {
    const { vault, caFile } = httpsVault(run.session.state, { vaultAddr: run.flags.string('vault-addr'), vaultCa: run.flags.string('vault-ca') });
    const result = await (await impl()).applyVaultInit(run.session, vault, input, run.report);
    if (result.secrets && input.unseal) {
      const keys = [...result.secrets.keysB64];
      const { unsealWith } = await import('../vault-unseal.js');
      await unsealWith(run.session, vault, caFile, async () => keys.shift(), run.report);
    }
    return { addr: vault.addr, ...result };
  },
  // With --keys-out the secrets live in that file only; without it, this is their one showing.
  json: (r) => ({ addr: r.addr, alreadyInitialized: r.alreadyInitialized, ...(r.keysFile ? { keysFile: r.keysFile } : r.secrets ? { unseal_keys_b64: r.secrets.keysB64, root_token: r.secrets.rootToken } : {}) }),
  async present(r) {
    if (r.secrets && !r.keysFile) return (await impl()).formatSecrets(r.secrets);
    if (r.keysFile) return `Vault at ${r.addr} initialised. Unseal keys and root token are in ${r.keysFile} (0600) and nowhere else.`;
    return `Vault at ${r.addr} was already initialised.`;
  },
});

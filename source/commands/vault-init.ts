import type { CommandSpec } from '../command.js';
import { cliReporter, printJson } from '../output.js';
import { applyVaultInit, planVaultInit, formatSecrets } from '../steps/vault-init.js';
import { unsealWith } from '../steps/vault-unseal.js';
import { httpsVault } from '../vault/trust.js';
import { openSession, showPlan } from './common.js';

export const command: CommandSpec = {
  name: 'vault-init',
  summary: 'Initialises a fresh Vault over HTTPS, trusting only the environment\'s root. Shows the unseal keys and root token exactly once (stdout), never stores or logs them; --keys-out writes them to a new file (0600) instead.',
  usage: 'vault-init --env E [--key-shares N] [--key-threshold M] [--keys-out FILE] [--unseal]',
  flags: [
    { name: 'key-shares', type: 'string', value: 'N', description: 'number of unseal key shares (default 5)' },
    { name: 'key-threshold', type: 'string', value: 'M', description: 'shares needed to unseal (default 3)' },
    { name: 'keys-out', type: 'string', value: 'FILE', description: 'write keys + root token here (new file, mode 0600) instead of showing them', env: '' },
    { name: 'unseal', type: 'boolean', description: 'unseal right away with the new keys (lab, rehearsal)' },
  ],
  async run(ctx) {
    const f = ctx.flags;
    const shares = f.int('key-shares', { min: 1, max: 10 }) ?? 5;
    const threshold = f.int('key-threshold', { min: 1, max: 10 }) ?? Math.min(3, shares);
    const keysOut = f.string('keys-out');
    const session = await openSession(ctx, 'vault-init');
    try {
      const { vault, caFile } = httpsVault(session.state, { vaultAddr: f.string('vault-addr'), vaultCa: f.string('vault-ca') });
      const input = { shares, threshold, keysOut, caFile };
      const plan = await planVaultInit(vault, input);
      if (!(await showPlan(ctx, `initialise Vault at ${vault.addr}`, plan))) return 0;
      const report = cliReporter();
      const result = await applyVaultInit(session, vault, input, report);
      if (result.secrets && f.bool('unseal')) {
        const keys = [...result.secrets.keysB64];
        await unsealWith(session, vault, caFile, async () => keys.shift(), report);
      }
      if (f.bool('json')) {
        // With --keys-out the secrets live in that file only; without it, this is their one showing.
        printJson({ addr: vault.addr, alreadyInitialized: result.alreadyInitialized, ...(result.keysFile ? { keysFile: result.keysFile } : result.secrets ? { unseal_keys_b64: result.secrets.keysB64, root_token: result.secrets.rootToken } : {}) });
      } else if (result.secrets && !result.keysFile) {
        process.stdout.write(formatSecrets(result.secrets));
      } else if (result.keysFile) {
        process.stdout.write(`Vault at ${vault.addr} initialised. Unseal keys and root token are in ${result.keysFile} (0600) and nowhere else.\n`);
      } else {
        process.stdout.write(`Vault at ${vault.addr} was already initialised.\n`);
      }
      if (result.secrets) result.secrets.keysB64.fill('');
      return 0;
    } finally {
      session.close();
    }
  },
};

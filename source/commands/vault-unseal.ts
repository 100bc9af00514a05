import type { CommandSpec } from '../command.js';
import { UsageError, Cancelled } from '../errors.js';
import { cliReporter, printJson } from '../output.js';
import { readShares, unsealWith } from '../steps/vault-unseal.js';
import { httpsVault } from '../vault/trust.js';
import { openSession } from './common.js';

export const command: CommandSpec = {
  name: 'vault-unseal',
  summary: 'Unseals Vault over HTTPS (trusting only the environment\'s root): key shares from --key-file (repeatable; one share per line, or the vault-init --keys-out JSON), or typed with hidden input in a terminal, until unsealed.',
  usage: 'vault-unseal --env E [--key-file FILE ...] [--reset]',
  flags: [
    { name: 'key-file', type: 'string', multiple: true, value: 'FILE', description: 'file with key share(s); not world-readable; repeatable', env: '' },
    { name: 'reset', type: 'boolean', description: 'discard shares given earlier in this unseal round first' },
  ],
  async run(ctx) {
    const files = ctx.flags.list('key-file');
    const session = await openSession(ctx, 'vault-unseal');
    try {
      const { vault, caFile } = httpsVault(session.state, { vaultAddr: ctx.flags.string('vault-addr'), vaultCa: ctx.flags.string('vault-ca') });
      const queue: string[] = [];
      for (const file of files) queue.push(...(await readShares(file)));
      const fromFiles = files.length > 0;
      if (!fromFiles && !ctx.tty) {
        // Checked against the server first: an unsealed Vault needs no keys at all.
        const { currentSeal } = await import('../steps/vault-unseal.js');
        const status = await currentSeal(vault);
        if (status.sealed) throw new UsageError('--key-file is required when no terminal is attached.', 'Pass --key-file FILE (repeatable; mode 0600), or run in a terminal to type the shares (hidden).');
      }
      const report = cliReporter();
      const result = await unsealWith(
        session,
        vault,
        caFile,
        async (status) => {
          if (queue.length > 0) return queue.shift();
          if (fromFiles || !ctx.tty) return undefined;
          const { password } = await import('@inquirer/prompts');
          const share = await password({ message: `Unseal key share (${status.progress} of ${status.t} given; input hidden, empty to stop):` }).catch(() => {
            throw new Cancelled();
          });
          return share.trim() === '' ? undefined : share;
        },
        report,
        { reset: ctx.flags.bool('reset') },
      );
      if (ctx.flags.bool('json')) printJson({ addr: vault.addr, sealed: result.status.sealed, alreadyUnsealed: result.alreadyUnsealed, sharesSubmitted: result.submitted });
      else process.stdout.write(`Vault at ${vault.addr} is unsealed.\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

import type { CommandSpec } from '../command.js';
import { printJson } from '../output.js';
import { OperatorError } from '../errors.js';
import { readState } from '../estate/evaluate.js';
import { resolveConnection } from '../vault/connection.js';
import { VaultClient } from '../vault/client.js';
import { auditVerify, formatAuditReport } from '../audit/verify.js';
import { requireEnv } from './common.js';

/**
 * audit verify --env E: the transcript's chain, and certwright's build audit logs held against
 * what Vault holds and what Vault's own audit log witnessed (see source/audit/verify.ts). Reads
 * only. Exit 4 on any finding; 3 when Vault could not be read (nothing is called verified then).
 */
export const command: CommandSpec = {
  name: 'audit verify',
  summary: 'Checks the transcript\'s hash chain and, for each build mount, certwright\'s build audit log against Vault: every logged serial exists in MOUNT/certs, every certificate issued on the build role is in the log (issuance outside certwright is named by serial and time), cross-checked with Vault\'s own audit log for the Vault certwright runs. Exit 4 on any finding.',
  usage: 'audit verify --env E [--build-log FILE ...] [--vault-audit-log FILE] [--json]',
  flags: [
    { name: 'build-log', type: 'string', multiple: true, value: 'FILE', description: 'a build server\'s audit log (build-cert --audit-log), repeatable (default: CERTWRIGHT_HOME/audit/MOUNT.jsonl here)' },
    { name: 'vault-audit-log', type: 'string', value: 'FILE', description: 'the log of Vault\'s file audit device (default: the one vault-server declared for the Vault certwright runs)' },
  ],
  async run(ctx) {
    const env = requireEnv(ctx);
    const state = readState(env, ctx.home);
    if (!state) throw new OperatorError(`Environment "${env}" has no state here.`, 'Run audit verify on the machine that ran the environment\'s online steps, or pass --state-dir.');
    let vault: VaultClient | undefined;
    let vaultProblem: string | undefined;
    try {
      const conn = resolveConnection({ vaultAddr: ctx.flags.string('vault-addr'), vaultCa: ctx.flags.string('vault-ca'), stateAddr: state.vault?.addr, stateCa: state.vault?.caFile });
      vault = new VaultClient({ ...conn, timeoutMs: 10_000 });
      await vault.health();
    } catch (error) {
      vault = undefined;
      vaultProblem = (error as Error).message;
    }
    const report = await auditVerify({ env, home: ctx.home, state, vault, vaultProblem, buildLogs: ctx.flags.list('build-log'), vaultAuditLog: ctx.flags.string('vault-audit-log') });
    const vaultUnread = report.notChecked.some((n) => /\/certs: /.test(n));
    if (ctx.flags.bool('json')) printJson({ ...report, ok: report.findings.length === 0 && !vaultUnread });
    else process.stdout.write(`${formatAuditReport(report)}\n`);
    return report.findings.length ? 4 : vaultUnread ? 3 : 0;
  },
};

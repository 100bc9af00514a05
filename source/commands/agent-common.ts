import fs from 'node:fs';
import path from 'node:path';
import type { CommandContext } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { findBao } from '../system/openbao.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';
import { applyAgentRollout, planAgentRollout, defaultCertwrightCommand, type AgentRolloutInput } from '../steps/agent-rollout.js';
import { parseSelectors } from './hook.js';
import type { AgentKind } from '../agent/render.js';

/** Flags shared by `agent app` and `agent proxy`. */
export const agentFlags: FlagSpec[] = [
  { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate' },
  { name: 'name', type: 'string', value: 'NAME', description: 'the workload (policy, AppRole and unit are named after it)' },
  { name: 'out', type: 'string', value: 'DIR', description: 'where the agent config, template, unit, role_id and secret_id go' },
  { name: 'user', type: 'string', value: 'SVCUSER', description: 'the service user the agent runs as (files are owned by it; default: the current user)' },
  { name: 'ca-file', type: 'string', value: 'FILE', description: 'CA the agent trusts for Vault\'s HTTPS (default: ~SVCUSER/.config/certwright/ca.pem if distributed, else a copy of --vault-ca)' },
  { name: 'agent-vault-addr', type: 'string', value: 'URL', description: 'the Vault address as the agent host reaches it (default: --vault-addr)' },
  { name: 'allow-http', type: 'boolean', description: 'accept a plain-HTTP Vault address for the agent (throwaway labs only)' },
  { name: 'token-period', type: 'string', value: 'DURATION', description: 'period of the agent\'s token (default 24h; renewed forever while the agent runs)' },
  { name: 'wrap-ttl', type: 'string', value: 'DURATION', description: 'how long the wrapped secret_id can be unwrapped (default 24h)' },
  { name: 'new-secret-id', type: 'boolean', description: 'deliver a fresh wrapped secret_id and destroy the old one (after an agent restart)' },
  { name: 'persistent-secret-id', type: 'boolean', description: 'write a plain secret_id the agent keeps (survives restarts unattended; a secret at rest, 0600)' },
  { name: 'token-sink', type: 'boolean', description: 'also write the agent\'s token to DIR/agent-token (mode 0600); default: no sink' },
  { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount (default approle; enabled when missing)' },
  { name: 'bao', type: 'string', value: 'PATH', description: 'the bao binary the unit runs (default: the one certwright finds here)' },
  { name: 'select', type: 'string', multiple: true, value: 'LABEL=VALUE', description: 'the hook reloads only tls=true containers that also carry this label (repeatable)' },
  { name: 'hook-state-dir', type: 'string', value: 'DIR', description: 'certwright home for the hook\'s event log (default: the service user\'s own)' },
];

export function buildAgentInput(ctx: CommandContext, kind: AgentKind, extra: Partial<AgentRolloutInput>): AgentRolloutInput {
  const out = ctx.flags.require('out');
  const bao = ctx.flags.string('bao') ?? safeFindBao();
  return {
    kind,
    mount: requireMount(ctx),
    name: ctx.flags.require('name'),
    altNames: [],
    ttlSeconds: 0,
    outDir: path.resolve(out),
    user: ctx.flags.string('user'),
    agentVaultAddr: ctx.flags.string('agent-vault-addr'),
    caFile: ctx.flags.string('ca-file'),
    allowHttp: ctx.flags.bool('allow-http'),
    tokenPeriodSeconds: parseDuration(ctx.flags.string('token-period') ?? '24h', '--token-period'),
    wrapTtlSeconds: parseDuration(ctx.flags.string('wrap-ttl') ?? '24h', '--wrap-ttl'),
    persistentSecretId: ctx.flags.bool('persistent-secret-id'),
    newSecretId: ctx.flags.bool('new-secret-id'),
    tokenSink: ctx.flags.bool('token-sink'),
    approleMount: (ctx.flags.string('approle-mount') ?? 'approle').replace(/^\/+|\/+$/g, '').replace(/^auth\//, ''),
    baoPath: path.resolve(bao),
    certwright: defaultCertwrightCommand(),
    select: parseSelectors(ctx.flags.list('select')),
    hookStateDir: ctx.flags.string('hook-state-dir'),
    ...extra,
  };
}

function safeFindBao(): string {
  try {
    const found = findBao();
    return fs.realpathSync(found);
  } catch {
    return '/usr/local/bin/bao';
  }
}

export async function runAgentCommand(ctx: CommandContext, input: AgentRolloutInput): Promise<number> {
  if (!/^[a-zA-Z0-9_/-]+$/.test(input.approleMount)) throw new UsageError(`--approle-mount "${input.approleMount}" is not a mount path.`, 'Pass e.g. --approle-mount approle.');
  const session = await openSession(ctx, `agent ${input.kind}`);
  try {
    const vault = vaultFor(ctx, session);
    const plan = await planAgentRollout(session, vault, input);
    if (!(await showPlan(ctx, `agent for ${input.kind} ${input.name}`, plan))) return 0;
    const result = await applyAgentRollout(session, vault, input, cliReporter());
    if (ctx.flags.bool('json')) {
      printJson(result);
      return 0;
    }
    const lines = [
      `Agent for ${input.kind} ${input.name} ${result.changed.length ? 'written' : 'already up to date'} in ${result.outDir} (secret_id ${result.secretId}: ${result.secretIdNote}).`,
      '',
      `Install and start it ${input.user ? `for ${input.user} (as root)` : 'for yourself'} — also saved as ${result.installScript}:`,
      ...result.installCommands.map((c) => `  ${c}`),
      '',
      `Logs: journalctl --user -u ${result.unit}${input.user ? ` (as ${input.user})` : ''}`,
    ];
    if (result.restartNeeded) {
      lines.push(
        '',
        'The agent config or template changed. An agent reads them only at start, so restart it;',
        `a restarted agent has no secret_id (it was consumed), so first run this command again with --new-secret-id, then:`,
        `  systemctl --user ${input.user ? `-M ${input.user}@ ` : ''}restart ${result.unit}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    session.close();
  }
}

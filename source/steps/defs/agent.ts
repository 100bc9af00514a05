import os from 'node:os';
import { DEFAULT_MOUNT } from '../../defaults.js';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../duration.js';
import { certwrightHome, validateMountPath } from '../../paths.js';
import { findBaoReal } from '../../system/openbao.js';
import { parseSelectors } from '../inputs.js';
import { defineStep, type StepInput, type StepDefinition, type StepRun } from '../step.js';
import type { AgentKind } from '../../agent/render.js';
import type { AgentPlan, AgentRolloutInput, AgentRolloutResult } from '../agent-rollout.js';

const impl = () => import('../agent-rollout.js');

/** Inputs shared by `agent app` and `agent proxy`. */
const agentInputs: StepInput[] = [
  { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
  { name: 'name', type: 'string', value: 'NAME', description: 'the workload (policy, AppRole and unit are named after it)', required: true },
  { name: 'out', type: 'string', value: 'DIR', description: 'where the agent config, template, unit, role_id and secret_id go', required: true },
  { name: 'user', type: 'string', value: 'SVCUSER', description: 'the service user the agent runs as (files are owned by it)', defaultText: 'the current user' },
  { name: 'ca-file', type: 'string', value: 'FILE', description: 'CA the agent trusts for Vault\'s HTTPS', defaultText: '~SVCUSER/.config/certwright/ca.pem if distributed, else a copy of --vault-ca' },
  { name: 'agent-vault-addr', type: 'string', value: 'URL', description: 'the Vault address as the agent host reaches it', defaultText: '--vault-addr' },
  { name: 'allow-http', type: 'boolean', description: 'accept a plain-HTTP Vault address for the agent (throwaway labs only)' },
  { name: 'token-period', type: 'string', value: 'DURATION', description: 'period of the agent\'s token (renewed forever while the agent runs)', default: '24h' },
  { name: 'wrap-ttl', type: 'string', value: 'DURATION', description: 'how long the wrapped secret_id can be unwrapped', default: '24h' },
  { name: 'new-secret-id', type: 'boolean', description: 'deliver a fresh wrapped secret_id and destroy the old one (after an agent restart)' },
  { name: 'persistent-secret-id', type: 'boolean', description: 'write a plain secret_id the agent keeps (survives restarts unattended; a secret at rest, 0600)' },
  { name: 'token-sink', type: 'boolean', description: 'also write the agent\'s token to DIR/agent-token (mode 0600); default: no sink' },
  { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount (enabled when missing)', default: 'approle' },
  { name: 'bao', type: 'string', value: 'PATH', description: 'the bao binary the unit runs', defaultText: 'the one certwright finds here' },
  { name: 'select', type: 'string', multiple: true, value: 'LABEL=VALUE', description: 'the hook reloads only tls=true containers that also carry this label (repeatable)' },
  { name: 'hook-state-dir', type: 'string', value: 'DIR', description: 'certwright home for the hook\'s event log', defaultText: 'the state location this command runs with (--state-dir or CERTWRIGHT_HOME); with --user, the service user\'s own' },
  { name: 'install', type: 'boolean', description: 'install the unit into SVCUSER\'s systemd (as root: systemctl --user -M SVCUSER@), start it and wait until it is active and has rendered' },
  { name: 'uninstall', type: 'boolean', description: 'stop, disable and remove the unit, destroy the agent\'s secret_ids and remove the files in --out (the TLS dir and the Vault roles stay)' },
];

async function baseInput(run: StepRun, kind: AgentKind): Promise<AgentRolloutInput> {
  const f = run.flags;
  if (f.bool('install') && f.bool('uninstall')) throw new UsageError('--install and --uninstall cannot be given together.', 'Pass one of them.');
  if (f.bool('uninstall') && (f.bool('new-secret-id') || f.bool('persistent-secret-id'))) throw new UsageError('--uninstall removes the agent; --new-secret-id and --persistent-secret-id make no sense with it.', 'Drop them.');
  const approleMount = f.string('approle-mount')!.replace(/^\/+|\/+$/g, '').replace(/^auth\//, '');
  if (!/^[a-zA-Z0-9_/-]+$/.test(approleMount)) throw new UsageError(`--approle-mount "${approleMount}" is not a mount path.`, 'Pass e.g. --approle-mount approle.');
  const { validateWorkloadName, defaultCertwrightCommand } = await impl();
  return {
    kind,
    mount: validateMountPath(f.string('mount')!),
    name: validateWorkloadName(f.require('name')),
    altNames: [],
    ttlSeconds: 0,
    outDir: path.resolve(f.require('out')),
    user: f.string('user'),
    agentVaultAddr: f.string('agent-vault-addr'),
    caFile: f.string('ca-file') ? path.resolve(f.string('ca-file')!) : undefined,
    allowHttp: f.bool('allow-http'),
    tokenPeriodSeconds: parseDuration(f.string('token-period')!, '--token-period'),
    wrapTtlSeconds: parseDuration(f.string('wrap-ttl')!, '--wrap-ttl'),
    persistentSecretId: f.bool('persistent-secret-id'),
    newSecretId: f.bool('new-secret-id'),
    tokenSink: f.bool('token-sink'),
    approleMount,
    baoPath: path.resolve(f.string('bao') ?? findBaoReal() ?? '/usr/local/bin/bao'),
    certwright: defaultCertwrightCommand(),
    select: parseSelectors(f.list('select')),
    hookStateDir: hookStateDir(run, f.string('user')),
    install: f.bool('install'),
    uninstall: f.bool('uninstall'),
  };
}

/**
 * The hook writes its events where the environment it was generated for keeps its state: the
 * generated command carries --state-dir, so a lab's (or any --state-dir) agent never writes into
 * the operator's real home and its status shows the events. Only when the state location is the
 * implicit per-user one and the agent runs as another user is it left to that user's own home.
 */
function hookStateDir(run: StepRun, user: string | undefined): string | undefined {
  const given = run.flags.string('hook-state-dir');
  if (given) return path.resolve(given);
  // An agent of another user runs its hook as that user, who cannot write this state (0700):
  // its events go to the service user's own home unless --hook-state-dir names a place.
  if (user && user !== os.userInfo().username) return undefined;
  return certwrightHome(run.home);
}

function presentAgent(input: AgentRolloutInput, result: AgentRolloutResult): string {
  if (result.uninstalled) {
    return [`Agent for ${input.kind} ${input.name} removed${result.uninstalled.removed.length ? '' : ' (nothing was left)'}: ${result.unit} is gone from ${result.uninstalled.user}'s systemd, secret_id ${result.secretIdNote}.`, ...result.uninstalled.removed.map((f) => `  removed ${f}`)].join('\n');
  }
  if (result.installed) {
    const state = result.installed.checks.find((c) => c.name === 'unit active')?.detail ?? '';
    return [
      `Agent for ${input.kind} ${input.name} ${result.changed.length ? 'installed' : 'already installed and running'} for ${result.installed.user}: ${result.installed.unitPath} (secret_id ${result.secretId}: ${result.secretIdNote}).`,
      `  ${state}`,
      ...result.installed.checks.filter((c) => c.name.startsWith('first render')).map((c) => `  ${c.name}: ${c.detail}`),
      '',
      `Logs: journalctl _SYSTEMD_USER_UNIT=${result.unit} (as root)${input.user ? `, or journalctl --user -u ${result.unit} as ${input.user}` : ''}`,
    ].join('\n');
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
      'a restarted agent has no secret_id (it was consumed), so first run this command again with --new-secret-id, then:',
      `  systemctl --user ${input.user ? `-M ${input.user}@ ` : ''}restart ${result.unit}`,
    );
  }
  return lines.join('\n');
}

function agentStep(kind: AgentKind, extra: StepInput[], finish: (run: StepRun, input: AgentRolloutInput) => AgentRolloutInput, summary: string, usage: string): StepDefinition<AgentRolloutInput, AgentPlan, AgentRolloutResult> {
  return defineStep<AgentRolloutInput, AgentPlan, AgentRolloutResult>({
    id: `agent-${kind}`,
    command: `agent ${kind}`,
    title: kind === 'app' ? 'App agent' : 'Proxy agent',
    summary,
    usage,
    mutates: true,
    where: 'online',
    session: 'required',
    inputs: [...agentInputs, ...extra],
    parse: async (run) => finish(run, await baseInput(run, kind)),
    planTitle: (input) => `agent for ${input.kind} ${input.name}`,
    async plan(run, input) {
      return (await impl()).planAgentRollout(run.session, run.vault(), input);
    },
    async apply(run, input) {
      return (await impl()).applyAgentRollout(run.session, run.vault(), input, run.report);
    },
    present: (result, input) => presentAgent(input, result),
  });
}

export const agentApp = agentStep(
  'app',
  [
    { name: 'common-name', type: 'string', value: 'CN', description: 'the leaf\'s main DNS name', required: true },
    { name: 'alt-names', type: 'string', value: 'NAMES', description: 'more DNS names and IP addresses (comma-separated)' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'leaf lifetime (the agent renews at about 90%)', default: '72h' },
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'where the hook swaps key + cert + chain (current/, previous/, versions/)', required: true },
  ],
  (run, input) => ({ ...input, commonName: run.flags.require('common-name'), altNames: run.flags.csv('alt-names'), ttlSeconds: parseDuration(run.flags.string('ttl')!), tlsDir: path.resolve(run.flags.require('tls-dir')) }),
  'Everything an app\'s agent host needs: a policy that may issue only on the app\'s own PKI role (exactly its names), an AppRole with a periodic token, role_id and a response-wrapped secret_id (0600, owned by SVCUSER), the agent config (AppRole auto_auth, HTTPS with ca_cert, pkiCert template, exec of `certwright hook`), a minimal systemd user unit, and the commands that install it.',
  'agent app --env E --mount PATH --name APP --common-name CN [--alt-names NAMES] [--ttl DURATION] --tls-dir DIR --out DIR [--user SVCUSER] [--vault-addr URL] [--ca-file FILE]',
);

export const agentProxy = agentStep(
  'proxy',
  [{ name: 'ca-out', type: 'string', value: 'FILE', description: 'where the proxy reads the CA chain (written by the hook)', required: true }],
  (run, input) => ({ ...input, caOut: path.resolve(run.flags.require('ca-out')) }),
  'Like `agent app`, for a reverse proxy: the policy may only read the issuing CA chain, the template renders that chain, and the hook writes it to the proxy\'s trust file (--ca-out) and reloads its containers.',
  'agent proxy --env E --mount PATH --name NAME --ca-out FILE --out DIR [--user SVCUSER] [--vault-addr URL] [--ca-file FILE]',
);

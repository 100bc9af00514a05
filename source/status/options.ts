import type { CommandContext } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { UsageError } from '../errors.js';
import { DEFAULT_TRUST_PATH, type StatusOptions } from './context.js';

/** Flags shared by `status` and `doctor`: what to look at and the warning window. */
export const inspectFlags: FlagSpec[] = [
  { name: 'warn-days', type: 'string', value: 'N', description: 'warning window: certificates expiring within N days are a warning (default: when under a third of each certificate\'s lifetime is left)' },
  { name: 'root', type: 'string', value: 'FILE', description: 'the environment\'s root certificate (default: the root ceremony\'s root-ca.pem)' },
  { name: 'mount', type: 'string', multiple: true, value: 'PATH', description: 'a PKI mount to check besides those in the state (repeatable)' },
  { name: 'cert-dir', type: 'string', multiple: true, value: 'DIR', description: 'a directory of certificate files to check besides those certwright wrote (repeatable)' },
  { name: 'agent-config', type: 'string', multiple: true, value: 'FILE', description: 'an agent config to check besides the agents certwright rolled out (repeatable)' },
  { name: 'users', type: 'string', value: 'U1,U2', description: 'service users whose CA trust file to check besides the agents\' users' },
  { name: 'trust-path', type: 'string', value: 'RELPATH', description: `each service user's trust file, relative to the home (default ${DEFAULT_TRUST_PATH})` },
  { name: 'select', type: 'string', multiple: true, value: 'LABEL=VALUE', description: 'only containers that carry this label (repeatable, ANDed; status also requires tls=true)' },
];

export function statusOptions(ctx: CommandContext): StatusOptions {
  const f = ctx.flags;
  const warnDays = f.int('warn-days', { min: 0, max: 3650 }) ?? null;
  const select = f.list('select');
  for (const s of select) if (!/^[A-Za-z0-9][A-Za-z0-9_.\/-]*=[^\s,]*$/.test(s)) throw new UsageError(`--select "${s}" is not LABEL=VALUE.`, 'Pass --select app=web (ANDed with tls=true); repeat it for more labels.');
  const trustPath = f.string('trust-path') ?? DEFAULT_TRUST_PATH;
  if (trustPath.startsWith('/') || trustPath.split('/').includes('..')) throw new UsageError(`--trust-path "${trustPath}" is not a path inside the home directory.`, `Pass a relative path, e.g. --trust-path ${DEFAULT_TRUST_PATH}.`);
  return {
    env: f.string('env'),
    home: ctx.home,
    warnDays,
    vaultAddr: f.string('vault-addr'),
    vaultCa: f.string('vault-ca'),
    rootFile: f.string('root'),
    mounts: f.list('mount').map((m) => m.replace(/^\/+|\/+$/g, '')),
    certDirs: f.list('cert-dir'),
    agentConfigs: f.list('agent-config'),
    users: f.csv('users'),
    trustPath,
    select,
    pkiTtlMs: 60_000,
  };
}

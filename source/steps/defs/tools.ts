import path from 'node:path';
import { UsageError } from '../../errors.js';
import { validateMountPath, envPaths, validateEnvName } from '../../paths.js';
import { parseDuration } from '../../duration.js';
import { validateUserName } from '../../system/users.js';
import { readTextFile } from '../../system/files.js';
import { parseSelectors } from '../inputs.js';
import { defineStep } from '../step.js';
import type { Plan } from '../context.js';
import type { RevokeResult } from '../revoke.js';
import type { HashdirEntry } from '../hashdir.js';
import type { DistributeInput, UserOutcome } from '../distribute-ca.js';
import type { HookInput, HookResult } from '../hook.js';

import { DEFAULT_TRUST_PATH } from '../../defaults.js';

export const revoke = defineStep<{ mount: string; serial: string }, Plan, RevokeResult>({
  id: 'revoke',
  command: 'revoke',
  title: 'Revoke a certificate',
  summary: 'Online: revokes a build certificate, or a build-server intermediate signed by the mount, by serial; then checks the serial is in the CRL the mount publishes. Idempotent.',
  usage: 'revoke --mount PATH --serial SERIAL',
  mutates: true,
  where: 'online',
  session: 'none',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'the PKI mount that issued (or signed) the certificate', required: true },
    { name: 'serial', type: 'string', value: 'SERIAL', description: 'serial number, hex with or without colons', required: true },
  ],
  parse: (run) => ({ mount: validateMountPath(run.flags.require('mount')), serial: run.flags.require('serial') }),
  planTitle: (input) => `revoke ${input.serial} in ${input.mount}`,
  async plan(run, input) {
    return (await import('../revoke.js')).planRevoke(run.vault(), input.mount, input.serial);
  },
  async apply(run, input) {
    return (await import('../revoke.js')).applyRevoke(run.vault(), input.mount, input.serial, run.report);
  },
  present: (r) => `Revoked: ${r.serial} (${r.subject})${r.alreadyRevoked ? ', already before' : ''}${r.inCrl ? `; listed in the CRL of ${r.crlIssuer}` : ''}`,
});

export const hashdir = defineStep<{ outDir: string; files: string[] }, Plan, HashdirEntry[]>({
  id: 'hashdir',
  command: 'hashdir',
  title: 'OpenSSL hash directory',
  summary: 'Offline: writes an OpenSSL -CApath directory: each certificate of FILES (bundles are split) as its own PEM file plus a <subject_hash>.N link to it. Idempotent.',
  usage: 'hashdir --out DIR FILES...',
  mutates: true,
  where: 'anywhere',
  session: 'none',
  inputs: [{ name: 'out', type: 'string', value: 'DIR', description: 'the hash directory (created when missing)', required: true }],
  parse: (run) => ({ outDir: path.resolve(run.flags.require('out')), files: run.positionals }),
  planTitle: (input) => `hash directory ${input.outDir}`,
  async plan(_run, input) {
    return (await import('../hashdir.js')).planHashdir(input.outDir, input.files);
  },
  async apply(_run, input) {
    return (await import('../hashdir.js')).applyHashdir(input.outDir, input.files);
  },
  json: (entries, input) => ({ dir: input.outDir, entries }),
  present: (entries, input) => [...entries.map((e) => `${e.link} -> ${path.basename(e.file)}  ${e.subject}${e.added ? '' : ' (already there)'}`), `Use it with: openssl verify -CApath ${input.outDir} ...`].join('\n'),
});

export const distributeCa = defineStep<DistributeInput, Plan, UserOutcome[]>({
  id: 'distribute-ca',
  command: 'distribute-ca',
  title: 'CA distribution',
  summary: 'Copies a CA file into each service user\'s trust path (owned by that user, 0644 inside a 0700 directory). Identical content is not rewritten. Reports per user; exits non-zero when any user failed.',
  usage: 'distribute-ca --ca FILE --users U1,U2 [--path RELPATH]',
  mutates: true,
  where: 'online',
  session: 'none',
  inputs: [
    // The wizard offers the environment's root and the users its agents run as; the CLI insists on both.
    { name: 'ca', type: 'string', value: 'FILE', description: 'the CA certificate(s) to distribute (PEM, no key)', required: true, suggest: ({ state }) => (typeof state?.steps['root-create']?.facts.rootDir === 'string' ? path.join(state.steps['root-create'].facts.rootDir, 'root-ca.pem') : undefined) },
    {
      name: 'users',
      type: 'string',
      value: 'U1,U2',
      description: 'the service users (comma-separated)',
      required: 'the accounts the agents run as',
      suggest: ({ state }) => [...new Set(Object.values(state?.steps ?? {}).flatMap((s) => (/^agent-(app|proxy)-/.test(s.id) && typeof s.facts.user === 'string' && s.facts.user ? [s.facts.user] : [])))].join(',') || undefined,
    },
    { name: 'path', type: 'string', value: 'RELPATH', description: 'path inside each home (which `agent app|proxy --user` picks up)', default: DEFAULT_TRUST_PATH },
  ],
  async parse(run) {
    const users = run.flags.csv('users');
    if (users.length === 0) throw new UsageError('--users is required.', 'Pass --users U1,U2 (the accounts the agents run as).');
    users.forEach((u) => validateUserName(u, '--users'));
    const { validateRelPath } = await import('../distribute-ca.js');
    return { caFile: path.resolve(run.flags.require('ca')), users: [...new Set(users)], relPath: validateRelPath(run.flags.string('path')!) };
  },
  planTitle: () => 'distribute the CA',
  async plan(_run, input) {
    return (await import('../distribute-ca.js')).planDistributeCa(input);
  },
  async apply(run, input) {
    return (await import('../distribute-ca.js')).applyDistributeCa(input, run.report);
  },
  present(outcomes) {
    const lines = outcomes.map((o) => `${o.user}\t${o.status}\t${o.path || '-'}\t${o.detail}`);
    const bad = outcomes.filter((o) => o.status === 'failed');
    if (bad.length) process.stderr.write(`Error: the CA was not distributed to ${bad.map((o) => o.user).join(', ')}.\nFix: see each user's line above, then run the same command again (users already done are not rewritten).\n`);
    return lines.join('\n');
  },
  exitCode: (outcomes) => (outcomes.some((o) => o.status === 'failed') ? 1 : 0),
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const hook = defineStep<HookInput, Plan, HookResult>({
  id: 'hook',
  command: 'hook',
  title: 'Certificate swap hook',
  summary: 'What the agent runs after rendering: checks the payload (key matches cert, chain verifies), swaps key + cert + chain together (versioned dir + symlink) or writes the proxy CA chain, reloads running containers labelled tls=true, rolls back if a reload fails.',
  usage: 'hook [--payload FILE|-] (--tls-dir DIR | --ca-out FILE) [--trust FILE] [--env E] [--name NAME] [--select LABEL=VALUE]...',
  mutates: true,
  where: 'online',
  session: 'none',
  inputs: [
    { name: 'payload', type: 'string', value: 'FILE', description: 'the rendered JSON payload', defaultText: 'stdin' },
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'app: where key, cert and chain are swapped (versions/, current, previous)' },
    { name: 'ca-out', type: 'string', value: 'FILE', description: 'proxy: where the CA chain is written (old one kept as FILE.previous)' },
    { name: 'trust', type: 'string', value: 'FILE', description: 'the pinned root(s) the chain must end at (trust-root.pem from `agent app|proxy`)' },
    { name: 'name', type: 'string', value: 'NAME', description: 'the workload, for the event log', default: 'unnamed' },
    { name: 'select', type: 'string', multiple: true, value: 'LABEL=VALUE', description: 'only containers that also carry this label (repeatable; ANDed with tls=true)' },
    { name: 'reload-label', type: 'string', value: 'LABEL', description: 'container label holding the reload command', default: 'tls.reload' },
    { name: 'default-reload', type: 'string', value: 'CMD', description: 'reload command when the label is absent', default: 'nginx -s reload' },
    { name: 'podman', type: 'string', value: 'PATH', description: 'podman binary', default: 'podman' },
    { name: 'keep', type: 'string', value: 'N', description: 'versions kept in the TLS dir (at least 2)', default: '3' },
    { name: 'check-timeout', type: 'string', value: 'DURATION', description: 'how long a container with a tls.check label may take to serve the new certificate', default: '15s' },
  ],
  async parse(run) {
    const f = run.flags;
    const tlsDir = f.string('tls-dir');
    const caOut = f.string('ca-out');
    if (tlsDir && caOut) throw new UsageError('--tls-dir and --ca-out are for different payloads.', 'Pass --tls-dir for an app (leaf) payload, --ca-out for a proxy (CA chain) payload.');
    if (!tlsDir && !caOut) throw new UsageError('The hook needs --tls-dir (app leaf) or --ca-out (proxy CA chain).', 'Pass the flags the generated agent config uses: --tls-dir DIR or --ca-out FILE.');
    const source = f.string('payload');
    let payloadText: string;
    let payloadSource: string;
    if (source && source !== '-') {
      payloadText = await readTextFile(source, '--payload');
      payloadSource = source;
    } else {
      if (process.stdin.isTTY) throw new UsageError('No payload: --payload is missing and stdin is a terminal.', 'Pass --payload FILE (the file the agent template rendered) or pipe the JSON on stdin.');
      payloadText = await readStdin();
      payloadSource = 'the payload on stdin';
    }
    const env = f.string('env');
    const name = f.string('name')!;
    const [{ EventLog }, { Podman }] = await Promise.all([import('../../hook/events.js'), import('../../system/podman.js')]);
    const events = new EventLog(env ? envPaths(validateEnvName(env), run.home).events : undefined, env ?? '', `${tlsDir ? 'app' : 'proxy'}/${name}`);
    return {
      payloadText,
      payloadSource,
      tlsDir,
      caOut,
      trustFile: f.string('trust'),
      select: parseSelectors(f.list('select')),
      reloadLabel: f.string('reload-label')!,
      defaultReload: f.string('default-reload')!,
      podman: new Podman(f.string('podman')!),
      keep: f.int('keep', { min: 2, max: 100 })!,
      checkTimeoutMs: parseDuration(f.string('check-timeout')!, '--check-timeout') * 1000,
      events,
    };
  },
  planTitle: () => 'hook',
  async plan(run, input) {
    try {
      return await (await import('../hook.js')).planHook(input);
    } catch (error) {
      // A refused payload is an event the operator will look for (a dry run writes nothing).
      if (!run.dryRun) input.events.append('verify-failed', { detail: (error as Error).message });
      throw error;
    }
  },
  async apply(run, input) {
    const { applyHook, HookFailure } = await import('../hook.js');
    try {
      return await applyHook(input, run.report);
    } catch (error) {
      if (error instanceof HookFailure && run.flags.bool('json')) process.stdout.write(`${JSON.stringify(error.result, null, 2)}\n`);
      throw error;
    }
  },
  present(result) {
    if (!result.changed) return `Unchanged: ${result.target}.`;
    const ok = result.containers.filter((c) => c.ok).length;
    return `${result.event === 'chain-updated' ? 'CA chain updated' : result.event === 'issued' ? 'Issued' : 'Rotated'}: ${result.target}${result.version ? ` (version ${result.version})` : ''}; ${result.reloadSkipped ? 'no container reloaded' : `${ok} container(s) reloaded`}.`;
  },
});

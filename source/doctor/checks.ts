import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StatusContext } from '../status/context.js';
import type { StatusSnapshot } from '../status/types.js';
import { readAgentConfig, type AgentConfig } from '../status/agent-config.js';
import { certificateArtefacts } from '../status/estate.js';
import { listContainers, inspectContainers, type ContainerDetail, type ListedContainer as ContainerInfo } from '../system/podman.js';
import { handshake, endpointOf } from '../system/tls-probe.js';
import { managedTlsDirs } from '../status/sections/containers.js';
import { readRole } from '../status/vault-reads.js';
import { AUDIT_NON_HMAC_REQUEST_KEYS, AUDIT_NON_HMAC_RESPONSE_KEYS, AUTO_TIDY, tuningChanges, upkeepChanges } from '../vault/mount-health.js';
import { userHome } from '../status/users.js';
import { listeningPorts, processIds } from './listeners.js';
import type { CheckId, Finding } from './types.js';

/**
 * Doctor's checks. Each reads the world afresh (files, /proc, podman, Vault) or the status
 * snapshot, and returns what it found with the exact fix — or why it could not look.
 */
export interface CheckOutcome {
  id: CheckId;
  findings: Finding[];
  /** Set when the check could not run at all. */
  unknown?: string;
  /** What the check looked at, for the report. */
  looked?: string;
}

export interface DoctorInputs {
  ctx: StatusContext;
  snapshot: StatusSnapshot;
  composeFiles: string[];
  unitFiles: string[];
}

function lines(file: string): string[] | undefined {
  return readLines(file).text;
}

/** A file's lines, or why it could not be read (its error code). */
function readLines(file: string): { text?: string[]; why?: string } {
  try {
    return { text: fs.readFileSync(file, 'utf8').split('\n') };
  } catch (error) {
    return { why: `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
}

/**
 * The one rule for every check: evidence that could not be read makes the check "not checked:
 * why", never a tick. What was found is still reported (state "found"); `looked` says what was read.
 */
export function outcome(id: CheckId, findings: Finding[], looked: string, missing: string[]): CheckOutcome {
  return missing.length ? { id, findings, unknown: missing.join('; '), looked } : { id, findings, looked };
}

/** The part of a mount's reason that says why one of its fields could not be read ("URLs: ..."). */
function unread(m: { path: string; reason?: string }, field: 'keys' | 'roles' | 'URLs'): string {
  const part = (m.reason ?? '').split('; ').find((r) => r.startsWith(`${field}: `));
  return `${m.path}: ${field === 'URLs' ? 'AIA/CRL URLs' : field} could not be read${part ? ` (${part.slice(field.length + 2)})` : m.reason ? ` (${m.reason})` : ''}`;
}

// ---------------------------------------------------------------- compose files

export function composeFilesOf(ctx: StatusContext, extra: string[]): string[] {
  const out = [...extra];
  if (ctx.facts.outDir) for (const n of ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'podman-compose.yml']) if (fs.existsSync(path.join(ctx.facts.outDir, n))) out.push(path.join(ctx.facts.outDir, n));
  return [...new Set(out.map((f) => path.resolve(f)))];
}

export function checkCompose(files: string[]): CheckOutcome[] {
  const keepId: Finding[] = [];
  const chown: Finding[] = [];
  const missing: string[] = [];
  for (const file of files) {
    const { text, why } = readLines(file);
    if (!text) {
      missing.push(why!);
      continue;
    }
    const all = text.join('\n');
    const skipChown = /SKIP_CHOWN/.test(all);
    const vaultImage = /image:\s*["']?[^\s"']*(openbao|vault)/i.test(all);
    text.forEach((l, i) => {
      const line = i + 1;
      if (/^\s*#/.test(l)) return;
      if (/userns(_mode)?\s*[:=]\s*["']?keep-id/i.test(l) || /--userns[= ]keep-id/.test(l)) {
        keepId.push({
          check: 'compose-keep-id',
          level: 'fail',
          subject: `${file}:${line}`,
          message: `${l.trim()} — keep-id applies to rootless Podman only, makes your host UID the container's default user (overriding the image's root or service user) and drops capabilities, so entrypoints that chown or bind low ports fail`,
          fix: `Remove "${l.trim()}" from ${file} line ${line}; give the mounted files the container user's uid on the host instead (chown UID:GID DIR), or map it explicitly with userns_mode: "keep-id:uid=UID,gid=GID".`,
          file,
          line,
        });
      }
      if (/\bchown\b/.test(l) && /(command|entrypoint|^\s*-\s)/.test(l)) {
        chown.push({ check: 'compose-chown', level: 'fail', subject: `${file}:${line}`, message: `the container runs chown at start (${l.trim()}); on read-only or foreign-owned mounts it fails and the container exits`, fix: `Drop the chown from ${file} line ${line} and set the owner on the host once: chown -R UID:GID SOURCE_DIR (the uid the container runs as).`, file, line });
      }
      const vol = /^\s*-\s*["']?([^"'\s:]+):(\/(?:openbao|vault)\/(?:file|logs|data))(:[A-Za-z,]+)?/.exec(l);
      if (vol && vaultImage && !skipChown) {
        chown.push({
          check: 'compose-chown',
          level: 'fail',
          subject: `${file}:${line}`,
          message: `${vol[2]} is mounted from ${vol[1]} and the OpenBao/Vault entrypoint chowns it at start unless SKIP_CHOWN is set; a failed chown aborts the container`,
          fix: `Add SKIP_CHOWN: "1" to the service's environment in ${file} and make ${vol[1]} writable by the container's uid on the host (chown UID:GID ${vol[1]}).`,
          file,
          line,
        });
      }
      const u = /^\s*-\s*["']?[^"'\s:]+:[^"'\s:]+:([A-Za-z,]*\bU\b[A-Za-z,]*)["']?\s*$/.exec(l);
      if (u) {
        chown.push({ check: 'compose-chown', level: 'warn', subject: `${file}:${line}`, message: `the volume suffix :${u[1]} makes Podman chown the host directory to the container's uid on every start`, fix: `Remove the U from the suffix in ${file} line ${line} and chown the directory on the host once instead.`, file, line });
      }
    });
  }
  if (files.length === 0) missing.push('no compose file is known (vault-https writes one; pass --compose FILE)');
  const looked = `${files.length - missing.length} compose file(s)`;
  return [outcome('compose-keep-id', keepId, looked, missing), outcome('compose-chown', chown, looked, missing)];
}

// ---------------------------------------------------------------- user units

export async function unitFilesOf(ctx: StatusContext, extra: string[]): Promise<string[]> {
  const out = [...extra];
  for (const a of ctx.agents) {
    if (a.unit) out.push(path.join(a.outDir, a.unit));
  }
  const users = new Set([...ctx.agents.map((a) => a.user).filter((u): u is string => Boolean(u)), ...ctx.options.users]);
  for (const user of users) {
    const home = await userHome(user, ctx.signal);
    if (!home.ok) continue;
    const dir = path.join(home.home, '.config', 'systemd', 'user');
    try {
      for (const f of fs.readdirSync(dir)) if (f.endsWith('.service')) out.push(path.join(dir, f));
    } catch {
      /* no user units installed */
    }
  }
  return [...new Set(out.map((f) => path.resolve(f)))].filter((f) => fs.existsSync(f) || extra.includes(f));
}

const UNIT_DIRECTIVES: Array<[RegExp, string]> = [
  [/^\s*(CapabilityBoundingSet|AmbientCapabilities)\s*=/, '218/CAPABILITIES: a user manager cannot drop or raise capabilities'],
  [/^\s*SecureBits\s*=/, '213/SECUREBITS: a user manager cannot set secure bits'],
  [/^\s*(User|Group)\s*=/, '216/GROUP or 217/USER: a user manager runs units only as its own user'],
];

export function checkUnits(files: string[]): CheckOutcome {
  const findings: Finding[] = [];
  const missing: string[] = [];
  for (const file of files) {
    const { text, why } = readLines(file);
    if (!text) {
      missing.push(why!);
      continue;
    }
    const privateUsers = text.some((l) => /^\s*PrivateUsers\s*=\s*(yes|true|1|on)\s*$/i.test(l));
    const unit = path.basename(file);
    text.forEach((l, i) => {
      for (const [re, why] of UNIT_DIRECTIVES) {
        if (!re.test(l)) continue;
        if (privateUsers && /Capabilit/.test(l)) continue;
        findings.push({
          check: 'unit-capabilities',
          level: 'fail',
          subject: `${file}:${i + 1}`,
          message: `${l.trim()} in a user unit — the agent dies at start with ${why}`,
          fix: `Delete line ${i + 1} ("${l.trim()}") from ${file}, then run: systemctl --user daemon-reload && systemctl --user restart ${unit} (as the service user; certwright agent app|proxy never writes it).`,
          file,
          line: i + 1,
        });
      }
    });
  }
  if (files.length === 0) missing.push('no user unit file is known (agents record theirs; pass --unit FILE)');
  return outcome('unit-capabilities', findings, `${files.length - missing.length} user unit file(s)`, missing);
}

/** Why a status code means the unit never got to run its program (systemd.exec(5)). */
const EXEC_STATUS: Record<number, { name: string; directives: RegExp }> = {
  213: { name: 'SECUREBITS', directives: /^\s*SecureBits\s*=/ },
  216: { name: 'GROUP', directives: /^\s*Group\s*=/ },
  217: { name: 'USER', directives: /^\s*User\s*=/ },
  218: { name: 'CAPABILITIES', directives: /^\s*(CapabilityBoundingSet|AmbientCapabilities)\s*=/ },
};

/**
 * Agent units that really failed, as their user's systemd reports them (status's agents section:
 * ActiveState, ExecMainStatus, the journal). For the exec-setup statuses the directive to delete is
 * named from the unit file systemd actually loaded (FragmentPath).
 */
export async function checkFailedUnits(ctx: StatusContext, snapshot: StatusSnapshot): Promise<CheckOutcome> {
  const findings: Finding[] = [];
  const agents = snapshot.sections.agents.agents.filter((a) => a.unit.name);
  const reachable = agents.filter((a) => a.activeState !== null);
  if (agents.length === 0) return { id: 'unit-failed', findings, unknown: 'no agent unit is recorded (certwright agent app|proxy records them)' };
  if (reachable.length === 0) return { id: 'unit-failed', findings, unknown: `no agent's user systemd is reachable (${agents[0]!.unit.reason ?? 'unknown'})` };
  const { userUnitState } = await import('../status/systemd.js');
  for (const a of reachable) {
    const unit = a.unit.name!;
    const restarting = a.activeState === 'activating' && (a.execMainStatus ?? 0) !== 0;
    if (a.activeState !== 'failed' && !restarting) continue;
    const who = a.user ? `${a.user}@` : '';
    const sys = (args: string) => `systemctl --user ${a.user ? `-M ${who} ` : ''}${args}`;
    const status = a.execMainStatus ?? 0;
    const known = EXEC_STATUS[status];
    const state = await userUnitState(unit, a.user, ctx.signal);
    const file = state.fragmentPath;
    const text = file ? lines(file) : undefined;
    const hits = known && text ? text.map((l, i) => ({ l: l.trim(), n: i + 1 })).filter((x) => known.directives.test(x.l)) : [];
    const journal = (a.journal ?? []).slice(-3).join(' | ');
    const wrapped = a.config ? (lines(a.config) ?? []).some((l) => /remove_secret_id_file_after_reading\s*=\s*true/.test(l)) : false;
    const relogin = wrapped ? ` The agent's wrapped secret_id was spent at its first start, so also deliver a fresh one: re-run the same \`certwright agent ${a.kind} ...\` with --new-secret-id (with --install it also puts the generated unit back and restarts it).` : '';
    if (known && hits.length && file) {
      findings.push({
        check: 'unit-failed',
        level: 'fail',
        subject: `${unit}${a.user ? ` (${a.user})` : ''}`,
        message: `${a.activeState === 'failed' ? 'failed' : 'keeps failing'} with status=${status}/${known.name}: systemd could not apply ${hits.map((h) => `"${h.l}"`).join(', ')} (${file}:${hits.map((h) => h.n).join(',')}), which a user manager cannot do${journal ? `. Journal: ${journal}` : ''}`,
        fix: `Delete ${hits.map((h) => `line ${h.n} ("${h.l}")`).join(' and ')} from ${file}, then run${a.user ? ' as root' : ''}: ${sys('daemon-reload')} && ${sys(`restart ${unit}`)}.${relogin}`,
        file,
        line: hits[0]!.n,
      });
    } else {
      findings.push({
        check: 'unit-failed',
        level: 'fail',
        subject: `${unit}${a.user ? ` (${a.user})` : ''}`,
        message: `${a.activeState === 'failed' ? 'failed' : 'keeps failing'} with status=${status}${known ? `/${known.name}` : ''}${journal ? `. Journal: ${journal}` : ''}`,
        fix: `Read ${a.user ? `\`journalctl _SYSTEMD_USER_UNIT=${unit} + USER_UNIT=${unit}\` (as root)` : `\`journalctl --user -u ${unit}\``}, fix the cause, then ${sys(`restart ${unit}`)}.${relogin}`,
      });
    }
  }
  // An agent whose user systemd could not be asked is not checked, whatever the others say.
  const missing = agents.filter((a) => a.activeState === null).map((a) => `${a.unit.name}${a.user ? ` (${a.user})` : ''}: its user systemd is not reachable (${a.unit.reason ?? 'unknown'})`);
  return outcome('unit-failed', findings, `${reachable.length} agent unit(s) in their users' systemd`, missing);
}

/**
 * An agent that cannot verify Vault's certificate keeps running and retrying; only its journal
 * says why ("x509: certificate signed by unknown authority"). Seen there, the fix depends on the
 * config: no ca_cert at all, or one that is not the root that signed Vault's certificate.
 */
export async function checkUnknownAuthority(ctx: StatusContext, snapshot: StatusSnapshot): Promise<CheckOutcome> {
  const findings: Finding[] = [];
  const agents = snapshot.sections.agents.agents.filter((a) => a.unit.name && a.activeState !== null);
  if (agents.length === 0) return { id: 'agent-unknown-authority', findings, unknown: 'no agent unit\'s journal is readable (no user systemd reachable, or no agent recorded)' };
  const { unitLastLines } = await import('../status/systemd.js');
  const missing: string[] = [];
  for (const a of agents) {
    let owner: { name: string; uid: number } | null = null;
    if (a.user && a.user !== os.userInfo().username) {
      const home = await userHome(a.user, ctx.signal);
      if (!home.ok) {
        missing.push(`${a.unit.name} (${a.user}): the user cannot be looked up`);
        continue;
      }
      owner = { name: a.user, uid: home.uid };
    }
    const read = await unitLastLines(a.unit.name!, owner, 30, ctx.signal);
    if (read === null || read === undefined) {
      missing.push(`${a.unit.name}${a.user ? ` (${a.user})` : ''}: its journal could not be read`);
      continue;
    }
    const journal = read;
    const hit = [...journal].reverse().find((l) => /x509: certificate signed by unknown authority|certificate is not trusted|unknown authority/i.test(l));
    if (!hit) continue;
    const cfg = readAgentConfig(a.config);
    const caCert = cfg.ok ? cfg.config.vault.caCert : undefined;
    const managed = ctx.agents.find((m) => m.name === a.name && m.kind === a.kind);
    const rerun = managed ? `certwright agent ${a.kind} --name ${a.name} ... --ca-file ROOT${a.user ? ` --user ${a.user}` : ''}` : 'certwright agent app|proxy ... --ca-file ROOT';
    findings.push({
      check: 'agent-unknown-authority',
      level: 'fail',
      subject: `${a.unit.name}${a.user ? ` (${a.user})` : ''}`,
      message: `the agent cannot verify Vault's certificate: "${hit.trim().slice(0, 200)}" (journal); ${caCert ? `its ca_cert ${caCert} is not the root that signed it` : `${a.config} has no vault { ca_cert }, so it trusts only the system store`}`,
      fix: `${caCert ? `Point ca_cert in ${a.config} at the root that signed Vault's certificate` : `Add ca_cert = "<the root that signed Vault's certificate>" to the vault block of ${a.config}`} (distribute it with \`certwright distribute-ca --users ${a.user ?? 'USER'}\`), or re-run ${rerun}; then restart the unit.`,
      file: a.config,
    });
  }
  return outcome('agent-unknown-authority', findings, `the journals of ${agents.length - missing.length} agent unit(s)`, missing);
}

// ---------------------------------------------------------------- agent configs

export function agentConfigs(ctx: StatusContext): Array<{ name: string; config: AgentConfig | undefined; reason?: string; file: string }> {
  return ctx.agents.map((a) => {
    const r = readAgentConfig(a.config);
    return r.ok ? { name: a.name, config: r.config, file: a.config } : { name: a.name, config: undefined, reason: r.reason, file: a.config };
  });
}

export function checkAgentConfigs(configs: ReturnType<typeof agentConfigs>): CheckOutcome[] {
  const devNull: Finding[] = [];
  const quoted: Finding[] = [];
  const perms: Finding[] = [];
  for (const { config, file } of configs) {
    if (!config) continue;
    for (const sink of config.sinks) {
      if (sink.type === 'file' && sink.path === '/dev/null') {
        devNull.push({
          check: 'sink-dev-null',
          level: 'fail',
          subject: `${file}:${sink.line}`,
          message: 'the token sink writes to /dev/null: the sink\'s write check creates a temp file in /dev (permission denied for a service user; as root the device node is replaced by a file)',
          fix: `Remove the sink block at line ${sink.line} of ${file} (templates need no sink), or point it at a file in a directory the agent's user can write, e.g. path = "${path.join(path.dirname(file), 'agent-token')}" with mode = 0600.`,
          file,
          line: sink.line,
        });
      }
      if (sink.mode && sink.mode.type === 'string') {
        quoted.push({
          check: 'sink-mode-quoted',
          level: 'fail',
          subject: `${file}:${sink.line}`,
          message: `the sink's mode is the string "${sink.mode.value}": the agent refuses it ("could not parse 'mode' as integer")`,
          fix: `Write the mode as an unquoted HCL number in ${file}: mode = 0${sink.mode.value.replace(/^0+/, '') || '600'} (octal; 0600 = 384).`,
          file,
          line: sink.line,
        });
      }
    }
    for (const t of config.templates) {
      const dest = t.destination ?? '(no destination)';
      if (t.rendersKey && !t.perms) {
        perms.push({ check: 'template-key-perms', level: 'fail', subject: `${file}:${t.line}`, message: `the template writing ${dest} renders a private key but sets no perms: a new file gets 0644, readable by every user`, fix: `Add perms = "0600" to the template block at line ${t.line} of ${file}, then chmod 600 ${dest}.`, file, line: t.line });
      } else if (t.rendersKey && t.perms?.type === 'number' && !/^0/.test(t.perms.raw)) {
        perms.push({ check: 'template-key-perms', level: 'fail', subject: `${file}:${t.line}`, message: `perms = ${t.perms.raw} is a decimal number (mode ${t.perms.value.toString(8)}), not 0${t.perms.raw}`, fix: `Write perms = "0600" (a string, read as octal) in the template block at line ${t.line} of ${file}.`, file, line: t.line });
      }
      for (const target of t.keyWritesWithoutPerms) {
        perms.push({ check: 'template-key-perms', level: 'fail', subject: `${file}:${t.line}`, message: `writeToFile "${target}" writes a key without a perms argument (a new file gets 0644)`, fix: `Give the call its perms: {{ .Key | writeToFile "${target}" "" "" "0600" }} in ${t.source ?? file}.`, file, line: t.line });
      }
    }
  }
  const missing = configs.filter((c) => !c.config).map((c) => `agent ${c.name}: ${c.reason ?? `${c.file} cannot be read`}`);
  if (configs.length === 0) missing.push('no agent config is known (agents record theirs; pass --agent-config FILE)');
  const looked = `${configs.length - missing.length} agent config(s)`;
  return [outcome('sink-dev-null', devNull, looked, missing), outcome('sink-mode-quoted', quoted, looked, missing), outcome('template-key-perms', perms, looked, missing)];
}

/** Does each agent's ca_cert verify the certificate Vault actually serves at the agent's address? */
export async function checkAgentCa(ctx: StatusContext, configs: ReturnType<typeof agentConfigs>): Promise<CheckOutcome> {
  const findings: Finding[] = [];
  const unknown: string[] = [];
  let looked = 0;
  for (const { name, config, file, reason } of configs) {
    if (!config) {
      unknown.push(`agent ${name}: ${reason ?? `${file} cannot be read`}`);
      continue;
    }
    const addr = config.vault.address ?? ctx.vault?.addr;
    if (!addr || !/^https:/.test(addr)) continue;
    const ep = endpointOf(addr);
    if (!ep) continue;
    let ca: string | undefined;
    if (config.vault.caCert) {
      try {
        ca = fs.readFileSync(config.vault.caCert, 'utf8');
      } catch (error) {
        findings.push({ check: 'agent-ca-mismatch', level: 'fail', subject: `agent ${name}`, message: `its ca_cert ${config.vault.caCert} cannot be read (${(error as NodeJS.ErrnoException).code}): the agent cannot verify Vault`, fix: `Distribute the environment's root: certwright distribute-ca --ca ROOT --users USER, and point vault { ca_cert } in ${file} at it.`, file });
        continue;
      }
    }
    try {
      const served = await handshake(ep.host, ep.port, { ca, timeoutMs: 4000, signal: ctx.signal });
      looked += 1;
      const chainError = served.authorizationError && !/altname|Hostname|IP:/i.test(served.authorizationError);
      if (!ca || chainError) {
        findings.push({
          check: 'agent-ca-mismatch',
          level: 'fail',
          subject: `agent ${name}`,
          message: ca
            ? `Vault at ${addr} presents a certificate its ca_cert ${config.vault.caCert} does not verify (${served.authorizationError}): the agent fails with "x509: certificate signed by unknown authority"`
            : `the agent has no ca_cert and Vault at ${addr} is served by a private CA: the agent fails with "certificate signed by unknown authority"`,
          fix: `Point vault { ca_cert } in ${file} at the environment's root${ctx.root ? ` (${ctx.root.file})` : ''}, distributed with certwright distribute-ca --ca ROOT --users USER, then restart the agent.`,
          file,
        });
      }
    } catch (error) {
      unknown.push(`${name}: no handshake with ${addr} (${(error as Error).message})`);
    }
  }
  if (looked === 0 && findings.length === 0 && unknown.length === 0) return { id: 'agent-ca-mismatch', findings, unknown: 'no agent talks to an HTTPS Vault address' };
  return outcome('agent-ca-mismatch', findings, `${looked} agent(s) against their Vault`, unknown);
}

// ---------------------------------------------------------------- containers

interface ManagedKey {
  path: string;
  real: string;
  what: string;
}

function managedKeys(ctx: StatusContext): ManagedKey[] {
  const out: ManagedKey[] = [];
  const add = (p: string, what: string) => {
    try {
      out.push({ path: p, real: fs.realpathSync(p), what });
    } catch {
      /* not there: nothing to read */
    }
  };
  for (const a of ctx.agents) if (a.tlsDir) add(path.join(a.tlsDir, 'key.pem'), `agent ${a.name}'s key`);
  if (ctx.facts.tlsDir) add(path.join(ctx.facts.tlsDir, 'server.key'), 'Vault\'s server key');
  for (const s of ctx.state ? Object.values(ctx.state.steps) : []) for (const a of s.artefacts) if (/key/.test(a.kind) && !/root-key/.test(a.kind)) add(a.path, `${s.id}'s ${a.kind}`);
  for (const f of certificateArtefacts(ctx.state)) if (f.keyFile) add(f.keyFile, `key of ${f.path}`);
  const seen = new Set<string>();
  return out.filter((k) => (seen.has(k.real) ? false : (seen.add(k.real), true)));
}

/** Can uid/gid (+groups) read `file` when `mountRoot` is what the container sees? */
function readable(file: string, mountRoot: string, who: { uid: number; gid: number; groups: number[] }): { ok: boolean; blocker?: string } {
  if (who.uid === 0) return { ok: true };
  const bits = (st: fs.Stats, r: number) => (st.uid === who.uid ? (st.mode >> 6) & r : st.gid === who.gid || who.groups.includes(st.gid) ? (st.mode >> 3) & r : st.mode & r);
  const rel = path.relative(mountRoot, file);
  let dir = mountRoot;
  const dirs = rel === '' ? [] : [mountRoot, ...rel.split(path.sep).slice(0, -1).map((part) => (dir = path.join(dir, part)))];
  for (const d of dirs) {
    const st = fs.statSync(d);
    if (!bits(st, 1)) return { ok: false, blocker: `${d} (${(st.mode & 0o777).toString(8).padStart(4, '0')}, ${st.uid}:${st.gid}) is not searchable` };
  }
  const st = fs.statSync(file);
  if (!bits(st, 4)) return { ok: false, blocker: `${file} is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} owned by ${st.uid}:${st.gid}` };
  return { ok: true };
}

function within(p: string, root: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

export async function checkContainers(ctx: StatusContext): Promise<CheckOutcome[]> {
  // --select narrows the containers looked at (all running ones by default, labelled or not).
  const all = await listContainers({ labels: ctx.options.select, signal: ctx.signal });
  const keys = managedKeys(ctx);
  const managedDirs = managedTlsDirs(ctx).map((d) => {
    try {
      return fs.realpathSync(d.dir);
    } catch {
      return d.dir;
    }
  });
  const unreadable: Finding[] = [];
  const unlabelled: Finding[] = [];
  const unreachable: Finding[] = [];
  const me = os.userInfo().username;
  // Agents whose hook runs as another user: that user's Podman cannot see this user's containers.
  const foreignAgents = ctx.agents.filter((a) => a.user && a.user !== me).map((a) => ({ agent: a, target: realOr(a.tlsDir ?? (a.caOut ? path.dirname(a.caOut) : '')) })).filter((x) => x.target);
  let keyLooked = '';
  // Vault's container user from vault-https (issue 3), even when the container is not running.
  if (ctx.facts.user && ctx.facts.tlsDir && /^\d+:\d+$/.test(ctx.facts.user)) {
    const [uid, gid] = ctx.facts.user.split(':').map(Number) as [number, number];
    const key = path.join(ctx.facts.tlsDir, 'server.key');
    try {
      const r = readable(fs.realpathSync(key), fs.realpathSync(ctx.facts.tlsDir), { uid, gid, groups: [] });
      if (!r.ok) unreadable.push(keyFinding('Vault (vault-https user)', key, { uid, gid }, r.blocker!));
    } catch {
      /* no key yet */
    }
    keyLooked = 'Vault\'s TLS dir';
  }
  if (!all.ok) {
    return [
      // Vault's own key was looked at, but no container could be: that is not a tick.
      outcome('key-unreadable', unreadable, keyLooked || 'no container', [`containers could not be listed: ${all.reason}`]),
      { id: 'container-tls-unlabelled', findings: [], unknown: all.reason },
      { id: 'container-unreachable', findings: [], unknown: all.reason },
    ];
  }
  const details = await inspectContainers(all.items.map((c) => c.id), ctx.signal);
  const byId = new Map<string, ContainerDetail>(details.ok ? details.items.map((d) => [d.id, d]) : []);
  const uninspected = all.items.filter((c) => !byId.has(c.id)).map((c) => `container ${c.name} could not be inspected${details.ok ? '' : ` (${details.reason})`}`);
  for (const c of all.items) {
    const d = byId.get(c.id);
    if (!d) continue;
    const ids = processIds(d.pid || c.pid) ?? userFromConfig(d.user);
    for (const m of d.mounts) {
      let root: string;
      try {
        root = fs.realpathSync(m.source);
      } catch {
        continue;
      }
      if (ids) {
        for (const k of keys) {
          if (!within(k.real, root) && !within(k.path, m.source)) continue;
          const target = within(k.real, root) ? k.real : k.path;
          const r = readable(target, within(k.real, root) ? root : m.source, ids);
          if (!r.ok) unreadable.push(keyFinding(`container ${c.name}`, k.path, ids, r.blocker!, m.destination));
        }
      }
      if (c.labels.tls === 'true') {
        for (const { agent, target } of foreignAgents) {
          if (!(within(target, root) || within(root, target)) || unreachable.some((f) => f.subject === `container ${c.name}`)) continue;
          unreachable.push({
            check: 'container-unreachable',
            level: 'fail',
            subject: `container ${c.name}`,
            message: `it is labelled tls=true and mounts ${m.source}, the ${agent.tlsDir ? 'TLS dir' : 'CA file\'s directory'} of ${agent.kind} agent ${agent.name}; that agent's hook runs as ${agent.user} and reloads only ${agent.user}'s own containers (its rootless Podman), so ${me}'s container ${c.name} is never reloaded and keeps serving the old certificate`,
            fix: `Run the container in ${agent.user}'s rootless Podman instead (as ${agent.user}: podman run --label tls=true -v ${m.source}:${m.destination}:ro ... ${c.image}; with \`loginctl enable-linger ${agent.user}\`), then remove this one: podman rm -f ${c.name}.`,
          });
        }
      }
      if (c.labels.tls !== 'true' && managedDirs.some((dir) => within(dir, root) || within(root, dir))) {
        unlabelled.push({
          check: 'container-tls-unlabelled',
          level: 'fail',
          subject: `container ${c.name}`,
          message: `it mounts certwright's TLS directory ${m.source} at ${m.destination} but is not labelled tls=true: the hook never reloads it, so it keeps serving the old certificate after each rotation`,
          fix: `Recreate it with --label tls=true (and --label tls.reload="CMD" if "nginx -s reload" is not its reload), e.g. podman run --label tls=true ... ${c.image}.`,
        });
      }
    }
    if (c.labels.tls !== 'true' && !unlabelled.some((f) => f.subject === `container ${c.name}`)) {
      const served = await servesTls(c, d);
      if (served) {
        unlabelled.push({
          check: 'container-tls-unlabelled',
          level: 'fail',
          subject: `container ${c.name}`,
          message: `it serves TLS on ${served} but is not labelled tls=true: certificate rotations will not reload it`,
          fix: `Recreate it with --label tls=true (and --label tls.check=${served} so status can see what it serves), e.g. podman run --label tls=true --label tls.check=${served} ... ${c.image}.`,
        });
      }
    }
  }
  return [
    outcome('key-unreadable', unreadable, `${keys.length} managed key(s) in ${all.items.length} running container(s)${keyLooked ? ` and ${keyLooked}` : ''}`, uninspected),
    outcome('container-tls-unlabelled', unlabelled, `${all.items.filter((c) => c.labels.tls !== 'true').length} unlabelled running container(s)`, uninspected),
    foreignAgents.length ? outcome('container-unreachable', unreachable, `${all.items.filter((c) => c.labels.tls === 'true').length} tls=true container(s) of ${me} against ${foreignAgents.length} agent(s) of other users`, uninspected) : { id: 'container-unreachable', findings: unreachable, unknown: 'no agent runs as another user' },
  ];
}

function realOr(p: string): string {
  if (!p) return p;
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function userFromConfig(user: string): { uid: number; gid: number; groups: number[] } | undefined {
  if (user === '') return { uid: 0, gid: 0, groups: [] };
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]), groups: [] } : undefined;
}

function keyFinding(who: string, key: string, ids: { uid: number; gid: number }, blocker: string, inside?: string): Finding {
  return {
    check: 'key-unreadable',
    level: 'fail',
    subject: `${who}: ${key}`,
    message: `${who} runs as ${ids.uid}:${ids.gid} and cannot read ${key}${inside ? ` (mounted at ${inside})` : ''}: ${blocker}`,
    fix: `Give that user read access without opening the key to others: chgrp ${ids.gid} ${key} && chmod 0640 ${key} (and make its directories searchable for group ${ids.gid}), or run the container as the key's owner (--user UID:GID).`,
    file: key,
  };
}

async function servesTls(c: ContainerInfo, d: ContainerDetail): Promise<string | undefined> {
  const ports = listeningPorts(d.pid || c.pid);
  for (const p of ports.slice(0, 8)) {
    const host = p.address === '0.0.0.0' || p.address === '::' ? '127.0.0.1' : p.address === '::1' ? '::1' : p.address;
    try {
      await handshake(host, p.port, { timeoutMs: 1500 });
      return `${host}:${p.port}`;
    } catch {
      /* not TLS, or not reachable from here */
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- Vault and certificates (from the snapshot)

export function checkAia(snapshot: StatusSnapshot): CheckOutcome {
  const v = snapshot.sections.vault;
  if (!v.reachable || v.sealed) return { id: 'aia-crl-http', findings: [], unknown: 'Vault is not reachable or sealed' };
  const findings: Finding[] = [];
  const missing: string[] = [];
  if (snapshot.sections.pki.mounts.length === 0) missing.push(snapshot.sections.pki.reason ?? 'no PKI mount is known');
  for (const m of snapshot.sections.pki.mounts) {
    if (!m.urls) {
      missing.push(unread(m, 'URLs'));
      continue;
    }
    if (!m.urls.http || !v.https) continue;
    const http = [...m.urls.issuingCertificates, ...m.urls.crlDistributionPoints].filter((u) => /^http:/i.test(u));
    findings.push({
      check: 'aia-crl-http',
      level: 'warn',
      subject: `mount ${m.path}`,
      message: `Vault serves HTTPS at ${v.addr}, but ${m.path}'s AIA/CRL URLs are still http (${http.join(', ')}); certificates issued now carry them`,
      fix: `certwright switch-urls --env ${snapshot.env ?? 'ENV'} --mount ${m.path} --base ${v.addr}`,
    });
  }
  if (!v.https) return { id: 'aia-crl-http', findings, unknown: 'Vault is not on HTTPS yet' };
  return outcome('aia-crl-http', findings, `${snapshot.sections.pki.mounts.length - missing.length} mount(s)`, missing);
}

export function checkOrphans(snapshot: StatusSnapshot): CheckOutcome {
  const findings: Finding[] = [];
  let looked = 0;
  const missing: string[] = [];
  for (const m of snapshot.sections.pki.mounts) {
    if (!m.keys) {
      missing.push(unread(m, 'keys'));
      continue;
    }
    looked += 1;
    for (const k of m.keys.orphans) {
      findings.push({
        check: 'orphan-keys',
        level: 'warn',
        subject: `mount ${m.path}: key ${k}`,
        message: `key ${k} in ${m.path} is used by no issuer (left by a retried intermediate/generate/internal or a replaced issuer)`,
        fix: `If no pending CSR needs it (certwright state show --env ${snapshot.env ?? 'ENV'} names the key of a request in progress), delete it: bao delete ${m.path}/key/${k}`,
      });
    }
  }
  if (snapshot.sections.pki.mounts.length === 0) missing.push(snapshot.sections.pki.reason ?? 'no PKI mount is known');
  return outcome('orphan-keys', findings, `${looked} mount(s)`, missing);
}

/**
 * What `bao pki health-check` would report critical or warning (issue 14), checked the same way
 * for every mount: a tidy that never ran or auto-tidy off, the CRL rebuilt on every revocation
 * while roles store every certificate, the PKI's non-secret fields HMACed in audit logs, no
 * If-Modified-Since, and roles that allow localhost beside other domains. Each with its fix.
 */
export async function checkPkiUpkeep(ctx: StatusContext, snapshot: StatusSnapshot): Promise<CheckOutcome> {
  const v = snapshot.sections.vault;
  if (!ctx.vault || !v.reachable || v.sealed) return { id: 'pki-upkeep', findings: [], unknown: 'Vault is not reachable or sealed' };
  const findings: Finding[] = [];
  let looked = 0;
  const missing: string[] = [];
  for (const m of snapshot.sections.pki.mounts) {
    if (m.roles === null) {
      missing.push(unread(m, 'roles'));
      continue;
    }
    looked += 1;
    const subject = `mount ${m.path}`;
    try {
      const tune = await tuningChanges(ctx.vault, m.path);
      if (tune.some((t) => t.startsWith('audit'))) {
        findings.push({ check: 'pki-upkeep', level: 'warn', subject, message: `${m.path}'s audit log HMACs the PKI's non-secret fields (serials, names, certificates), so it cannot say who issued what`, fix: `bao write sys/mounts/${m.path}/tune audit_non_hmac_request_keys=${AUDIT_NON_HMAC_REQUEST_KEYS.join(',')} audit_non_hmac_response_keys=${AUDIT_NON_HMAC_RESPONSE_KEYS.join(',')}` });
      }
      if (tune.some((t) => !t.startsWith('audit'))) {
        findings.push({ check: 'pki-upkeep', level: 'warn', subject, message: `${m.path} passes no If-Modified-Since / Last-Modified headers: clients refetch CAs and CRLs in full every time`, fix: `bao write sys/mounts/${m.path}/tune passthrough_request_headers=If-Modified-Since allowed_response_headers=Last-Modified` });
      }
      const up = await upkeepChanges(ctx.vault, m.path);
      if (up.autoTidy.length) {
        findings.push({ check: 'pki-upkeep', level: 'warn', subject, message: `auto-tidy is off on ${m.path} (or set otherwise: ${up.autoTidy.join(', ')}): expired certificates pile up in storage`, fix: `bao write ${m.path}/config/auto-tidy enabled=true interval_duration=${AUTO_TIDY.interval_duration} tidy_cert_store=true tidy_revoked_certs=true tidy_revoked_cert_issuer_associations=true safety_buffer=${AUTO_TIDY.safety_buffer}` });
      }
      if (up.tidyNeverRan) {
        findings.push({ check: 'pki-upkeep', level: 'fail', subject, message: `tidy has never run on ${m.path} (bao pki health-check: critical)`, fix: `bao write ${m.path}/tidy tidy_cert_store=true tidy_revoked_certs=true safety_buffer=${AUTO_TIDY.safety_buffer}` });
      }
      if (up.crlAutoRebuild) {
        findings.push({ check: 'pki-upkeep', level: 'warn', subject, message: `${m.path} rebuilds its CRL on every revocation while its roles store every certificate`, fix: `bao write ${m.path}/config/crl auto_rebuild=true   (certwright revoke rotates the CRL itself)` });
      }
      for (const role of m.roles) {
        const r = await readRole(ctx.vault, m.path, role);
        if (!r.ok) {
          missing.push(`${m.path}: role ${role} could not be read (${r.reason})`);
          continue;
        }
        const domains = Array.isArray(r.value.allowed_domains) ? (r.value.allowed_domains as string[]) : [];
        if (r.value.allow_localhost === true && domains.length > 0) {
          findings.push({ check: 'pki-upkeep', level: 'warn', subject: `${subject}: role ${role}`, message: `role ${role} allows localhost through allow_localhost beside allowed_domains (${domains.join(', ')}), where it is easily overlooked`, fix: `bao patch ${m.path}/roles/${role} allow_localhost=false allowed_domains=${[...new Set([...domains, 'localhost'])].join(',')} allow_bare_domains=true   (or re-run the certwright step that wrote it)` });
        }
      }
    } catch (error) {
      missing.push(`${m.path}: its tune, config/crl, config/auto-tidy or tidy-status could not be read (${(error as Error).message}; run doctor with a token that may read them)`);
    }
  }
  if (snapshot.sections.pki.mounts.length === 0) missing.push(snapshot.sections.pki.reason ?? 'no PKI mount is known');
  return outcome('pki-upkeep', findings, `${looked} mount(s)`, missing);
}

export function checkRootCrl(snapshot: StatusSnapshot): CheckOutcome {
  const findings: Finding[] = [];
  let looked = 0;
  const missing: string[] = [];
  for (const m of snapshot.sections.pki.mounts) {
    const c = m.rootCrl;
    if (!c) {
      // No root CRL entry: either the default issuer names no CRL point, or it could not be read.
      const def = m.issuers.find((i) => i.isDefault);
      if (m.issuers.length === 0 || (def && def.state === 'unknown')) missing.push(`${m.path}: its default issuer could not be read${m.reason ? ` (${m.reason})` : ''}`);
      continue;
    }
    looked += 1;
    if (c.state === 'ok') continue;
    if (c.state === 'unknown') {
      missing.push(`${m.path}: the root CRL at ${c.url} could not be read (${c.reason ?? 'no answer'})`);
      continue;
    }
    const lapsed = c.nextUpdate !== null && c.state === 'fail' && /lapsed/.test(c.reason ?? '');
    findings.push({
      check: 'root-crl',
      level: c.state === 'fail' ? 'fail' : 'warn',
      subject: `mount ${m.path}: ${c.url}`,
      message: c.reason ?? `the root CRL at ${c.url} is not in order`,
      fix: lapsed || c.state === 'warn'
        ? `At the offline root: certwright root crl --root-dir DIR --passphrase-file FILE --out root.crl, then copy root.crl to where ${c.url} is served.`
        : `Publish the root's CRL at ${c.url}: at the offline root, certwright root crl --root-dir DIR --passphrase-file FILE --out root.crl, then copy root.crl to that path on the web server.`,
    });
  }
  if (looked === 0 && missing.length === 0) return { id: 'root-crl', findings, unknown: 'no default issuer names a CRL distribution point of its root (intermediate sign --crl-url)' };
  return outcome('root-crl', findings, `${looked} intermediate(s) with a root CRL URL`, missing);
}

export function checkExpiring(snapshot: StatusSnapshot): CheckOutcome {
  const findings: Finding[] = [];
  const w = snapshot.warnDays;
  const env = snapshot.env ?? 'ENV';
  const missing: string[] = [];
  for (const c of snapshot.sections.certificates.certificates) {
    if (!c.notAfter) {
      missing.push(`${c.path}: ${c.reason ?? 'cannot be read'}`);
      continue;
    }
    const at = c.warnAtDays ?? w ?? 0;
    if (c.role === 'root' || !c.notAfter || c.daysLeft >= at) continue;
    const agent = /^agent-/.test(c.source);
    const fix = agent
      ? `The agent re-issues at about 90% of the lifetime: check it runs (certwright status --env ${env}, Agents), and restart it if it is stuck; the hook then swaps ${c.path}.`
      : /vault-cert/.test(c.source)
        ? `certwright vault-cert --env ${env} --renew ... then reload Vault (SIGHUP).`
        : c.role === 'leaf'
          ? `Re-issue it from its role (bao write MOUNT/issue/ROLE ...) and replace ${c.path} and its key together.`
          : `Rotate the intermediate: certwright intermediate request/sign/install --env ${env} --mount MOUNT (a new issuer), then make it the default.`;
    findings.push({ check: 'expiring', level: c.daysLeft < 0 ? 'fail' : 'warn', subject: c.path, message: `${c.role} ${c.subject} ${c.daysLeft < 0 ? 'has expired' : `expires in ${c.daysLeft} days`} (${c.notAfter}), ${w === null ? `under a third of its lifetime left (warns at ${at} days)` : `inside the ${w}-day window`}`, fix, file: c.path });
  }
  for (const m of snapshot.sections.pki.mounts) {
    if (m.state === 'unknown' && m.issuers.length === 0) missing.push(`mount ${m.path}: its issuers could not be read (${m.reason ?? 'unknown'})`);
    for (const i of m.issuers) {
      if (!i.notAfter) {
        missing.push(`mount ${m.path}: issuer ${i.name || i.id} could not be read (${i.reason ?? 'unknown'})`);
        continue;
      }
      if (i.isRoot || !i.notAfter || i.daysLeft >= (i.warnAtDays ?? w ?? 0) || (i.daysLeft < 0 && !i.isDefault)) continue;
      findings.push({ check: 'expiring', level: i.daysLeft < 0 ? 'fail' : 'warn', subject: `mount ${m.path}: issuer ${i.name || i.id}`, message: `intermediate ${i.subject} ${i.daysLeft < 0 ? 'has expired' : `expires in ${i.daysLeft} days`} (${i.notAfter})`, fix: `Rotate it: certwright intermediate request/sign/install --env ${env} --mount ${m.path}, then set the new issuer as the default (leaves cannot outlive their issuer).` });
    }
  }
  const v = snapshot.sections.vault.certificate;
  if (v && v.daysLeft < (v.warnAtDays ?? w ?? 0)) findings.push({ check: 'expiring', level: v.daysLeft < 0 ? 'fail' : 'warn', subject: `Vault ${snapshot.sections.vault.addr}`, message: `Vault's own certificate ${v.daysLeft < 0 ? 'has expired' : `expires in ${v.daysLeft} days`} (${v.notAfter})`, fix: `certwright vault-cert --env ${env} --renew ... then reload Vault (SIGHUP).` });
  if (snapshot.sections.certificates.certificates.length === 0 && snapshot.sections.pki.mounts.length === 0) missing.push(snapshot.sections.certificates.reason ?? 'no certificate file or PKI mount is known');
  return outcome('expiring', findings, `${snapshot.sections.certificates.certificates.length} certificate file(s), ${snapshot.sections.pki.mounts.reduce((n, m) => n + m.issuers.length, 0)} issuer(s)`, missing);
}

export async function checkMountTtl(ctx: StatusContext, snapshot: StatusSnapshot): Promise<CheckOutcome> {
  const findings: Finding[] = [];
  const unknown: string[] = [];
  let looked = 0;
  for (const m of snapshot.sections.pki.mounts) {
    if (m.maxLeaseTtlSeconds === null) {
      unknown.push(`${m.path}: its max lease TTL could not be read${m.reason ? ` (${m.reason})` : ''}`);
      continue;
    }
    if (m.roles === null) unknown.push(unread(m, 'roles'));
    looked += 1;
    const max = m.maxLeaseTtlSeconds;
    const requests: Array<{ what: string; ttl: number; fix: string }> = [];
    if (ctx.vault && m.roles) {
      for (const role of m.roles) {
        const r = await readRole(ctx.vault, m.path, role);
        if (!r.ok) {
          unknown.push(`${m.path}: role ${role} could not be read (${r.reason})`);
          continue;
        }
        for (const field of ['ttl', 'max_ttl'] as const) {
          const ttl = Number(r.value[field] ?? 0);
          if (ttl > max) requests.push({ what: `role ${role} ${field} ${ttl}s`, ttl, fix: `bao secrets tune -max-lease-ttl=${ttl}s ${m.path}   (or lower the role: bao write ${m.path}/roles/${role} ${field}=${max}s ...)` });
        }
      }
    }
    for (const a of ctx.agents) {
      if (a.mount === m.path && a.ttlSeconds && a.ttlSeconds > max) requests.push({ what: `agent ${a.name}'s leaf TTL ${a.ttlSeconds}s`, ttl: a.ttlSeconds, fix: `bao secrets tune -max-lease-ttl=${a.ttlSeconds}s ${m.path}   (or re-run certwright agent app with a shorter --ttl)` });
    }
    for (const r of requests) {
      findings.push({ check: 'mount-ttl-short', level: 'warn', subject: `mount ${m.path}`, message: `${r.what} is longer than the mount's max lease TTL ${max}s: Vault silently caps it to ${max}s (only a warning in the response)`, fix: r.fix });
    }
  }
  if (snapshot.sections.pki.mounts.length === 0) unknown.push(snapshot.sections.pki.reason || 'no mount to check');
  return outcome('mount-ttl-short', findings, `${looked} mount(s)`, unknown);
}

// ---------------------------------------------------------------- raft cluster

/**
 * A raft cluster's nodes, as status read them: a node that is not in the raft configuration
 * (it never joined, or was removed), and a node whose certificate (served, or its file when the
 * node is down) does not name the host it is reached at: its peers' retry_join and every client
 * would fail the name check.
 */
export function checkRaftCluster(snapshot: StatusSnapshot): CheckOutcome[] {
  const nodes = snapshot.sections.vault.nodes;
  const env = snapshot.env ?? 'ENV';
  if (!nodes) {
    const why = 'this environment\'s Vault is not a raft cluster certwright runs (vault-server --nodes)';
    return [{ id: 'raft-membership', findings: [], looked: why }, { id: 'raft-node-cert', findings: [], looked: why }];
  }
  const membership: Finding[] = [];
  const certs: Finding[] = [];
  const unread = nodes.find((n) => n.inRaftConfig === null);
  for (const n of nodes) {
    if (n.inRaftConfig === false) {
      membership.push({
        check: 'raft-membership',
        level: 'fail',
        subject: n.id,
        message: `${n.id} (${n.addr}, ${n.role}) is not in the raft configuration: it holds no copy of the data and does not vote`,
        fix: n.role === 'down' ? `Start it and let it join: certwright vault-https --env ${env} --key-file FILE.` : `Stop it, move its data directory aside, then run certwright vault-https --env ${env} --key-file FILE: it starts empty and joins through retry_join.`,
      });
    }
    if (n.certificate && !n.certificate.namesOwnAddress) {
      const host = new URL(n.addr).hostname.replace(/^\[|\]$/g, '');
      certs.push({
        check: 'raft-node-cert',
        level: 'fail',
        subject: n.id,
        message: `${n.id}'s certificate (${n.certificate.source === 'served' ? 'served' : n.certificate.file}) does not name ${host}, the address it is reached at`,
        fix: `certwright vault-cert --env ${env} --out TLS-DIR --node ${n.id} --renew (it issues the node's names and SIGHUPs that node only).`,
        ...(n.certificate.file ? { file: n.certificate.file } : {}),
      });
    }
  }
  const noCert = nodes.filter((n) => !n.certificate).map((n) => n.id);
  return [
    { id: 'raft-membership', findings: membership, ...(unread && membership.length === 0 ? { unknown: unread.membershipReason ?? 'the raft configuration could not be read' } : { looked: `${nodes.length} nodes in sys/storage/raft/configuration` }) },
    { id: 'raft-node-cert', findings: certs, ...(noCert.length === nodes.length ? { unknown: 'no node\'s certificate could be read' } : { looked: `${nodes.length - noCert.length} node certificate(s)${noCert.length ? `; not read: ${noCert.join(', ')}` : ''}` }) },
  ];
}

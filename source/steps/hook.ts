import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ExternalError, OperatorError } from '../errors.js';
import { parseCertificates } from '../pki/pem.js';
import { checkPayload, parsePayloadJson, type Payload, type LeafPayload, type ChainPayload } from '../hook/payload.js';
import { layout, publishVersion, readCurrentFiles, sameFiles, rollbackTo, pruneVersions, withLock, ensureStableLinks } from '../hook/tls-store.js';
import { Podman, PodmanError, mountCovers, reloadActionFor, lastLine, RELOAD_LABEL, DEFAULT_RELOAD, type TlsContainer } from '../system/podman.js';
import { parseHostPort, waitForServed } from '../system/tls-probe.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';
import type { EventLog } from '../hook/events.js';
// Types only from context.ts: its value imports load conf, and the hook must start fast.
import type { Plan, Reporter } from './context.js';

const emptyPlan = (): Plan => ({ actions: [], facts: [], warnings: [] });
import type { Check } from '../pki/checks.js';

// Not verify.ts's check(): that module loads @peculiar/x509, and the hook must start fast.
const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

/**
 * hook — what the agent's template exec runs after it rendered a payload.
 * plan reads: the payload (JSON), the pinned root (--trust), the TLS dir's current version or the
 *   CA file; it says whether anything would change.
 * apply writes: a new version directory + the current/previous links (leaf), or the CA file and
 *   FILE.previous (chain); then reloads once each running container labelled tls=true that the
 *   running user's Podman lists (as root: only those that mount what was swapped), and rolls the
 *   files back when a reload fails. Each outcome goes to the environment's events.jsonl.
 * verify reads: the current version (key matches cert, chain verifies) or the CA file.
 */
export const STEP_ID = 'hook';

export interface HookInput {
  payloadText: string;
  payloadSource: string;
  tlsDir?: string | undefined;
  caOut?: string | undefined;
  trustFile?: string | undefined;
  /** Extra LABEL=VALUE filters, ANDed with tls=true. */
  select: string[];
  reloadLabel?: string;
  defaultReload?: string;
  podman: Podman;
  /** Versions kept besides current and previous (at least 2 are kept). */
  keep: number;
  checkTimeoutMs: number;
  lockWaitMs?: number;
  events: EventLog;
}

export interface ContainerOutcome {
  container: string;
  action: string;
  ok: boolean;
  detail: string;
  /** reload: after the new files; restore: after a rollback, back to the old files. */
  phase: 'reload' | 'restore';
}

export interface HookResult {
  kind: 'leaf' | 'chain';
  changed: boolean;
  event?: 'issued' | 'rotated' | 'chain-updated';
  version?: string;
  serial?: string;
  fingerprint?: string;
  notAfter?: string;
  target: string;
  containers: ContainerOutcome[];
  reloadSkipped?: string;
  rolledBack: boolean;
}

async function loadAnchors(trustFile: string | undefined): Promise<X509Certificate[] | undefined> {
  if (!trustFile) return undefined;
  let text: string;
  try {
    text = await fsp.readFile(trustFile, 'utf8');
  } catch {
    throw new OperatorError(`The pinned root --trust ${trustFile} cannot be read.`, 'Pass the trust-root.pem that `certwright agent app|proxy` wrote, or re-run that command.');
  }
  const certs = parseCertificates(text, trustFile);
  return certs;
}

function parse(input: HookInput, anchors: X509Certificate[] | undefined): Payload {
  const raw = parsePayloadJson(input.payloadText, input.payloadSource);
  const payload = checkPayload(raw, input.payloadSource, anchors);
  if (payload.kind === 'leaf' && !input.tlsDir) throw new OperatorError(`${input.payloadSource} carries a leaf and a key, but no --tls-dir was given.`, 'Pass --tls-dir DIR (where the app reads its key and certificate).');
  if (payload.kind === 'chain' && !input.caOut) throw new OperatorError(`${input.payloadSource} carries only a CA chain, but no --ca-out was given.`, 'Pass --ca-out FILE (the proxy\'s trust file).');
  return payload;
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

export async function planHook(input: HookInput): Promise<Plan & { payload: Payload }> {
  const payload = parse(input, await loadAnchors(input.trustFile));
  const plan = { ...emptyPlan(), payload };
  if (payload.kind === 'leaf') {
    plan.facts.push(['Leaf', `${payload.commonName} · serial ${payload.serial}`], ['Fingerprint', payload.fingerprint], ['Valid until', payload.notAfter], ['TLS dir', layout(input.tlsDir!).dir]);
    if (!sameFiles(await readCurrentFiles(input.tlsDir!), payload.files)) plan.actions.push(`Write a new version in ${layout(input.tlsDir!).versions} and make it current (the old one becomes previous)`);
  } else {
    plan.facts.push(['CA chain', `${payload.certs.length} certificate(s), root ${payload.root.fingerprint256}`], ['CA file', path.resolve(input.caOut!)]);
    if ((await readOrUndefined(input.caOut!)) !== payload.pem) plan.actions.push(`Write the CA chain to ${path.resolve(input.caOut!)} (the old one is kept as .previous)`);
  }
  if (plan.actions.length > 0) plan.actions.push(reloadScopeText(input));
  return plan;
}

/** The whole hook: check, swap, reload, roll back on failure. Nothing is written before the checks pass. */
export async function applyHook(input: HookInput, report: Reporter): Promise<HookResult> {
  let payload: Payload;
  try {
    payload = parse(input, await loadAnchors(input.trustFile));
  } catch (error) {
    input.events.append('verify-failed', { detail: (error as Error).message });
    throw error;
  }
  if (payload.kind === 'leaf') {
    const tls = layout(input.tlsDir!);
    await fsp.mkdir(tls.dir, { recursive: true, mode: 0o750 }).catch((error: Error) => {
      throw new OperatorError(`Cannot create the TLS dir ${tls.dir}: ${error.message}.`, 'Create it for the agent\'s user, or pass another --tls-dir.');
    });
    return withLock(tls.lock, input.lockWaitMs ?? 60_000, () => applyLeaf(input, payload as LeafPayload, report));
  }
  const caOut = path.resolve(input.caOut!);
  await fsp.mkdir(path.dirname(caOut), { recursive: true, mode: 0o755 });
  return withLock(path.join(path.dirname(caOut), `.${path.basename(caOut)}.lock`), input.lockWaitMs ?? 60_000, () => applyChain(input, payload as ChainPayload, caOut, report));
}

async function applyLeaf(input: HookInput, payload: LeafPayload, report: Reporter): Promise<HookResult> {
  const tls = layout(input.tlsDir!);
  const base = { kind: 'leaf' as const, serial: payload.serial, fingerprint: payload.fingerprint, notAfter: payload.notAfter, target: tls.dir };
  const current = await readCurrentFiles(tls.dir);
  if (sameFiles(current, payload.files)) {
    const replaced = await ensureStableLinks(tls.dir);
    if (replaced.length) report.info(`Replaced plain file(s) ${replaced.join(', ')} with links into current/`);
    report.info(`Unchanged: ${tls.dir} already holds serial ${payload.serial}. Nothing to do, no reload.`);
    return { ...base, changed: false, containers: [], rolledBack: false };
  }
  const event = current ? 'rotated' : 'issued';
  const { id, before } = await publishVersion(tls.dir, payload.files, payload.serial);
  report.done(`${event === 'issued' ? 'Issued' : 'Rotated'}: ${payload.commonName} serial ${payload.serial} is current in ${tls.dir} (version ${id})`);
  input.events.append(event, { serial: payload.serial, fingerprint: payload.fingerprint, notAfter: payload.notAfter, version: id });
  const reload = await reloadAll(input, report, { fingerprint: payload.fingerprint, servername: payload.commonName }, 'reload');
  const result: HookResult = { ...base, changed: true, event, version: id, containers: reload.outcomes, rolledBack: false, ...(reload.skipped ? { reloadSkipped: reload.skipped } : {}) };
  if (reload.failed) {
    await rollbackTo(tls.dir, before, id);
    report.warn(`Rolled back: ${tls.dir} points at ${before.current ?? 'nothing'} again; version ${id} was removed`);
    input.events.append('rolled-back', { serial: payload.serial, version: id, detail: `current -> ${before.current ?? 'none'}` });
    const oldCert = (await readCurrentFiles(tls.dir))?.cert;
    const oldExpect = oldCert ? { fingerprint: new X509Certificate(oldCert).fingerprint256, servername: payload.commonName } : undefined;
    const restored = await restoreReloaded(input, reload.outcomes, report, oldExpect);
    result.containers.push(...restored);
    result.rolledBack = true;
    throw new HookFailure(reloadFailureMessage(reload.outcomes, tls.dir), result);
  }
  const pruned = await pruneVersions(tls.dir, Math.max(2, input.keep));
  if (pruned.length) report.info(`Removed ${pruned.length} old version(s)`);
  return result;
}

async function applyChain(input: HookInput, payload: ChainPayload, caOut: string, report: Reporter): Promise<HookResult> {
  const base = { kind: 'chain' as const, fingerprint: payload.root.fingerprint256, target: caOut };
  const old = await readOrUndefined(caOut);
  if (old === payload.pem) {
    report.info(`Unchanged: ${caOut} already holds this CA chain. Nothing to do, no reload.`);
    return { ...base, changed: false, containers: [], rolledBack: false };
  }
  if (old !== undefined) await writeFileAtomic(`${caOut}.previous`, old, { mode: 0o644 });
  await writeFileAtomic(caOut, payload.pem, { mode: 0o644 });
  report.done(`CA chain written to ${caOut} (${payload.certs.length} certificate(s))`);
  input.events.append('chain-updated', { fingerprint: payload.root.fingerprint256, detail: `${payload.certs.length} certificate(s), sha256 ${sha256Hex(payload.pem).slice(0, 16)}` });
  const reload = await reloadAll(input, report, undefined, 'reload');
  const result: HookResult = { ...base, changed: true, event: 'chain-updated', containers: reload.outcomes, rolledBack: false, ...(reload.skipped ? { reloadSkipped: reload.skipped } : {}) };
  if (reload.failed) {
    if (old === undefined) await fsp.rm(caOut, { force: true });
    else await writeFileAtomic(caOut, old, { mode: 0o644 });
    report.warn(`Rolled back: ${caOut} holds the previous CA chain again`);
    input.events.append('rolled-back', { detail: `${caOut} restored` });
    result.containers.push(...(await restoreReloaded(input, reload.outcomes, report)));
    result.rolledBack = true;
    throw new HookFailure(reloadFailureMessage(reload.outcomes, caOut), result);
  }
  return result;
}

export class HookFailure extends ExternalError {
  constructor(
    message: string,
    readonly result: HookResult,
  ) {
    super(message, 'Fix the container named above (its reload command: label tls.reload), then run the same hook again with the same --payload; the agent does not retry by itself.');
  }
}

function reloadFailureMessage(outcomes: ContainerOutcome[], target: string): string {
  const bad = outcomes.filter((o) => !o.ok).map((o) => `${o.container}: ${o.detail}`);
  return `Reload failed in ${bad.length} container(s) (${bad.join('; ')}); ${target} was rolled back to the previous files.`;
}

interface ReloadRun {
  outcomes: ContainerOutcome[];
  failed: boolean;
  skipped?: string;
}

/** What the hook swaps: the TLS dir, or the proxy's CA file. */
function swappedPath(input: Pick<HookInput, 'tlsDir' | 'caOut'>): string {
  const target = path.resolve(input.tlsDir ?? input.caOut!);
  try {
    return fs.realpathSync(target);
  } catch {
    return target;
  }
}

/**
 * Which containers a swap reloads. A service user's hook uses that user's own (rootless) Podman,
 * which lists only that user's containers. Root's Podman lists every rootful container on the
 * machine, so as root only those that actually mount what was swapped are reloaded: a tls=true
 * label alone never makes root reload someone else's container.
 */
function asRoot(): boolean {
  return process.getuid?.() === 0;
}

function reloadScopeText(input: HookInput): string {
  const sel = input.select.length ? ` and ${input.select.join(', ')}` : '';
  return asRoot()
    ? `Reload the running containers labelled tls=true${sel} that mount ${swappedPath(input)} (root's Podman; other tls=true containers are left alone)`
    : `Reload ${os.userInfo().username}'s own running containers labelled tls=true${sel} (its rootless Podman)`;
}

async function listContainers(input: HookInput, report?: Reporter): Promise<{ containers: TlsContainer[]; skipped?: string }> {
  let listed;
  let containers: TlsContainer[];
  try {
    listed = await input.podman.listTlsContainers(input.select);
    if (!listed.available) return { containers: [], skipped: `${listed.reason}; no container reloaded` };
    containers = listed.containers;
    if (asRoot() && containers.length > 0) {
      const target = swappedPath(input);
      const mounts = await input.podman.mountSources(containers.map((c) => c.id));
      const others = containers.filter((c) => !(mounts.get(c.id) ?? []).some((m) => mountCovers(m, target)));
      containers = containers.filter((c) => !others.includes(c));
      if (others.length) report?.info(`Not reloaded (tls=true, but they do not mount ${target}): ${others.map((c) => c.name).sort().join(', ')}`);
      if (containers.length === 0) return { containers: [], skipped: `No running container labelled tls=true${input.select.length ? ` with ${input.select.join(', ')}` : ''} mounts ${target}; reload skipped` };
    }
  } catch (error) {
    if (error instanceof PodmanError) throw new ExternalError(`${error.message}`, 'Check that this user can run podman (rootless: `podman info` as the agent\'s user).');
    throw error;
  }
  if (containers.length === 0) return { containers: [], skipped: `No running container is labelled tls=true${input.select.length ? ` with ${input.select.join(', ')}` : ''}; reload skipped` };
  return { containers };
}

async function reloadOne(input: HookInput, c: TlsContainer, expect: { fingerprint: string; servername: string } | undefined, phase: ContainerOutcome['phase']): Promise<ContainerOutcome> {
  const action = reloadActionFor(c.labels, input.reloadLabel ?? RELOAD_LABEL, input.defaultReload ?? DEFAULT_RELOAD);
  const res = action.kind === 'signal' ? await input.podman.signal(c.name, action.signal) : await input.podman.exec(c.name, action.argv);
  if (res.code !== 0) return { container: c.name, action: action.display, ok: false, detail: `exit ${res.code}${lastLine(res.stderr) ? `: ${lastLine(res.stderr)}` : ''}`, phase };
  const checkAt = c.labels['tls.check'] ? parseHostPort(c.labels['tls.check']) : undefined;
  if (expect && checkAt) {
    const served = await waitForServed(checkAt.host, checkAt.port, c.labels['tls.servername'] ?? expect.servername, expect.fingerprint, input.checkTimeoutMs);
    if (!served.ok) {
      return { container: c.name, action: action.display, ok: false, detail: `reloaded, but ${checkAt.host}:${checkAt.port} still serves ${served.served ?? `nothing (${served.error ?? 'no answer'})`} after ${Math.round(served.waitedMs)} ms`, phase };
    }
    return { container: c.name, action: action.display, ok: true, detail: `serves the new certificate at ${checkAt.host}:${checkAt.port} (${served.waitedMs} ms after reload)`, phase };
  }
  return { container: c.name, action: action.display, ok: true, detail: 'reload command exited 0', phase };
}

/** Reloads each labelled container once, in name order, reporting each; stops nothing early. */
async function reloadAll(input: HookInput, report: Reporter, expect: { fingerprint: string; servername: string } | undefined, phase: ContainerOutcome['phase']): Promise<ReloadRun> {
  let listed: Awaited<ReturnType<typeof listContainers>>;
  try {
    listed = await listContainers(input, report);
  } catch (error) {
    // Podman is there but cannot list (rootless setup broken, storage locked): the containers may
    // hold old files, so this counts as a failed reload and the files go back.
    const outcome: ContainerOutcome = { container: '(podman ps)', action: 'list containers labelled tls=true', ok: false, detail: (error as Error).message, phase };
    report.warn(`Cannot list the containers to reload: ${outcome.detail}`);
    input.events.append('reload-failed', { detail: outcome.detail });
    return { outcomes: [outcome], failed: true };
  }
  const { containers, skipped } = listed;
  if (skipped) {
    report.info(skipped);
    return { outcomes: [], failed: false, skipped };
  }
  const outcomes: ContainerOutcome[] = [];
  for (const c of [...containers].sort((a, b) => a.name.localeCompare(b.name))) {
    const outcome = await reloadOne(input, c, expect, phase);
    outcomes.push(outcome);
    if (outcome.ok) report.done(`Reloaded ${c.name} (${outcome.action}): ${outcome.detail}`);
    else report.warn(`Reload failed in ${c.name} (${outcome.action}): ${outcome.detail}`);
    input.events.append(outcome.ok ? 'reloaded' : 'reload-failed', { container: c.name, detail: `${outcome.action}: ${outcome.detail}`, ...(expect ? { fingerprint: expect.fingerprint } : {}) });
  }
  return { outcomes, failed: outcomes.some((o) => !o.ok) };
}

/** After a rollback, the containers that already took the new files are reloaded onto the old ones. */
async function restoreReloaded(input: HookInput, outcomes: ContainerOutcome[], report: Reporter, expect?: { fingerprint: string; servername: string }): Promise<ContainerOutcome[]> {
  const done = new Set(outcomes.filter((o) => o.ok).map((o) => o.container));
  if (done.size === 0) return [];
  const { containers } = await listContainers(input).catch(() => ({ containers: [] as TlsContainer[] }));
  const restored: ContainerOutcome[] = [];
  for (const c of containers.filter((x) => done.has(x.name))) {
    const outcome = await reloadOne(input, c, expect, 'restore');
    restored.push(outcome);
    if (outcome.ok) report.done(`Reloaded ${c.name} again onto the previous files`);
    else report.warn(`Could not reload ${c.name} onto the previous files: ${outcome.detail}`);
  }
  return restored;
}

/** Re-reads the current version (or CA file) and checks it. */
export async function verifyHook(input: Pick<HookInput, 'tlsDir' | 'caOut' | 'trustFile'>): Promise<Check[]> {
  const anchors = await loadAnchors(input.trustFile);
  if (input.tlsDir) {
    const files = await readCurrentFiles(input.tlsDir);
    if (!files?.key || !files.fullchain) return [check('current version', false, `${layout(input.tlsDir).current} is missing`)];
    try {
      const p = checkPayload({ certificate: files.fullchain, private_key: files.key, ca_chain: files.chain }, `${layout(input.tlsDir).current}/`, anchors);
      return [check('current version', true, p.kind === 'leaf' ? `serial ${p.serial}, key matches, chain verifies` : 'ok')];
    } catch (error) {
      return [check('current version', false, (error as Error).message)];
    }
  }
  if (input.caOut) {
    const text = await readOrUndefined(input.caOut);
    if (!text) return [check('CA file', false, `${input.caOut} is missing`)];
    try {
      checkPayload({ ca_chain: text }, input.caOut, anchors);
      return [check('CA file', true, `${input.caOut} verifies`)];
    } catch (error) {
      return [check('CA file', false, (error as Error).message)];
    }
  }
  return [];
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ExternalError, OperatorError } from '../errors.js';
import { writeFileAtomic, sha256Hex } from '../system/files.js';
import { currentUser, type LocalUser } from '../system/users.js';
import { isLingering, showUserUnit, systemctlDisplay, systemctlUser, unitJournal, userManagerRunning } from '../system/systemd.js';
import { runProbe, lastLine } from '../system/run.js';
import { verifyHook } from './hook.js';
import { agentPaths, type AgentSpec } from '../agent/render.js';
import type { Check } from '../pki/checks.js';
import type { Reporter } from './context.js';

/**
 * agent --install / --uninstall: the generated user unit in the service user's own systemd.
 * plan reads: lingering (/var/lib/systemd/linger), the unit directory ~SVC/.config/systemd/user
 *   and the unit file there (content, owner, mode), the manager's view of the unit
 *   (`systemctl --user -M SVC@ show`: LoadState, UnitFileState, ActiveState, NeedDaemonReload).
 * apply runs: `loginctl enable-linger`, creates the missing directories (0700, owner SVC), installs
 *   the unit (0644, owner SVC, by rename), `daemon-reload`, `enable --now` (or `restart` when the
 *   running agent's config changed), then waits for ActiveState=active and for the first render.
 * verify reads: the unit file, `systemctl show` (enabled, active, a main PID), and the rendered
 *   files: the key matches the certificate and the chain verifies to the pinned root (proxy: the
 *   CA file verifies).
 * --uninstall is the reverse: `disable --now`, the unit file removed, `daemon-reload`,
 *   `reset-failed`; then nothing of the unit is left in the user's manager.
 */

export interface InstallTarget {
  user: LocalUser;
  /** The name for `-M USER@`, or null for the caller's own manager. */
  manager: string | null;
  unitName: string;
  unitDir: string;
  unitPath: string;
  dirs: string[];
}

export interface InstallPlan {
  target: InstallTarget;
  actions: string[];
  lingering: boolean;
  missingDirs: string[];
  writeUnit: boolean;
  daemonReload: boolean;
  enableNow: boolean;
  /** The unit runs, and its config or template changed: it must restart to read them. */
  restart: boolean;
  wasActive: boolean;
}

const SHOW = ['LoadState', 'UnitFileState', 'ActiveState', 'SubState', 'NeedDaemonReload', 'MainPID', 'ExecMainStatus', 'NRestarts', 'Result'];

export function installTarget(spec: AgentSpec): InstallTarget {
  const me = currentUser();
  const user = spec.user ?? me;
  const other = user.uid !== me.uid;
  if (other && process.getuid?.() !== 0) throw new OperatorError(`Installing the agent into ${user.name}'s systemd needs root (certwright runs as ${me.name}).`, `Run the same command as root (sudo), or drop --install and run the printed commands as root.`);
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const config = path.join(user.home, '.config');
  const unitDir = path.join(config, 'systemd', 'user');
  return { user, manager: other ? user.name : null, unitName: p.unitName, unitDir, unitPath: path.join(unitDir, p.unitName), dirs: [config, path.join(config, 'systemd'), unitDir] };
}

async function refuseLinks(target: InstallTarget): Promise<void> {
  for (const d of [...target.dirs, target.unitPath]) {
    const st = await fsp.lstat(d).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new OperatorError(`${d} is a symbolic link; certwright does not install units through links (root would write where it points).`, `Remove the link (rm ${d}) and run the command again.`);
    if (st && !st.isSymbolicLink() && st.uid !== target.user.uid) throw new OperatorError(`${d} is owned by uid ${st.uid}, not by ${target.user.name}.`, `chown ${target.user.name} ${d}, or remove it, and run the command again.`);
  }
}

/** What --install would do; `configChanged`: the agent config or template is about to change. */
export async function planInstall(spec: AgentSpec, unitText: string, configChanged: boolean): Promise<InstallPlan> {
  const target = installTarget(spec);
  await refuseLinks(target);
  const actions: string[] = [];
  const lingering = isLingering(target.user.name);
  if (!lingering) actions.push(`Run loginctl enable-linger ${target.user.name} (starts ${target.user.name}'s user manager, and keeps it without a login)`);
  const missingDirs = target.dirs.filter((d) => !fs.existsSync(d));
  for (const d of missingDirs) actions.push(`Create ${d} (directory, owner ${target.user.name}, mode 0700)`);
  const st = await fsp.lstat(target.unitPath).catch(() => undefined);
  const same = st ? sha256Hex(await fsp.readFile(target.unitPath)) === sha256Hex(unitText) && (st.mode & 0o777) === 0o644 && st.uid === target.user.uid : false;
  if (!same) actions.push(`${st ? 'Replace' : 'Install'} ${target.unitPath} (systemd user unit, owner ${target.user.name}, mode 0644)`);
  let props: Record<string, string> = {};
  if (lingering) {
    const shown = await showUserUnit(target.manager, target.unitName, SHOW);
    if (!shown.ok) throw new OperatorError(`Cannot reach ${target.user.name}'s systemd to install ${target.unitName}: ${shown.reason}.`, `Check it with \`systemctl --user -M ${target.user.name}@ status\` (as root); a user manager needs systemd as PID 1 and lingering.`);
    props = shown.props;
  }
  const daemonReload = !same || props.NeedDaemonReload === 'yes' || props.LoadState === 'not-found' || !lingering;
  if (daemonReload) actions.push(`Run ${systemctlDisplay(target.manager, ['daemon-reload'])}`);
  const wasActive = props.ActiveState === 'active';
  const enableNow = props.UnitFileState !== 'enabled' || !wasActive;
  const restart = wasActive && (configChanged || !same);
  if (enableNow) actions.push(`Run ${systemctlDisplay(target.manager, ['enable', '--now', target.unitName])}`);
  else if (restart) actions.push(`Run ${systemctlDisplay(target.manager, ['restart', target.unitName])} (the running agent reads its config only at start)`);
  if (enableNow || restart) actions.push(`Wait until ${target.unitName} is active and has rendered (key matches certificate, chain verifies to the pinned root)`);
  return { target, actions, lingering, missingDirs, writeUnit: !same, daemonReload, enableNow, restart, wasActive };
}

async function mustSystemctl(manager: string | null, args: string[]): Promise<void> {
  const r = await systemctlUser(manager, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new ExternalError(`${systemctlDisplay(manager, args)} failed: ${lastLine(r.stderr) || r.error || `exit ${r.code}`}.`, `Look at \`${systemctlDisplay(manager, ['status', args[args.length - 1]!])}\` and the journal.`);
}

async function waitFor<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function applyInstall(spec: AgentSpec, unitText: string, plan: InstallPlan, report: Reporter, options: { renderTimeoutMs?: number } = {}): Promise<Check[]> {
  const t = plan.target;
  if (!plan.lingering) {
    const r = await runProbe('loginctl', ['enable-linger', t.user.name], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new ExternalError(`loginctl enable-linger ${t.user.name} failed: ${lastLine(r.stderr) || r.error || `exit ${r.code}`}.`, 'A user manager needs systemd as PID 1 with logind; run the printed install commands on such a host.');
    const up = await waitFor(30_000, async () => ((await userManagerRunning(t.manager)).ok ? true : undefined));
    if (!up) throw new ExternalError(`${t.user.name}'s user manager did not start after enable-linger (${(await userManagerRunning(t.manager)).state}).`, `Check \`systemctl status user@${t.user.uid}.service\`.`);
    report.done(`Lingering enabled for ${t.user.name}; its user manager runs`);
  }
  const owner = t.manager ? { uid: t.user.uid, gid: t.user.gid } : undefined;
  for (const d of plan.missingDirs) {
    await fsp.mkdir(d, { mode: 0o700 });
    if (owner) await fsp.chown(d, owner.uid, owner.gid);
  }
  if (plan.writeUnit) {
    await writeFileAtomic(t.unitPath, unitText, { mode: 0o644, owner });
    report.done(`Unit installed: ${t.unitPath}`);
  }
  if (plan.daemonReload) await mustSystemctl(t.manager, ['daemon-reload']);
  if (plan.enableNow) await mustSystemctl(t.manager, ['enable', '--now', t.unitName]);
  else if (plan.restart) await mustSystemctl(t.manager, ['restart', t.unitName]);
  if (plan.enableNow || plan.restart) report.done(`${t.unitName} ${plan.restart ? 'restarted' : 'enabled and started'} in ${t.user.name}'s systemd`);
  const checks = await waitForInstalled(spec, unitText, options.renderTimeoutMs ?? 90_000);
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) {
    const journal = await unitJournal(t.manager ? { name: t.user.name, uid: t.user.uid } : null, t.unitName, 8);
    throw new ExternalError(
      `${t.unitName} is installed but not healthy: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}.${journal.ok && journal.lines.length ? ` Last journal lines: ${journal.lines.join(' | ')}` : ''}`,
      `Read \`journalctl _SYSTEMD_USER_UNIT=${t.unitName}\`, then \`certwright doctor\`; fix, and run the same command again.`,
    );
  }
  report.done(`${t.unitName} is active and its first render verifies`);
  return checks;
}

async function waitForInstalled(spec: AgentSpec, unitText: string, timeoutMs: number): Promise<Check[]> {
  let last: Check[] = [];
  await waitFor(timeoutMs, async () => {
    last = await verifyInstall(spec, unitText);
    if (last.every((c) => c.ok)) return true;
    // A failed unit will not render: stop waiting and say so.
    return last.some((c) => c.name === 'unit active' && /failed/.test(c.detail)) ? true : undefined;
  });
  return last;
}

/** The unit file, the manager's view, and the first render, read afresh. */
export async function verifyInstall(spec: AgentSpec, unitText: string): Promise<Check[]> {
  const t = installTarget(spec);
  const checks: Check[] = [];
  const c = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const text = await fsp.readFile(t.unitPath, 'utf8').catch(() => undefined);
  c('unit file', text !== undefined && sha256Hex(text) === sha256Hex(unitText), text === undefined ? `${t.unitPath} is missing` : sha256Hex(text) === sha256Hex(unitText) ? `${t.unitPath} as generated` : `${t.unitPath} differs from the generated unit`);
  const shown = await showUserUnit(t.manager, t.unitName, SHOW);
  if (!shown.ok) {
    c('unit active', false, `not checked: ${shown.reason}`);
    return checks;
  }
  const p = shown.props;
  c('unit enabled', p.UnitFileState === 'enabled', `UnitFileState=${p.UnitFileState ?? '?'}`);
  c('unit active', p.ActiveState === 'active' && Number(p.MainPID) > 0, `ActiveState=${p.ActiveState ?? '?'} SubState=${p.SubState ?? '?'} MainPID=${p.MainPID ?? '?'} ExecMainStatus=${p.ExecMainStatus ?? '?'}`);
  const paths = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const render = await verifyHook(spec.kind === 'app' ? { tlsDir: spec.tlsDir, trustFile: paths.trustRoot } : { caOut: spec.caOut, trustFile: paths.trustRoot });
  for (const r of render) c(`first render: ${r.name}`, r.ok, r.detail);
  return checks;
}

export interface UninstallPlan {
  target: InstallTarget;
  actions: string[];
  loaded: boolean;
  enabledOrActive: boolean;
  failed: boolean;
  unitFile: boolean;
}

export async function planUninstall(spec: AgentSpec): Promise<UninstallPlan> {
  const target = installTarget(spec);
  await refuseLinks(target);
  const actions: string[] = [];
  let props: Record<string, string> = {};
  if (isLingering(target.user.name) || !target.manager) {
    const shown = await showUserUnit(target.manager, target.unitName, SHOW);
    if (shown.ok) props = shown.props;
  }
  const loaded = props.LoadState !== undefined && props.LoadState !== 'not-found';
  const enabledOrActive = loaded && (props.UnitFileState === 'enabled' || ['active', 'activating', 'deactivating', 'reloading'].includes(props.ActiveState ?? ''));
  const failed = loaded && props.ActiveState === 'failed';
  const unitFile = fs.existsSync(target.unitPath);
  if (enabledOrActive) actions.push(`Run ${systemctlDisplay(target.manager, ['disable', '--now', target.unitName])}`);
  if (unitFile) actions.push(`Remove ${target.unitPath}`);
  if (unitFile || loaded) actions.push(`Run ${systemctlDisplay(target.manager, ['daemon-reload'])}`);
  if (failed) actions.push(`Run ${systemctlDisplay(target.manager, ['reset-failed', target.unitName])}`);
  return { target, actions, loaded, enabledOrActive, failed, unitFile };
}

export async function applyUninstall(plan: UninstallPlan, report: Reporter): Promise<void> {
  const t = plan.target;
  if (plan.enabledOrActive) await mustSystemctl(t.manager, ['disable', '--now', t.unitName]);
  if (plan.unitFile) await fsp.rm(t.unitPath, { force: true });
  if (plan.unitFile || plan.loaded) await mustSystemctl(t.manager, ['daemon-reload']);
  // After a stop the unit may be "failed" (a killed agent): reset so that nothing is left loaded.
  const shown = await showUserUnit(t.manager, t.unitName, ['LoadState', 'ActiveState']);
  if (shown.ok && shown.props.ActiveState === 'failed') await mustSystemctl(t.manager, ['reset-failed', t.unitName]);
  if (plan.enabledOrActive || plan.unitFile || plan.loaded) report.done(`${t.unitName} stopped, disabled and removed from ${t.user.name}'s systemd`);
}

export async function verifyUninstall(spec: AgentSpec): Promise<Check[]> {
  const t = installTarget(spec);
  const checks: Check[] = [{ name: 'unit file', ok: !fs.existsSync(t.unitPath), detail: fs.existsSync(t.unitPath) ? `${t.unitPath} is still there` : `${t.unitPath} is gone` }];
  const shown = await showUserUnit(t.manager, t.unitName, ['LoadState', 'ActiveState']);
  if (!shown.ok) checks.push({ name: 'unit unloaded', ok: !t.manager || !isLingering(t.user.name), detail: `not checked: ${shown.reason}` });
  else checks.push({ name: 'unit unloaded', ok: shown.props.LoadState === 'not-found' && shown.props.ActiveState === 'inactive', detail: `LoadState=${shown.props.LoadState} ActiveState=${shown.props.ActiveState}` });
  return checks;
}

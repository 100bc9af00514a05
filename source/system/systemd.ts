import fs from 'node:fs';
import os from 'node:os';
import { runProbe, lastLine, type ProbeResult } from './run.js';

/**
 * The one systemd module: every systemctl, loginctl and journalctl call certwright makes (agent
 * --install/--uninstall, status, doctor), through the one process runner. A service user's unit
 * lives in that user's own manager, reached as root with `systemctl --user -M USER@`; the current
 * user's with plain `systemctl --user`.
 */

export interface UnitOwner {
  name: string;
  uid: number;
}

/** The manager to talk to: USER@ for another user, the caller's own otherwise. */
export function managerArgs(user: string | null | undefined): string[] {
  const me = os.userInfo().username;
  return user && user !== me ? ['--user', '-M', `${user}@`] : ['--user'];
}

/** The words an operator would type, for plans ("systemctl --user -M web@ daemon-reload"). */
export function systemctlDisplay(user: string | null | undefined, args: string[]): string {
  return ['systemctl', ...managerArgs(user), ...args].join(' ');
}

export function systemctlUser(user: string | null | undefined, args: string[], options: { timeoutMs?: number; signal?: AbortSignal | undefined } = {}): Promise<ProbeResult> {
  return runProbe('systemctl', [...managerArgs(user), ...args, '--no-pager'], { timeoutMs: options.timeoutMs ?? 30_000, signal: options.signal });
}

export type ShownUnit = { ok: true; props: Record<string, string> } | { ok: false; reason: string };

/** `systemctl --user [-M USER@] show UNIT --property=...`; "not reachable" with systemctl's words. */
export async function showUserUnit(user: string | null | undefined, unit: string, props: string[], signal?: AbortSignal): Promise<ShownUnit> {
  const res = await runProbe('systemctl', [...managerArgs(user), 'show', unit, ...props.map((p) => `--property=${p}`), '--no-pager'], { timeoutMs: 10_000, signal });
  if (res.error === 'ENOENT') return { ok: false, reason: 'systemctl is not installed on this machine' };
  if (res.code !== 0) {
    const why = lastLine(res.stderr) || lastLine(res.stdout) || res.error || `exit ${res.code}`;
    return { ok: false, reason: `${user && user !== os.userInfo().username ? `${user}'s` : 'the'} user systemd is not reachable: ${why}` };
  }
  return { ok: true, props: parseProperties(res.stdout) };
}

export function parseProperties(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Lingering keeps the user's manager running without a login (needed for a service user). */
export function isLingering(user: string): boolean {
  return fs.existsSync(`/var/lib/systemd/linger/${user}`);
}

/** Is USER's manager up (after enable-linger it starts within a second or two)? */
export async function userManagerRunning(user: string | null | undefined): Promise<{ ok: boolean; state: string }> {
  const res = await systemctlUser(user, ['is-system-running'], { timeoutMs: 10_000 });
  const state = res.stdout.trim() || lastLine(res.stderr) || res.error || `exit ${res.code}`;
  return { ok: /^(running|degraded)$/.test(res.stdout.trim()), state };
}

/**
 * The unit's last journal lines. For another user's unit, root reads the system journal by the
 * unit's user-unit field and the user's uid; for one's own, `journalctl --user`.
 */
export async function unitJournal(owner: UnitOwner | null, unit: string, lines: number, options: { since?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<{ ok: true; lines: string[] } | { ok: false; reason: string }> {
  const me = os.userInfo();
  // The unit's own output carries _SYSTEMD_USER_UNIT; what the user manager says about it
  // ("status=218/CAPABILITIES") carries USER_UNIT. Both, of that user only.
  const filter = owner && owner.uid !== me.uid ? [`_SYSTEMD_USER_UNIT=${unit}`, `_UID=${owner.uid}`, '+', `USER_UNIT=${unit}`, `_UID=${owner.uid}`] : ['--user', '-u', unit];
  const res = await runProbe('journalctl', ['--no-pager', '-o', 'cat', '-n', String(lines), ...(options.since ? ['--since', options.since] : []), ...filter], { timeoutMs: 10_000, signal: options.signal });
  if (res.error === 'ENOENT') return { ok: false, reason: 'journalctl is not installed on this machine' };
  if (res.code !== 0) return { ok: false, reason: `journalctl failed: ${lastLine(res.stderr) || res.error || `exit ${res.code}`}` };
  const out = res.stdout.split('\n').filter((l) => l.trim() && !/^-- No entries --$/.test(l.trim()));
  return { ok: true, lines: out.slice(-lines) };
}

import os from 'node:os';
import { runProbe, lastLine } from '../system/run.js';

/**
 * A user unit's state, asked of that user's own systemd: `systemctl --user -M USER@ show UNIT`
 * (the current user: `systemctl --user show UNIT`). Where no user manager is reachable (no
 * systemd as PID 1, no lingering, no session bus) the answer is "unknown" with systemctl's own
 * words as the reason, never a guess.
 */
export interface UnitState {
  state: 'active' | 'activating' | 'deactivating' | 'inactive' | 'failed' | 'not-found' | 'unknown';
  subState?: string;
  result?: string;
  reason?: string;
}

export async function userUnitState(unit: string, user: string | null, signal?: AbortSignal): Promise<UnitState> {
  const me = os.userInfo().username;
  const target = user && user !== me ? ['--user', '-M', `${user}@`] : ['--user'];
  const res = await runProbe('systemctl', [...target, 'show', unit, '--property=LoadState,ActiveState,SubState,Result', '--no-pager'], { timeoutMs: 5000, signal });
  if (res.error === 'ENOENT') return { state: 'unknown', reason: 'systemctl is not installed on this machine' };
  if (res.code !== 0) {
    const why = lastLine(res.stderr) || lastLine(res.stdout) || res.error || `exit ${res.code}`;
    return { state: 'unknown', reason: `${user && user !== me ? `${user}'s` : 'the'} user systemd is not reachable: ${why}` };
  }
  const props = Object.fromEntries(res.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  if (props.LoadState === 'not-found') return { state: 'not-found', reason: `${unit} is not installed for ${user ?? me}` };
  const active = props.ActiveState as UnitState['state'] | undefined;
  const known = ['active', 'activating', 'deactivating', 'inactive', 'failed'];
  if (!active || !known.includes(active)) return { state: 'unknown', reason: `systemctl reported ActiveState=${active ?? '(none)'}` };
  return { state: active, ...(props.SubState ? { subState: props.SubState } : {}), ...(props.Result ? { result: props.Result } : {}) };
}

import { showUserUnit, unitJournal } from '../system/systemd.js';

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
  /** systemd's own words, when the manager answered. */
  activeState?: string;
  /** The exit status of the main process's last run (218 = CAPABILITIES); 0 while it runs. */
  execMainStatus?: number;
  nRestarts?: number;
  fragmentPath?: string;
}

const PROPS = ['LoadState', 'ActiveState', 'SubState', 'Result', 'ExecMainStatus', 'NRestarts', 'FragmentPath'];

export async function userUnitState(unit: string, user: string | null, signal?: AbortSignal): Promise<UnitState> {
  const shown = await showUserUnit(user, unit, PROPS, signal);
  if (!shown.ok) return { state: 'unknown', reason: shown.reason };
  const props = shown.props;
  if (props.LoadState === 'not-found') return { state: 'not-found', reason: `${unit} is not installed for ${user ?? 'the current user'}`, ...(props.ActiveState ? { activeState: props.ActiveState } : {}) };
  const active = props.ActiveState as UnitState['state'] | undefined;
  const known = ['active', 'activating', 'deactivating', 'inactive', 'failed'];
  const facts = {
    ...(props.ActiveState ? { activeState: props.ActiveState } : {}),
    ...(props.ExecMainStatus !== undefined && props.ExecMainStatus !== '' ? { execMainStatus: Number(props.ExecMainStatus) } : {}),
    ...(props.NRestarts ? { nRestarts: Number(props.NRestarts) } : {}),
    ...(props.FragmentPath ? { fragmentPath: props.FragmentPath } : {}),
  };
  if (!active || !known.includes(active)) return { state: 'unknown', reason: `systemctl reported ActiveState=${active ?? '(none)'}`, ...facts };
  return { state: active, ...(props.SubState ? { subState: props.SubState } : {}), ...(props.Result ? { result: props.Result } : {}), ...facts };
}

/** The unit's last journal lines (the agent's own output and systemd's words about it). */
export async function unitLastLines(unit: string, owner: { name: string; uid: number } | null, lines: number, signal?: AbortSignal): Promise<string[] | null> {
  const r = await unitJournal(owner, unit, lines, { signal });
  return r.ok ? r.lines : null;
}

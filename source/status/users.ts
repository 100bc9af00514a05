import { runProbe } from '../system/run.js';

/** A local account's home, from the name service (getent: LDAP/sssd users resolve too). */
export async function userHome(name: string, signal?: AbortSignal): Promise<{ ok: true; home: string; uid: number; gid: number } | { ok: false; reason: string }> {
  if (!/^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(name)) return { ok: false, reason: `"${name}" is not a valid user name` };
  const res = await runProbe('getent', ['passwd', name], { timeoutMs: 5000, signal });
  if (res.code !== 0) return { ok: false, reason: res.error === 'ENOENT' ? 'getent is not installed' : `the user ${name} does not exist on this machine` };
  const f = res.stdout.trim().split('\n')[0]!.split(':');
  if (f.length < 7) return { ok: false, reason: `getent returned an unreadable entry for ${name}` };
  return { ok: true, home: f[5]!, uid: Number(f[2]), gid: Number(f[3]) };
}

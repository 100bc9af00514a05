import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { OperatorError } from '../errors.js';

/** A local account, as the name service knows it (getent, so LDAP/sssd users resolve too). */
export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

export function validateUserName(name: string, flag = '--user'): string {
  if (!USER_RE.test(name)) throw new OperatorError(`${flag} "${name}" is not a valid user name.`, `Pass an existing account name (letters, digits, "_", "-", "."), for example ${flag} web-svc.`);
  return name;
}

export function lookupUser(name: string, flag = '--user'): LocalUser {
  validateUserName(name, flag);
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0] ?? '';
  } catch {
    throw new OperatorError(`The user "${name}" does not exist on this machine.`, `Create it first (useradd -m ${name}) or pass an existing account to ${flag}.`);
  }
  const fields = line.split(':');
  if (fields.length < 7 || fields[0] !== name) throw new OperatorError(`The name service returned an unreadable entry for "${name}".`, 'Check the account with `getent passwd NAME`.');
  return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
}

export function currentUser(): LocalUser {
  const info = os.userInfo();
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
}

/** The owner to give files: the named user, or nobody in particular (the current user). */
export function ownerFor(user: LocalUser | undefined): { uid: number; gid: number } | undefined {
  if (!user) return undefined;
  const me = process.getuid?.();
  if (me === user.uid) return undefined;
  return { uid: user.uid, gid: user.gid };
}

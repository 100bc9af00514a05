import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { OperatorError, UsageError } from '../errors.js';
import { parseCertificates } from '../pki/pem.js';
import { readTextFile, writeFileAtomic, sha256Hex } from '../system/files.js';
import { lookupUser, type LocalUser } from '../system/users.js';
import { emptyPlan, type Plan, type Reporter } from './context.js';
import type { Check } from '../pki/checks.js';

/**
 * distribute-ca — the CA file each service user's agent trusts for Vault's HTTPS.
 * plan reads: the CA file (PEM certificates only), each user's account and trust path.
 * apply writes: HOME/RELPATH (0644, owned by the user) inside a 0700 directory owned by the user;
 *   a file with identical content is not rewritten (only its owner/mode fixed when wrong). Links
 *   are never followed under a user's home: a symlink in the path is refused for that user.
 * verify reads: each user's file afresh (content, owner, mode) and its directory (owner, 0700).
 */
export const STEP_ID = 'distribute-ca';
import { DEFAULT_TRUST_PATH } from '../defaults.js';

export { DEFAULT_TRUST_PATH };

export interface DistributeInput {
  caFile: string;
  users: string[];
  relPath: string;
}

export interface UserOutcome {
  user: string;
  path: string;
  status: 'written' | 'updated' | 'unchanged' | 'fixed' | 'failed';
  detail: string;
}

export function validateRelPath(rel: string): string {
  const norm = path.posix.normalize(rel.trim());
  if (!norm || path.isAbsolute(norm) || norm === '.' || norm.split('/').some((s) => s === '..') || norm.endsWith('/')) {
    throw new UsageError(`--path "${rel}" is not a relative file path inside the home directory.`, `Pass a path relative to each user's home, e.g. --path ${DEFAULT_TRUST_PATH}.`);
  }
  return norm;
}

async function loadCa(file: string): Promise<string> {
  const text = await readTextFile(file, '--ca');
  if (/PRIVATE KEY/.test(text)) throw new OperatorError(`--ca ${file} contains a private key.`, 'Pass a file with CA certificates only; a key must never be distributed.');
  const certs = parseCertificates(text, file);
  const notCa = certs.find((c) => !c.ca);
  if (notCa) throw new OperatorError(`--ca ${file} holds a certificate that is not a CA (${notCa.subject.replace(/\n/g, ', ')}).`, 'Pass the root CA (optionally with intermediates) that signed Vault\'s certificate.');
  return text.endsWith('\n') ? text : `${text}\n`;
}

interface Target {
  user: LocalUser;
  file: string;
  dirs: string[];
}

function targetFor(user: LocalUser, rel: string): Target {
  const file = path.join(user.home, rel);
  const dirs: string[] = [];
  for (let d = path.dirname(file); d !== user.home && d.startsWith(`${user.home}/`); d = path.dirname(d)) dirs.unshift(d);
  return { user, file, dirs };
}

type Inspect = { action: 'write' | 'update' | 'fix' | 'none'; notes: string[] };

async function inspect(t: Target, content: string): Promise<Inspect> {
  const notes: string[] = [];
  if (!fs.existsSync(t.user.home)) throw new OperatorError(`the home directory ${t.user.home} does not exist`, `Create it (useradd -m ${t.user.name}) first.`);
  for (const [i, d] of t.dirs.entries()) {
    let st: fs.Stats;
    try {
      st = await fsp.lstat(d);
    } catch {
      notes.push(`create ${d} (0700)`);
      continue;
    }
    if (st.isSymbolicLink()) throw new OperatorError(`${d} is a symbolic link; certwright does not follow links in another user's home`, `Replace the link with a directory, or pick another --path.`);
    if (!st.isDirectory()) throw new OperatorError(`${d} is not a directory`, 'Move it away or pick another --path.');
    if (st.uid !== t.user.uid && st.uid !== 0) throw new OperatorError(`${d} belongs to uid ${st.uid}, neither ${t.user.name} nor root`, `Give it to ${t.user.name} (chown) or pick another --path.`);
    if (i === t.dirs.length - 1 && ((st.mode & 0o777) !== 0o700 || st.uid !== t.user.uid)) notes.push(`set ${d} to 0700 owned by ${t.user.name}`);
  }
  let st: fs.Stats;
  try {
    st = await fsp.lstat(t.file);
  } catch {
    return { action: 'write', notes };
  }
  if (st.isSymbolicLink() || !st.isFile()) throw new OperatorError(`${t.file} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; it is not replaced`, 'Remove it and run again.');
  const same = sha256Hex(await fsp.readFile(t.file)) === sha256Hex(content);
  if (!same) return { action: 'update', notes };
  if ((st.mode & 0o777) !== 0o644 || st.uid !== t.user.uid || st.gid !== t.user.gid) return { action: 'fix', notes: [...notes, `set ${t.file} to 0644 owned by ${t.user.name}`] };
  return { action: notes.length ? 'fix' : 'none', notes };
}

export async function planDistributeCa(input: DistributeInput): Promise<Plan & { outcomes: UserOutcome[] }> {
  const content = await loadCa(input.caFile);
  const plan = { ...emptyPlan(), outcomes: [] as UserOutcome[] };
  const certs = parseCertificates(content, input.caFile);
  plan.facts.push(['CA', `${certs.length} certificate(s), first ${certs[0]!.fingerprint256}`], ['Path', `~/${input.relPath}`]);
  for (const name of input.users) {
    try {
      const t = targetFor(lookupUser(name, '--users'), input.relPath);
      const r = await inspect(t, content);
      if (r.action === 'none') plan.outcomes.push({ user: name, path: t.file, status: 'unchanged', detail: 'identical content, owner and mode' });
      else {
        plan.actions.push(`${name}: ${r.action === 'write' ? 'write' : r.action === 'update' ? 'replace' : 'fix'} ${t.file}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
        plan.outcomes.push({ user: name, path: t.file, status: r.action === 'write' ? 'written' : r.action === 'update' ? 'updated' : 'fixed', detail: r.notes.join('; ') });
      }
    } catch (error) {
      plan.warnings.push(`${name}: ${(error as Error).message}`);
      plan.outcomes.push({ user: name, path: '', status: 'failed', detail: (error as Error).message });
    }
  }
  return plan;
}

async function applyOne(t: Target, content: string): Promise<UserOutcome> {
  const r = await inspect(t, content);
  const owner = { uid: t.user.uid, gid: t.user.gid };
  const me = process.getuid?.();
  if (r.action === 'none') return { user: t.user.name, path: t.file, status: 'unchanged', detail: 'identical content, owner and mode; not rewritten' };
  for (const [i, d] of t.dirs.entries()) {
    if (!fs.existsSync(d)) {
      await fsp.mkdir(d, { mode: 0o700 });
      if (me !== t.user.uid) await fsp.chown(d, owner.uid, owner.gid);
    }
    if (i === t.dirs.length - 1) {
      const st = await fsp.lstat(d);
      if (st.uid !== t.user.uid) await fsp.chown(d, owner.uid, owner.gid);
      if ((st.mode & 0o777) !== 0o700) await fsp.chmod(d, 0o700);
    }
  }
  if (r.action === 'write' || r.action === 'update') {
    await writeFileAtomic(t.file, content, { mode: 0o644, owner: me === t.user.uid ? undefined : owner });
    return { user: t.user.name, path: t.file, status: r.action === 'write' ? 'written' : 'updated', detail: r.action === 'write' ? 'written (0644)' : 'content differed; replaced (0644)' };
  }
  const st = await fsp.lstat(t.file);
  if (st.uid !== t.user.uid || st.gid !== t.user.gid) await fsp.chown(t.file, owner.uid, owner.gid);
  if ((st.mode & 0o777) !== 0o644) await fsp.chmod(t.file, 0o644);
  return { user: t.user.name, path: t.file, status: 'fixed', detail: `identical content kept; ${r.notes.join('; ')}` };
}

/** Each user on its own: one user's failure is reported and the others still get the CA. */
export async function applyDistributeCa(input: DistributeInput, report: Reporter): Promise<UserOutcome[]> {
  const content = await loadCa(input.caFile);
  const outcomes: UserOutcome[] = [];
  for (const name of input.users) {
    let outcome: UserOutcome;
    try {
      outcome = await applyOne(targetFor(lookupUser(name, '--users'), input.relPath), content);
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { fix?: string };
      const why = e.code === 'EPERM' || e.code === 'EACCES' ? `permission denied (${e.message}); run as root to write into another user's home` : `${e.message}${e.fix ? `. ${e.fix}` : ''}`;
      outcome = { user: name, path: '', status: 'failed', detail: why };
    }
    outcomes.push(outcome);
    if (outcome.status === 'failed') report.warn(`${name}: ${outcome.detail}`);
    else report.done(`${name}: ${outcome.path} ${outcome.status}${outcome.status === 'unchanged' ? '' : ` — ${outcome.detail}`}`);
  }
  return outcomes;
}

export async function verifyDistributeCa(input: DistributeInput): Promise<Check[]> {
  const content = await loadCa(input.caFile);
  const checks: Check[] = [];
  for (const name of input.users) {
    try {
      const t = targetFor(lookupUser(name, '--users'), input.relPath);
      const r = await inspect(t, content);
      checks.push({ name: `${name}: ${t.file}`, ok: r.action === 'none', detail: r.action === 'none' ? 'identical, 0644 in a 0700 dir' : r.notes.join('; ') || r.action });
    } catch (error) {
      checks.push({ name: `${name}`, ok: false, detail: (error as Error).message });
    }
  }
  return checks;
}

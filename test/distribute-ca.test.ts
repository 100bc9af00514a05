import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, modeOf } from './helpers/env.js';
import { makeTestCa, type TestCa } from './helpers/certs.js';

const RUN = randomBytes(3).toString('hex');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('[distribute-ca.test] SKIPPED: creating service users (useradd) and writing into their homes needs root');
const users = [`cw4d${RUN}a`, `cw4d${RUN}b`];
const ids: Record<string, { uid: number; gid: number; home: string }> = {};
let ca: TestCa;

beforeAll(() => {
  ca = makeTestCa(tempDir('cw-dca-'), 'Dist');
  if (!isRoot) return;
  for (const u of users) {
    execFileSync('useradd', ['-m', '-s', '/usr/sbin/nologin', u], { stdio: 'ignore' });
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', u], { encoding: 'utf8' }).trim().split(':');
    ids[u] = { uid: Number(uid), gid: Number(gid), home: home! };
  }
});
afterAll(() => {
  if (!isRoot) return;
  for (const u of users) {
    try {
      execFileSync('userdel', ['-r', u], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
});

describe.skipIf(!isRoot)('certwright distribute-ca', () => {
  it('writes the CA per user (owned by the user, 0644 in a 0700 dir), does not rewrite identical content, reports per user', async () => {
    const caFile = path.join(ca.dir, 'bundle.pem');
    fs.writeFileSync(caFile, ca.rootPem);
    const r1 = await cli(['distribute-ca', '--ca', caFile, '--users', users.join(',')]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    for (const u of users) {
      const file = path.join(ids[u]!.home, '.config', 'certwright', 'ca.pem');
      expect(r1.stdout).toContain(`${u}\twritten\t${file}`);
      expect(fs.readFileSync(file, 'utf8')).toBe(ca.rootPem);
      expect(modeOf(file)).toBe(0o644);
      expect(fs.statSync(file).uid).toBe(ids[u]!.uid);
      expect(fs.statSync(file).gid).toBe(ids[u]!.gid);
      expect(modeOf(path.dirname(file))).toBe(0o700);
      expect(fs.statSync(path.dirname(file)).uid).toBe(ids[u]!.uid);
    }
    const file0 = path.join(ids[users[0]!]!.home, '.config', 'certwright', 'ca.pem');
    const before = fs.statSync(file0);
    const r2 = await cli(['distribute-ca', '--ca', caFile, '--users', users.join(',')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout.match(/\tunchanged\t/g)).toHaveLength(2);
    const after = fs.statSync(file0);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // a wrong mode is fixed without rewriting; new content replaces the file
    fs.chmodSync(file0, 0o600);
    const r3 = await cli(['distribute-ca', '--ca', caFile, '--users', users[0]!]);
    expect(r3.stdout).toContain(`${users[0]}\tfixed\t`);
    expect(modeOf(file0)).toBe(0o644);
    expect(fs.statSync(file0).ino).toBe(before.ino);
    fs.writeFileSync(caFile, `${ca.intPem}${ca.rootPem}`);
    const r4 = await cli(['distribute-ca', '--ca', caFile, '--users', users[0]!, '--dry-run']);
    expect(r4.stderr).toMatch(/replace .*ca\.pem/);
    expect(fs.readFileSync(file0, 'utf8')).toBe(ca.rootPem);
    const r5 = await cli(['distribute-ca', '--ca', caFile, '--users', users[0]!]);
    expect(r5.stdout).toContain(`${users[0]}\tupdated\t`);
    expect(fs.readFileSync(file0, 'utf8')).toBe(`${ca.intPem}${ca.rootPem}`);
  });

  it('refuses links in a user\'s home and unknown users, still serving the others, and exits non-zero', async () => {
    const caFile = path.join(ca.dir, 'root-only.pem');
    fs.writeFileSync(caFile, ca.rootPem);
    const [a, b] = users as [string, string];
    // user a turns its trust dir into a link to a root-owned place
    const trap = tempDir('cw-trap-');
    const rel = 'trust/vault/ca.pem';
    fs.mkdirSync(path.join(ids[a]!.home, 'trust'), { recursive: true });
    fs.chownSync(path.join(ids[a]!.home, 'trust'), ids[a]!.uid, ids[a]!.gid);
    fs.symlinkSync(trap, path.join(ids[a]!.home, 'trust', 'vault'));
    const r = await cli(['distribute-ca', '--ca', caFile, '--users', `${a},${b},nosuchuser${RUN}`, '--path', rel]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${a}\\tfailed\\t-\\t.*is a symbolic link`));
    expect(r.stdout).toMatch(new RegExp(`${b}\\twritten\\t${ids[b]!.home}/trust/vault/ca.pem`));
    expect(r.stdout).toMatch(new RegExp(`nosuchuser${RUN}\\tfailed\\t-\\t.*does not exist`));
    expect(r.stderr).toMatch(/the CA was not distributed to/);
    expect(fs.readdirSync(trap)).toEqual([]);
  });

  it('rejects a key, a non-CA certificate and an escaping path', async () => {
    const leaf = ca.issue('web.test');
    const keyFile = path.join(ca.dir, 'with-key.pem');
    fs.writeFileSync(keyFile, `${ca.rootPem}${leaf.key}`);
    const leafFile = path.join(ca.dir, 'leaf-only.pem');
    fs.writeFileSync(leafFile, leaf.cert);
    expect((await cli(['distribute-ca', '--ca', keyFile, '--users', users[0]!])).stderr).toMatch(/contains a private key/);
    expect((await cli(['distribute-ca', '--ca', leafFile, '--users', users[0]!])).stderr).toMatch(/not a CA/);
    const esc = await cli(['distribute-ca', '--ca', path.join(ca.dir, 'root.pem'), '--users', users[0]!, '--path', '../../etc/ca.pem']);
    expect(esc.exitCode).toBe(2);
    expect(esc.stderr).toMatch(/not a relative file path inside the home/);
  });
});

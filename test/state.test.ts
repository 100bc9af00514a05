import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/env.js';
import { acquireLock, LockHeldError } from '../state/lock.js';
import { StateStore } from '../state/store.js';
import { emptyState, assertNoSecrets, StateFileError, STATE_VERSION } from '../state/schema.js';
import { beginStep, completeStep } from '../state/transitions.js';
import { appendTranscript, verifyTranscript } from '../state/transcript.js';
import { VERSION } from '../source/version.js';

describe('state store', () => {
  it('writes mode 0600 atomically and reads back what was written', () => {
    const dir = tempDir();
    const store = new StateStore('prod', path.join(dir, 'envs', 'prod', 'state.json'));
    expect(store.exists()).toBe(false);
    const now = new Date('2026-11-22T00:00:00Z');
    let state = emptyState('prod', now);
    state = beginStep(state, 'intermediate-request', 'pki_int', now, { keyId: 'abc' });
    state = completeStep(state, 'intermediate-request', 'pki_int', now, [{ kind: 'csr', path: '/x.csr', sha256: 'f'.repeat(64) }], { csrSha256: 'f'.repeat(64) });
    store.write(state);
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
    expect(new StateStore('prod', store.file).read()).toEqual(state);
    expect(fs.readdirSync(path.dirname(store.file))).toEqual(['state.json']);
  });

  it('refuses to persist secrets', () => {
    expect(() => assertNoSecrets({ facts: { token: 'x' } })).toThrow(/field "token"/);
    expect(() => assertNoSecrets({ facts: { note: 'hvs.AAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).toThrow(/secret-looking/);
    expect(() => assertNoSecrets({ facts: { pem: '-----BEGIN EC PRIVATE KEY-----' } })).toThrow(/secret-looking/);
    expect(() => assertNoSecrets({ facts: { keyId: 'abc', serial: '01:02' } })).not.toThrow();
  });

  it('names the file when the state is corrupt or from a newer version, and never resets it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'envs', 'prod', 'state.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ ...emptyState('prod', new Date()), version: STATE_VERSION + 1 }));
    expect(() => new StateStore('prod', file).read()).toThrow(StateFileError);
    expect(() => new StateStore('prod', file).read()).toThrow(/written by a newer certwright/);
    fs.writeFileSync(file, JSON.stringify({ version: 1, env: 'prod', steps: { x: { status: 'weird' } }, mounts: {} }));
    expect(() => new StateStore('prod', file).read()).toThrow(/step "x" is malformed/);
    fs.writeFileSync(file, JSON.stringify(emptyState('test', new Date())));
    expect(() => new StateStore('prod', file).read()).toThrow(/belongs to environment "test"/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).env).toBe('test');
  });
});

describe('lock', () => {
  it('refuses a live holder by PID and recovers a dead one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'lock');
    const first = acquireLock(file, 'one');
    expect(() => acquireLock(file, 'two')).toThrow(LockHeldError);
    first.release();
    expect(fs.existsSync(file)).toBe(false);
    // A lock left by a process that is gone
    const child = spawn('true');
    const pid = child.pid!;
    await new Promise((r) => child.once('exit', r));
    fs.writeFileSync(file, JSON.stringify({ pid, host: os.hostname(), command: 'killed', since: new Date().toISOString() }));
    const recovered = acquireLock(file, 'three');
    expect(recovered.recoveredFrom?.pid).toBe(pid);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    recovered.release();
  });
});

describe('lock: written whole, damaged ones recovered, other hosts refused (issue 12, points 6-7)', () => {
  it('leaves only the lock file, holding PID, host and command, and nothing on release', () => {
    const dir = tempDir();
    const file = path.join(dir, 'lock');
    const lock = acquireLock(file, 'whole');
    expect(fs.readdirSync(dir)).toEqual(['lock']);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'whole' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['garbage', '\u0000\u0000{"pi'],
    ['a holder without a PID', JSON.stringify({ host: os.hostname(), command: 'x' })],
  ])('recovers %s lock at once', (_what, content) => {
    const dir = tempDir();
    const file = path.join(dir, 'lock');
    // Written just now: no waiting for it to age
    fs.writeFileSync(file, content);
    const started = Date.now();
    const lock = acquireLock(file, 'after-enospc');
    expect(Date.now() - started).toBeLessThan(500);
    expect(lock.recoveredDamaged).toBe(true);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    expect(fs.readdirSync(dir)).toEqual(['lock']);
    lock.release();
  });

  it('refuses a lock of another host, naming host and PID, and takes it over only for that exact holder', () => {
    const dir = tempDir();
    const file = path.join(dir, 'lock');
    const foreign = { pid: 4242, host: 'build-7.example', command: 'intermediate request', since: '2026-12-01T08:00:00.000Z' };
    fs.writeFileSync(file, JSON.stringify(foreign));
    let refused: unknown;
    try {
      acquireLock(file, 'here');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as LockHeldError).otherHost).toBe(true);
    expect((refused as LockHeldError).message).toContain('PID 4242 on build-7.example');
    // Breaking asks for exactly this holder: another one is still refused
    expect(() => acquireLock(file, 'here', { breakForeign: { ...foreign, since: '2026-12-01T09:00:00.000Z' } })).toThrow(LockHeldError);
    const lock = acquireLock(file, 'here', { breakForeign: foreign });
    expect(lock.recoveredFrom).toEqual(foreign);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).host).toBe(os.hostname());
    lock.release();
  });
});

describe('transcript', () => {
  it('chains entries by hash and finds a removed entry', () => {
    const dir = tempDir();
    const file = path.join(dir, 'transcript.jsonl');
    appendTranscript(file, 'root-create', { fingerprint: 'AA' });
    appendTranscript(file, 'intermediate-sign', { serial: '01' });
    appendTranscript(file, 'intermediate-sign', { serial: '02' });
    expect(verifyTranscript(file)).toEqual({ ok: true, entries: 3 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.writeFileSync(file, `${[lines[0], lines[2]].join('\n')}\n`);
    expect(verifyTranscript(file)).toMatchObject({ ok: false, brokenAt: 2 });
    expect(() => appendTranscript(file, 'x', { passphrase: 'p' })).toThrow(/passphrase/);
  });
});

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});

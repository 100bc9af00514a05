import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, openssl, writePassphrase, BIN } from './helpers/env.js';
import { TmuxSession } from './helpers/tmux.js';

let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});

function envFor(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: home };
}

describe('wizard in a real terminal (tmux, 80x24, NO_COLOR)', () => {
  it('an operator runs the root ceremony through the wizard', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tmx', '--out', out], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Root CA name (CN)');
    await session.text('Tmux Root CA');
    await session.keys('Enter');
    await session.waitFor('EC P-384');
    await session.keys('Down', 'Enter'); // EC P-256
    await session.waitFor('Validity');
    await session.text('5y');
    await session.keys('Enter');
    await session.waitFor('Path length');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Enter: continue');
    const plan = await session.screen();
    expect(plan).toMatch(/Key\s+ec-p256/);
    expect(plan).toMatch(/Validity\s+5y/);
    await session.keys('Enter');
    await session.waitFor('New passphrase');
    await session.text('tmux passphrase 123');
    await session.keys('Enter');
    await session.waitFor('Type the passphrase again');
    expect(await session.screen()).not.toContain('tmux passphrase 123');
    await session.text('tmux passphrase 123');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Tmux Root CA');
    await session.keys('Enter');
    const done = await session.waitFor('SHA-256 fingerprint');
    const fp = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1]!.trim();
    expect(done.replace(/\s+/g, '')).toContain(fp);
    // The ceremony closes with the transcript's head, for the witnesses to write down.
    expect(done.replace(/\s+/g, '')).toMatch(/Transcripthead\(entry1\),forthewitnessestowritedown:[0-9a-f]{64}RootCAcreated/);
    // Every line fits 80 columns
    for (const line of done.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const text = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/prime256v1/);
    await session.keys('Enter');
    await session.waitFor(/✓ Offline root CA/);
    await session.keys('q');
    await session.waitFor('[exit 0]');
    const pass = writePassphrase(work, 'tmux passphrase 123');
    expect((await openssl(['pkey', '-in', path.join(out, 'root-ca.key'), '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
  });

  it('Ctrl-C at the passphrase leaves nothing behind, and the next run starts clean', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tmc', '--out', out, '--cn', 'Interrupted CA', '--key-type', 'ec-p256'], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Validity');
    await session.keys('Enter');
    await session.waitFor('Path length');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('New passphrase');
    await session.keys('C-c');
    await session.waitFor(/\[exit \d+\]/);
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'envs', 'tmc', 'lock'))).toBe(false);
    await session.kill();
    // Resume: the same command works from the start
    session = await TmuxSession.start(['node', BIN, '--env', 'tmc', '--out', out, '--cn', 'Interrupted CA', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '0', '--passphrase-file', writePassphrase(work)], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Interrupted CA');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(true);
  });

  it('the lab: `certwright lab` starts OpenBao, and the wizard builds root and intermediate on it', async () => {
    const work = tempDir();
    session = await TmuxSession.start(['node', BIN, 'lab', '--state-dir', path.join(work, 'state'), '--out', path.join(work, 'root'), '--cn', 'Lab Root', '--key-type', 'ec-p256', '--ttl', '2y', '--path-len', '1', '--passphrase-file', writePassphrase(work), '--mount', 'pki_lab', '--intermediate-cn', 'Lab Int', '--root-dir', path.join(work, 'root')], { env: envFor(path.join(work, 'unused')), height: 30, width: 100 });
    await session.waitFor('certwright · lab');
    await session.keys('Enter');
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Lab Root');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    await session.keys('Enter');
    // The selection stays on the step just done; the intermediate is one key down
    await session.waitFor(/Intermediate in Vault \(pki_lab\).*not requested yet/);
    await session.keys('Down', 'Enter');
    await session.waitFor('Enter: apply');
    await session.keys('Enter');
    await session.waitFor('Intermediate installed: issuer');
    await session.keys('Enter');
    await session.waitFor(/✓ Intermediate in Vault \(pki_lab\)/);
    await session.keys('q');
    await session.waitFor('Lab stopped');
    await session.waitFor('[exit 0]');
    const cert = path.join(work, 'state', 'envs', 'lab', 'artefacts', 'pki_lab-intermediate.pem');
    expect((await openssl(['verify', '-CAfile', path.join(work, 'root', 'root-ca.pem'), cert])).exitCode).toBe(0);
  });

  it('--plain runs the same ceremony with line prompts (no full-screen UI)', async () => {
    const work = tempDir();
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--plain', '--env', 'pl', '--out', out, '--cn', 'Plain CA', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '0'], { env: envFor(path.join(work, 'home')) });
    await session.waitFor('Open a step');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Plan: offline root');
    await session.waitFor('New passphrase');
    await session.text('plain passphrase 1');
    await session.keys('Enter');
    await session.waitFor('Type it again');
    await session.text('plain passphrase 1');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Plain CA');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    await session.waitFor('[done] Offline root CA');
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(true);
  });
});

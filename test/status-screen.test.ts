import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tempDir, useOpenBao, vaultEnv } from './helpers/env.js';
import { TmuxSession } from './helpers/tmux.js';
import { assertFits } from './helpers/frame.js';
import { VaultClient } from '../source/vault/client.js';
import { appendEvent } from '../source/status/events.js';
import { envPaths } from '../source/paths.js';
import { freePort } from '../source/system/openbao.js';
import { issueLeaf, makeIntermediate, makeRoot, writeRole } from './helpers/status.js';

/**
 * The live status screen in a real terminal (tmux, 80x24, NO_COLOR), driven like a person:
 * tabs and arrows between sections, enter for details, q to quit. The binary runs under env -i
 * (as test/helpers/tmux.ts does), so a CI=true runner does not switch Ink to last-frame output.
 */
const bao = useOpenBao();
const work = tempDir('cw-status-screen-');
const home = path.join(work, 'home');
const certDir = path.join(work, 'certs');
let shortLeaf: X509Certificate;
let rootFile: string;
let session: TmuxSession | undefined;

beforeAll(async () => {
  const dev = bao.server();
  const root = await makeRoot(home, 'scr', work);
  await makeIntermediate(home, 'scr', 'pki_scr', root, vaultEnv(dev, home));
  const client = new VaultClient({ addr: dev.addr, token: dev.token });
  await writeRole(client, 'pki_scr', 'web');
  fs.mkdirSync(certDir);
  const short = await issueLeaf(client, 'pki_scr', 'web', 'short.scr.test', '72h');
  const long = await issueLeaf(client, 'pki_scr', 'web', 'long.scr.test', '720h');
  fs.writeFileSync(path.join(certDir, 'short.pem'), short.certificate);
  fs.writeFileSync(path.join(certDir, 'short.key'), short.privateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(certDir, 'long.pem'), long.certificate);
  // The root in a second file: two rows, told apart by their paths, each saying where else it is.
  fs.copyFileSync(root.rootFile, path.join(certDir, 'root-copy.pem'));
  rootFile = root.rootFile;
  shortLeaf = new X509Certificate(short.certificate);
  const events = envPaths('scr', { stateDir: home }).events;
  appendEvent(events, 'scr', 'rotated', { workload: 'app/web', serial: short.serial });
  appendEvent(events, 'scr', 'reload-failed', { workload: 'app/web', container: 'web', detail: 'exit 1' });
}, 90_000);

afterEach(async () => {
  await session?.kill();
  session = undefined;
});

function termEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: home, ...extra };
}

/** The pane with its escape sequences, to see whether colour was drawn. */
async function withEscapes(s: TmuxSession): Promise<string> {
  return String((await execa('tmux', ['-L', `cw-test-${s.name}`, 'capture-pane', '-p', '-e', '-t', s.name])).stdout);
}
const COLOUR = /\u001B\[[0-9;]*(3[0-7]|9[0-7]|38;5;\d+)m/;

function fits(screen: string): void {
  for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
}

describe('status screen in a real terminal (tmux, 80x24, NO_COLOR)', () => {
  it('shows every section, moves with tab and arrows, opens details with enter, quits with q', async () => {
    const dev = bao.server();
    session = await TmuxSession.start(['node', BIN, 'status', '--env', 'scr', '--cert-dir', certDir, '--warn-days', '14', '--interval', '30', '--select', `cw5-none=${process.pid}`], { env: termEnv({ VAULT_ADDR: dev.addr, VAULT_TOKEN: dev.token }) });
    let s = await session.waitFor(/WARNING/);
    expect(s).toMatch(/certwright status · scr · ! WARNING/);
    expect(s).toMatch(/\[Vault !\] +PKI ✓ +Agents \? +Containers \? +Certs ! +CA \? +Events ✓/);
    expect(s).toContain('Vault — Vault is served over plain HTTP');
    expect(s).toContain(`Address    ${dev.addr} (plain HTTP)`);
    expect(s).toMatch(/Sealed\s+no/);
    expect(s).toContain('q quit · tab/←→ section · ↑↓ select · enter details · r refresh');
    expect(await withEscapes(session)).not.toMatch(COLOUR);
    expect(s).toMatch(/Recent events\n.*rotated app\/web\n.*✗ .*reload-failed web — exit 1/);
    fits(s);

    await session.keys('Tab');
    s = await session.waitFor('[PKI');
    expect(s).toMatch(/▸ ✓ pki_scr {2}2 issuer\(s\) · default \S+ \d+d left/);
    await session.keys('Enter');
    s = await session.waitFor('Max lease TTL');
    expect(s).toMatch(/Default issuer \S+ +CN=scr pki_scr CA/);
    expect(s).toMatch(/root \S+ +CN=scr Root CA/);
    fits(s);
    await session.keys('Escape');
    await session.waitFor('▸ ✓ pki_scr');

    await session.keys('Right');
    s = await session.waitFor('[Agents');
    expect(s).toContain('unknown: no agent is recorded for this environment');
    await session.keys('Right', 'Right');
    s = await session.waitFor('[Certs');
    // One row per file, the path its heading, worst first: the 72-hour leaf inside the 14-day window leads.
    assertFits(s, 80, 24);
    expect(s).toContain(`▸ ! ${path.join(certDir, 'short.pem')}`);
    expect(s).toMatch(/\n {4}2d left leaf short\.scr\.test · no reader known\n/);
    expect(s).toContain(`  ✓ ${path.join(certDir, 'long.pem')}`);
    expect(s).toMatch(/\n {4}\d+d left leaf long\.scr\.test · no reader known\n/);
    // The root twice: its own file (status reads it as the environment's root) and the copy.
    const flat = s.replace(/\s+/g, '');
    expect(flat).toContain(`✓${path.join(certDir, 'root-copy.pem')}`);
    expect(flat).toContain(`✓${rootFile}`);
    expect(s.replace(/\s+/g, ' ')).toMatch(/root scr Root CA · no reader known · also in 1 other file/);
    expect(s.replace(/\s+/g, ' ')).toMatch(/root scr Root CA · read by status and doctor · also in 1 other file/);
    await session.keys('Enter');
    s = await session.waitFor('Fingerprint');
    assertFits(s, 80, 24);
    expect(s).toContain(path.join(certDir, 'short.pem'));
    expect(s).toMatch(/Read by +no reader known to certwright/);
    expect(s.replace(/\s+/g, '')).toContain(shortLeaf.fingerprint256.replace(/\s+/g, ''));
    expect(s).toMatch(/Key +.*short\.key: matches/);
    expect(s).toMatch(/Chain to root +verifies/);
    fits(s);
    await session.keys('Enter');
    await session.keys('Down');
    s = await session.waitFor(`▸ ✓ ${path.join(certDir, 'long.pem')}`);
    await session.keys('Left');
    s = await session.waitFor('[Containers');
    await session.keys('BTab');
    await session.waitFor('[Agents');
    await session.keys('q');
    s = await session.waitFor(/\[exit \d+\]/);
    expect(s).toContain('[exit 8]');
  });

  it('backs off while Vault cannot be reached, and says so (in colour when NO_COLOR is unset)', async () => {
    const closed = await freePort();
    const env = termEnv({ VAULT_ADDR: `http://127.0.0.1:${closed}` });
    delete env.NO_COLOR;
    session = await TmuxSession.start(['node', BIN, 'status', '--env', 'scr', '--interval', '2', '--select', `cw5-none=${process.pid}`], { env });
    let s = await session.waitFor('backing off ×2');
    expect(s).toMatch(/✗ FAILING/);
    expect(await withEscapes(session)).toMatch(COLOUR);
    expect(s).toContain(`Address    http://127.0.0.1:${closed}`);
    s = await session.waitFor('backing off ×4', 20_000);
    expect(s).toMatch(/next in [0-8]s \(backing off ×4\)/);
    await session.keys('q');
    await session.waitFor('[exit 9]');
  });
});

/**
 * The lab reaches the end, in a real terminal (tmux, 80x24, NO_COLOR), driven by keys as a person
 * would: the root ceremony, the intermediate into the lab's own Vault (a real server, not dev
 * mode), Vault's certificate and the move of that same server to HTTPS, the AIA/CRL switch, and an
 * app agent started as a process (the lab has no systemd) that renders its first leaf over HTTPS.
 * Then `status --json` for the lab exits 0, and quitting leaves no process behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writePassphrase, cli, BIN } from './helpers/env.js';
import { TmuxSession } from './helpers/tmux.js';
import { frameProblems } from './helpers/frame.js';
import { loadEstate } from '../source/estate/load.js';

let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});

/** Moves the overview's selection (▸) to the row with this title. */
async function select(s: TmuxSession, title: string): Promise<void> {
  // The overview re-verifies completed steps before it lists them: wait for the list.
  await s.waitFor(title, 60_000);
  const position = (screen: string) => {
    const rows = screen.split('\n').filter((l) => /^[ ▸] [✓○!\-✗] /.test(l));
    return { at: rows.findIndex((l) => l.startsWith('▸')), want: rows.findIndex((l) => l.includes(title)) };
  };
  for (let i = 0; i < 12; i += 1) {
    const screen = await s.screen();
    const { at, want } = position(screen);
    if (want < 0) throw new Error(`no row "${title}" on:\n${screen}`);
    if (at === want) return;
    await s.keys(at < want ? 'Down' : 'Up');
    // One key, then the screen that took it: a stale screen would send a second key too many.
    const deadline = Date.now() + 30_000;
    while (position(await s.screen()).at === at && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`could not select "${title}"`);
}

/** The screen as the terminal shows it fits 80x24: no line wider (tmux's wrapping undone), no "…". */
async function fits(s: TmuxSession): Promise<void> {
  expect(frameProblems(await s.joinedScreen(), 80, 24)).toEqual([]);
}

async function slowly(s: TmuxSession, text: string): Promise<void> {
  for (const ch of text) await s.text(ch);
}

function processesOf(dir: string): Promise<string> {
  return execa('pgrep', ['-af', dir], { reject: false }).then((r) => String(r.stdout).split('\n').filter((l) => /bao (server|agent)/.test(l)).join('\n'));
}

describe('the lab, walked to the end in tmux at 80x24', () => {
  it('root, intermediate, HTTPS (same Vault), URL switch, an agent rendering over HTTPS, green status, nothing left on quit', async () => {
    const work = tempDir();
    const state = path.join(work, 'state');
    // CERTWRIGHT_PODMAN names no binary: the lab agent's hook would otherwise reload other test files' tls=true containers.
    const env = { PATH: process.env.PATH ?? '', HOME: work, TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_PODMAN: path.join(work, 'no-podman') };
    session = await TmuxSession.start(['node', BIN, 'lab', '--state-dir', state, '--passphrase-file', writePassphrase(work), '--cn', 'Lab Root', '--intermediate-cn', 'Lab Int'], { env, width: 80, height: 24 });
    const first = await session.waitFor('↑/↓ choose', 90_000);
    const workspace = /Workspace: (\S+)/.exec(first)![1]!;

    // Root ceremony: key type, validity, path length are the step's defaults.
    await select(session, 'Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Key type');
    await session.keys('Enter');
    await session.waitFor('Validity');
    await session.keys('Enter');
    await session.waitFor('Path length');
    await session.keys('Enter');
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await slowly(session, 'Lab Root');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint', 60_000);
    await session.keys('Enter');

    // The intermediate, into the lab's own Vault.
    await session.waitFor('↑/↓ choose');
    await select(session, 'Intermediate in Vault');
    await session.keys('Enter');
    await session.waitFor('PKI mount');
    await session.keys('Enter');
    await session.waitFor('Offline root directory');
    await session.keys('Enter');
    await session.waitFor('Enter: apply');
    await session.keys('Enter');
    await session.waitFor('Intermediate installed', 60_000);
    await session.keys('Enter');

    // Vault's certificate, and the move of the same server to HTTPS.
    await session.waitFor('↑/↓ choose');
    await select(session, 'Vault over HTTPS');
    await session.keys('Enter');
    // The lab runs Vault as a host process: no container user is asked.
    for (const q of ['DNS names', 'IP addresses', 'Listen on']) {
      await session.waitFor(q);
      await session.keys('Enter');
    }
    await session.waitFor('Enter: apply');
    await fits(session);
    await session.keys('Enter');
    const moved = await session.waitFor('Enter: back to the steps', 90_000);
    await fits(session);
    expect(moved).toMatch(/Vault answers over HTTPS at https:\/\/127\.0\.0\.1:\d+/);
    await session.keys('Enter');

    // AIA/CRL URLs over HTTPS.
    await session.waitFor(/✓ Initialise and/);
    await select(session, 'AIA/CRL URLs');
    await session.keys('Enter');
    await session.waitFor('PKI mount');
    await session.keys('Enter');
    await session.waitFor('HTTPS base URL');
    await session.keys('Enter');
    await session.waitFor('Enter: apply');
    await fits(session);
    await session.keys('Enter');
    await session.waitFor('switched to https://', 60_000);
    await fits(session);
    await session.keys('Enter');

    // An app agent, started as a process, rendering its first leaf over HTTPS.
    await session.waitFor('↑/↓ choose');
    await select(session, 'Agents');
    await session.keys('Enter');
    await session.waitFor('Add an app');
    await session.keys('Enter');
    await session.waitFor('Workload name');
    await slowly(session, 'web');
    await session.keys('Enter');
    await session.waitFor('Main DNS name');
    await slowly(session, 'web.lab.test');
    await session.keys('Enter');
    for (const q of ['More names', 'Leaf lifetime', 'TLS dir', 'Agent dir', 'Service user']) {
      await session.waitFor(q);
      await session.keys('Enter');
    }
    await session.waitFor('See the plan');
    await session.keys('Down', 'Down');
    await session.waitFor('▸ See the plan');
    await session.keys('Enter');
    await session.waitFor('Enter: apply', 60_000);
    await fits(session);
    await session.keys('Enter');
    const applied = await session.waitFor('Enter: back to the agents', 120_000);
    await fits(session);
    expect(applied).not.toMatch(/has not rendered/);

    // The lab's estate, read by status as an operator would from another shell: all green.
    const token = /"root_token": "(.*)"/.exec(fs.readFileSync(path.join(workspace, 'vault-keys.json'), 'utf8'))![1]!;
    // Other test files run tls=true containers at the same time; the lab has none of its own.
    const status = await cli(['status', '--env', 'lab', '--json', '--select', `cw-none=${process.pid}`], { env: { CERTWRIGHT_HOME: state, VAULT_TOKEN: token } });
    const json = JSON.parse(status.stdout);
    expect(json.problems, status.stdout.slice(0, 2000)).toEqual([]);
    expect(status.exitCode).toBe(0);
    expect(json.sections.vault).toMatchObject({ state: 'ok', sealed: false });
    expect(json.sections.agents.agents.find((a: { name: string }) => a.name === 'web').process.alive).toBe(true);
    const leaf = await execa('openssl', ['verify', '-CAfile', path.join(workspace, 'offline-root', 'root-ca.pem'), '-untrusted', path.join(state, 'envs', 'lab', 'agents', 'web-tls', 'current', 'chain.pem'), path.join(state, 'envs', 'lab', 'agents', 'web-tls', 'current', 'cert.pem')], { reject: false });
    expect(leaf.stdout).toMatch(/OK$/);
    expect(await processesOf(workspace)).not.toBe('');

    // Quit: every process the lab started is gone.
    await session.keys('Enter');
    await session.waitFor('Back to the steps');
    for (let i = 0; i < 6 && !(await session.screen()).includes('▸ Back to the steps'); i += 1) {
      await session.keys('Down');
      await session.waitFor('▸');
    }
    await session.keys('Enter');
    await session.waitFor('↑/↓ choose');
    await session.keys('q');
    await session.waitFor('[exit 0]', 30_000);
    for (let i = 0; i < 100 && (await processesOf(workspace)) !== '' ; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(await processesOf(workspace)).toBe('');
    expect(await processesOf(state)).toBe('');

    // The wizard wrote what it ran as WORKSPACE/estate.yaml: a valid estate file (no secret in it)
    // that `lab --file` replays, through apply, to a green status in a new workspace.
    const written = path.join(workspace, 'estate.yaml');
    const spec = loadEstate(written).spec;
    expect(spec).toMatchObject({ environment: 'lab', root: { cn: 'Lab Root' }, intermediate: { cn: 'Lab Int' }, vault: { listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } });
    expect(spec.agents?.map((a) => [a.kind, a.name, a.common_name])).toEqual([['app', 'web', 'web.lab.test']]);
    expect(spec.urls?.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.readFileSync(written, 'utf8')).not.toMatch(/root_token|passphrase|hvs\.|s\.[A-Za-z0-9]{20}/);
    const replay = await execa('node', [BIN, 'lab', '--file', written], { env: { ...env, CI: 'true' }, reject: false, all: true, timeout: 300_000 });
    expect(replay.exitCode, replay.all).toBe(0);
    expect(replay.all).toContain('Rehearsal reached a green status');
    const second = /reopen it with `certwright lab --resume (\S+)`/.exec(replay.all)![1]!;
    expect(await processesOf(second)).toBe('');
  }, 600_000);
});

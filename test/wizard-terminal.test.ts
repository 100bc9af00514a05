import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writePassphrase, BIN } from './helpers/env.js';
import { TmuxSession } from './helpers/tmux.js';
import { frameProblems } from './helpers/frame.js';

/**
 * The wizard as a tired operator meets it over SSH: the real binary in a real 80x24 terminal
 * (tmux), with and without colour. Keys are sent the moment the screen shows what they answer,
 * several in one send-keys when a person would type ahead; every screen walked is checked to fit
 * (no line wider than 80 once tmux's own wrapping is undone, no "…").
 */
let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});

const COLOUR = /\u001B\[[0-9;]*(3[0-7]|9[0-7]|38;5;\d+)m/;

function termEnv(home: string, colour: boolean): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', CERTWRIGHT_HOME: home, ...(colour ? {} : { NO_COLOR: '1' }) };
}

/** Waits for the pattern, then checks the whole screen fits 80x24. */
async function see(s: TmuxSession, pattern: string | RegExp): Promise<string> {
  const screen = await s.waitFor(pattern);
  const problems = frameProblems(await s.joinedScreen(), 80, 24);
  expect(problems, `${problems.join('\n')}\n--- screen ---\n${screen}`).toEqual([]);
  return screen;
}

describe.each([
  ['NO_COLOR', false],
  ['colour', true],
])('wizard at 80x24 (%s)', (_label, colour) => {
  it('Esc goes back one question, keys typed ahead all count, Ctrl-C exits 130 and leaves nothing', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tt', '--out', out], { env: termEnv(home, colour), prefix: 'wizard-ux-' });
    await see(session, /▸ ○ Offline root CA/);
    if (colour) expect(await session.screenWithEscapes()).toMatch(COLOUR);
    else expect(await session.screenWithEscapes()).not.toMatch(COLOUR);
    // Enter, the name and its Enter in one go, typed before the question is drawn
    await session.keys('Enter');
    await session.text('Term Root CA');
    await session.keys('Enter');
    await see(session, 'Key type:');
    // Esc: back one question, with the answer kept as the default
    await session.keys('Escape');
    await see(session, 'Root CA name (CN) [Term Root CA]');
    await session.keys('Enter');
    await see(session, 'Key type:');
    await session.keys('Down', 'Enter');
    await see(session, 'Validity');
    await session.text('5y');
    await session.keys('Enter');
    await see(session, 'Path length');
    await session.keys('Enter');
    await see(session, 'Who opens the root key');
    await session.keys('Enter'); // one passphrase
    const plan = await see(session, 'Enter: continue');
    expect(plan).toMatch(/Key\s+ec-p256/);
    // Esc on the plan goes back to the last question, Enter comes back to the plan
    await session.keys('Escape');
    await see(session, /Who opens the root key[\s\S]*▸ One passphrase/);
    await session.keys('Enter');
    await see(session, 'Enter: continue');
    await session.keys('Enter');
    await see(session, 'New passphrase');
    await session.keys('C-c');
    const end = await session.waitFor(/\[exit \d+\]/);
    expect(end).toContain('[exit 130]');
    expect(end).toMatch(/Interrupted/);
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'envs', 'tt', 'lock'))).toBe(false);
  });

  it('CA-tree commands are whole at 80 columns, and Esc keeps the selection in the designs and the steps', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tc', '--out', out, '--cn', 'Tree Root', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '1', '--passphrase-file', writePassphrase(work)], { env: termEnv(home, colour), prefix: 'wizard-ux-' });
    await see(session, /▸ ○ Offline root CA/);
    await session.keys('Enter');
    await see(session, 'Enter: continue');
    await session.keys('Enter');
    await see(session, 'to create the root');
    await session.text('Tree Root');
    await session.keys('Enter');
    const done = await see(session, 'SHA-256 fingerprint');
    expect(done.replace(/\s+/g, '')).toMatch(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    await session.keys('Enter');
    // Back on the list the selection stayed on the root; six keys down and Enter, sent together
    await see(session, /▸ ✓ Offline root CA/);
    await session.keys('Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Enter');
    await see(session, 'Enter: show the tree');
    await session.keys('Down', 'Down', 'Enter');
    const tree = await see(session, 'Esc: other designs');
    expect(tree).toMatch(/✓ tc environment root/);
    // The command that builds the missing node is there whole: a shell joins its " \" lines
    const command = (await session.joinedScreen()).split('\n').filter((l) => /^\s+(certwright |\s+--)/.test(l)).join('\n').replace(/ \\\n\s*/g, ' ').trim();
    expect(command).toMatch(/^certwright intermediate --env tc --mount pki_int --root-dir <tc root dir>$/m);
    await session.keys('Escape');
    await see(session, /▸ Environment at the root/);
    await session.keys('Escape');
    await see(session, /▸ ○ CA-tree designs/);
    await session.keys('q');
    await session.waitFor('[exit 0]');
  });
});

describe('--plain at 80x24', () => {
  it('says no Vault address is known before asking the intermediate\'s questions', async () => {
    const work = tempDir();
    session = await TmuxSession.start(['node', BIN, '--plain', '--env', 'pp'], { env: termEnv(path.join(work, 'home'), false), prefix: 'wizard-ux-' });
    await session.waitFor('Open a step');
    await session.keys('Down', 'Enter');
    const said = await session.waitFor('No Vault address is known');
    expect(said).not.toMatch(/PKI mount for the intermediate/);
    await session.waitForPrompt('? Enter: back to the steps');
    await session.keys('Enter');
    // Back to the steps: the overview again and its menu.
    await session.waitFor(/✔ Enter: back to the steps\n[\s\S]*\? Open a step/);
    await session.waitForPrompt('↑↓ navigate');
    await session.keys('C-c');
    await session.waitFor('[exit 130]');
  });

  it('Esc on a question leaves the step for the step list, and Esc on the step list says how to leave', async () => {
    const work = tempDir();
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--plain', '--env', 'pe', '--out', out], { env: termEnv(path.join(work, 'home'), false), prefix: 'wizard-ux-' });
    await session.waitForPrompt('↑↓ navigate');
    await session.choose('Offline root CA');
    await session.waitForPrompt('Root CA name');
    await session.keys('Escape');
    await session.waitFor('Esc: back to the steps.');
    await session.waitForPrompt('↑↓ navigate');
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(false);
    await session.keys('Escape');
    await session.waitFor('This is the step list. Choose Quit to leave; Ctrl-C interrupts.');
    await session.waitForPrompt('↑↓ navigate');
    expect(frameProblems(await session.screen())).toEqual([]);
    await session.keys('C-c');
    await session.waitFor('[exit 130]');
  });

  it('`certwright lab --plain` runs the line-by-line wizard, not the full screen', async () => {
    const work = tempDir();
    session = await TmuxSession.start(['node', BIN, 'lab', '--plain', '--state-dir', path.join(work, 'state')], { env: termEnv(path.join(work, 'unused'), false), prefix: 'wizard-ux-' });
    const screen = await session.waitFor('Open a step');
    expect(screen).toMatch(/\[todo\] Offline root CA/);
    expect(screen).not.toMatch(/↑\/↓ choose · Enter open/);
    await session.keys('C-c');
    await session.waitFor('[exit 130]');
  });
});

/**
 * Custody in a real terminal (tmux, the real binary): root create --show-shares shows each share
 * once to its custodian and clears the screen after; intermediate sign without --share asks the
 * custodians to type their shares in turn, echoing nothing, and refuses a mistyped one by group.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, openssl, BIN } from './helpers/env.js';
import { TmuxSession, terminalEnv as envFor } from './helpers/tmux.js';

// One pane at a time; a failed test leaves none behind.
let session: TmuxSession | undefined;
afterEach(() => session?.kill());

function groupsOf(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-Z]{5}/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
}

describe('custody in a terminal', () => {
  it('shows each share once to its custodian, then custodians type theirs in turn with nothing echoed', async () => {
    const work = tempDir('cw-custody-tty-');
    const home = path.join(work, 'home');
    const rootDir = path.join(work, 'root');
    const sharesDir = path.join(work, 'shares');
    // Given a root ceremony with --show-shares in a terminal
    session = await TmuxSession.start(['node', BIN, 'root', 'create', '--env', 'tty', '--out', rootDir, '--cn', 'TTY Root', '--path-len', '1', '--custodians', '3', '--threshold', '2', '--custodian-names', 'alice,bob,carol', '--shares-out', sharesDir, '--show-shares'], { env: envFor(home), width: 100, height: 40 });
    await session.waitFor('Type the CA name "TTY Root"');
    await session.text('TTY Root');
    await session.keys('Enter');
    for (const name of ['alice', 'bob', 'carol']) {
      // Each custodian is called by name; the share appears only after Enter
      const before = await session.waitFor(`Custodian "${name}"`);
      const groups = groupsOf(path.join(sharesDir, `${name}.share`));
      expect(groups).toHaveLength(22);
      expect(before).not.toContain(groups[0]);
      await session.keys('Enter');
      const shown = await session.waitFor('Written down?');
      // Then the screen shows exactly this custodian's groups, as the file holds them
      for (const g of groups) expect(shown).toContain(g);
      await session.keys('Enter');
      // And clears them before the next custodian (or the end)
      const after = await session.waitFor(name === 'carol' ? '[exit 0]' : /Custodian "(bob|carol)"/);
      for (const g of groups) expect(after).not.toContain(g);
    }
    await session.kill();

    // When intermediate sign runs in a terminal without --share
    const csr = path.join(work, 'int.csr');
    expect((await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(work, 'int.key'), '-subj', '/CN=TTY Int', '-out', csr])).exitCode).toBe(0);
    const out = path.join(work, 'int.pem');
    session = await TmuxSession.start(['node', BIN, 'intermediate', 'sign', '--root-dir', rootDir, '--csr', csr, '--out', out], { env: envFor(home), width: 100, height: 40 });
    await session.waitFor('Custodian 1 of 2');
    const bob = groupsOf(path.join(sharesDir, 'bob.share'));
    await session.text(bob.join(' '));
    // Nothing of what is typed is on the screen
    const typing = await session.screen();
    for (const g of bob) expect(typing).not.toContain(g);
    await session.keys('Enter');
    await session.waitFor('Custodian 2 of 2');
    // A mistyped share is refused by its group, and the custodian types it again
    const carol = groupsOf(path.join(sharesDir, 'carol.share'));
    const typo = [...carol];
    typo[11] = `${typo[11]!.slice(0, 4)}${typo[11]![4] === 'Z' ? 'Y' : 'Z'}`;
    await session.text(typo.join(' '));
    await session.keys('Enter');
    await session.waitFor('group 12');
    // Clear what was typed (inquirer keeps it) and type the share as written
    await session.keys('C-u');
    await session.text(carol.join(' '));
    await session.keys('Enter');
    const end = await session.waitFor(/\[exit \d+\]/);
    expect(end).toContain('[exit 0]');
    expect(end).toContain('Intermediate certificate:');
    for (const g of [...bob, ...carol]) expect(end).not.toContain(g);
    expect((await openssl(['verify', '-CAfile', path.join(rootDir, 'root-ca.pem'), out])).exitCode).toBe(0);
    const last = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'tty', 'transcript.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ action: 'intermediate-sign', shareIndices: [2, 3] });
  });

  it('--plain creates a root under custody with line prompts, each share shown once and cleared', async () => {
    const work = tempDir('cw-custody-plain-');
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    const sharesDir = path.join(work, 'shares');
    session = await TmuxSession.start(['node', BIN, '--plain', '--env', 'plc', '--out', out, '--cn', 'Plain Held CA', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '0'], { env: envFor(home), width: 100, height: 40 });
    await session.waitFor('Open a step');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Down', 'Enter');
    await session.waitFor('Number of custodians');
    await session.keys('Enter');
    await session.waitFor('How many custodians together');
    await session.keys('BSpace');
    await session.text('1');
    await session.keys('Enter');
    await session.waitFor('--threshold 1 does not fit 3 custodians');
    await session.keys('BSpace');
    await session.text('2');
    await session.keys('Enter');
    await session.waitFor('Custodian names');
    await session.text('ann,ben,cy');
    await session.keys('Enter');
    await session.waitFor('Directory for the share files');
    await session.keys('C-u');
    await session.text(sharesDir);
    await session.keys('Enter');
    await session.waitFor('Show each share once');
    await session.text('y');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Plain Held CA');
    await session.keys('Enter');
    for (const name of ['ann', 'ben', 'cy']) {
      await session.waitFor(`Custodian "${name}"`);
      await session.keys('Enter');
      const shown = await session.waitFor('Written down?');
      const groups = groupsOf(path.join(sharesDir, `${name}.share`));
      for (const g of groups) expect(shown).toContain(g);
      await session.keys('Enter');
      const after = await session.waitFor(name === 'cy' ? 'SHA-256 fingerprint' : /Custodian "(ben|cy)"/);
      for (const g of groups) expect(after).not.toContain(g);
    }
    await session.waitForPrompt('? Enter: back to the steps');
    await session.keys('Enter');
    await session.waitFor('[done] Offline root CA');
    expect(fs.readFileSync(path.join(out, 'ceremony.json'), 'utf8')).toContain('"names": [\n      "ann",');
  });
});

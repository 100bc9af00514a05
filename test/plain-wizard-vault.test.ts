import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from './helpers/env.js';
import { useHttpsVault } from './helpers/https-vault.js';
import { TmuxSession, terminalEnv } from './helpers/tmux.js';
import { assertFits } from './helpers/frame.js';
import path from 'node:path';

/**
 * `wizard --plain` on a real, uninitialised OpenBao over HTTPS, in tmux at 80x24: vault-init's
 * plan before the question, the keys to a new 0600 file (never on the terminal), then unseal
 * with every refusal said in words: a bogus share, the same share twice, then the right ones.
 */
const lab = useHttpsVault({ initialise: false });
let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});

describe('wizard --plain: initialise and unseal (tmux, 80x24)', () => {
  it('plans, asks, initialises with the keys in a 0600 file, and says every share Vault refuses or does not count', async () => {
    const v = lab.vault();
    const keysOut = path.join(path.dirname(v.home), 'plain-keys.json');
    session = await TmuxSession.start(['node', BIN, 'wizard', '--plain', '--env', v.env, '--vault-ca', v.caFile], { env: terminalEnv(v.home) });
    const seen: string[] = [];
    /** The share prompt asked anew (the last lines of the pane), not the one answered above it. */
    const sharePrompt = async () => {
      for (let i = 0; i < 300; i += 1) {
        const tail = (await session!.screen()).trimEnd().split('\n').slice(-2).join('\n');
        if (tail.includes('? Unseal key share')) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no new share prompt:\n${await session!.screen()}`);
    };
    const waitFits = async (pattern: string | RegExp) => {
      const screen = await session!.waitFor(pattern);
      assertFits(screen, 80, 24);
      seen.push(screen);
      return screen;
    };
    await waitFits('Open a step');
    await session.choose('Initialise and unseal');
    await waitFits('Unseal key shares');
    await session.keys('BSpace');
    await session.text('3');
    await session.keys('Enter');
    await waitFits('Shares needed to unseal');
    await session.text('9');
    await session.keys('Enter');
    await waitFits('"9" does not fit: with 3 shares, give a number from 2 to 3.');
    await session.keys('BSpace');
    await session.text('2');
    await session.keys('Enter');
    await waitFits('New file for the unseal keys and root token');
    // A file that exists is refused in the wizard's words, before any plan: keys are never overwritten.
    const taken = path.join(path.dirname(keysOut), 'taken.json');
    fs.writeFileSync(taken, '{}', { mode: 0o600 });
    await session.text(taken);
    await session.keys('Enter');
    await waitFits(`${taken} exists, and certwright never overwrites unseal`);
    for (let i = 0; i < taken.length; i += 1) await session.keys('BSpace');
    await session.text(keysOut);
    await session.keys('Enter');
    const plan = await waitFits('Initialise now?');
    expect(plan).toContain('Plan: initialise Vault');
    expect(plan.replace(/\s+/g, '')).toContain(`Writetheunsealkeysandroottokento${keysOut}`.replace(/\s+/g, ''));
    expect((await v.client().health()).initialized).toBe(false);
    await session.keys('Enter');
    await waitFits('Vault is sealed: 0 of 2 key shares given.');
    expect(fs.statSync(keysOut).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(fs.readFileSync(keysOut, 'utf8')) as { unseal_keys_b64: string[]; root_token: string };
    const keys = secrets.unseal_keys_b64;
    expect(keys).toHaveLength(3);
    expect((await v.client().health()).initialized).toBe(true);

    // A share of no Vault: refused, said, and the round starts again.
    await sharePrompt();
    await session.text('bm90IGEgc2hhcmUgb2YgdGhpcyB2YXVsdCBhdCBhbGwhIQ==');
    await session.keys('Enter');
    await waitFits(/Vault refused that share and discarded the 1 given in this round: invalid key:/);
    await sharePrompt();
    await session.text(keys[0]!);
    await session.keys('Enter');
    await waitFits('Share accepted: 1 of 2 given.');
    await sharePrompt();
    // The same share again: not counted, and said.
    await session.text(keys[0]!);
    await session.keys('Enter');
    await waitFits(/That share was already given in this round \(1 of 2\)\. Give another holder's\s+share\./);
    await sharePrompt();
    await session.text(keys[2]!);
    await session.keys('Enter');
    await waitFits('Vault is initialised and unsealed.');
    expect((await v.client().health()).sealed).toBe(false);
    // Nothing secret was ever on the terminal.
    const history = await session.scrollback();
    assertFits(history, 80);
    for (const screen of [...seen, history]) {
      for (const k of keys) expect(screen).not.toContain(k);
      expect(screen).not.toContain(secrets.root_token);
    }
    assertFits(await session.waitForPrompt('? Enter: back to the steps'), 80, 24);
    await session.keys('Enter');
    await session.waitForPrompt('↑↓ navigate');
    await session.keys('C-c');
    await waitFits('[exit 130]');
  }, 180_000);
});

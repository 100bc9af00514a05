import React from 'react';
import { describe, expect, it } from 'vitest';
import { useHttpsVault } from './helpers/https-vault.js';
import { driveInk, KEY } from './helpers/ink.js';
import { KeyboardProvider } from '../screens/keys/KeyboardProvider.js';
import { VaultInitScreen } from '../screens/VaultInitScreen.js';
import { WizardController } from '../source/wizard/controller.js';

/**
 * The init screen on a real, uninitialised OpenBao over HTTPS (issue 13, point 4): the questions,
 * then the plan and a confirmation before anything is initialised (Esc goes back to the
 * question), the keys shown once at 80 columns, then the unseal with those keys.
 */
const lab = useHttpsVault({ initialise: false });

describe('wizard: initialise and unseal', () => {
  it('shows the init plan and asks before initialising; Esc on the plan changes nothing', async () => {
    const v = lab.vault();
    const controller = new WizardController({ stateDir: v.home }, { vaultCa: v.caFile });
    let exited = false;
    const ui = driveInk(
      <KeyboardProvider onInterrupt={() => undefined}>
        <VaultInitScreen controller={controller} env={v.env} onExit={() => (exited = true)} />
      </KeyboardProvider>,
    );
    await ui.answer('Unseal key shares', '3');
    await ui.answer('Shares needed to unseal', '2');
    const plan = (await ui.waitFor('Enter: initialise now')).replace(/\s+/g, ' ');
    expect(plan).toMatch(/Plan: initialise Vault/);
    expect(plan).toMatch(/3/);
    // Esc on the plan: back to the question, and Vault is still not initialised
    await ui.type(KEY.escape);
    await ui.waitFor('Shares needed to unseal');
    expect((await v.client().health()).initialized).toBe(false);
    await ui.type(KEY.enter);
    await ui.waitFor('Enter: initialise now');
    await ui.type(KEY.enter);
    const shown = await ui.waitFor('Shown once, stored nowhere');
    const keys = [...shown.matchAll(/Unseal key \d: (\S+)/g)].map((m) => m[1]!);
    expect(keys).toHaveLength(3);
    expect((await v.client().health()).initialized).toBe(true);
    await ui.type(KEY.enter);
    await ui.waitFor('Vault is sealed: 0 of 2 key shares given');
    expect(ui.frame()).not.toContain(keys[0]!);
    await ui.type(keys[0]! + KEY.enter);
    await ui.waitFor('Share accepted: 1 of 2 given');
    await ui.type(keys[2]! + KEY.enter);
    await ui.waitFor('Vault is initialised and unsealed');
    expect((await v.client().health()).sealed).toBe(false);
    await ui.type(KEY.enter);
    const until = Date.now() + 10_000;
    while (!exited && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(exited).toBe(true);
    ui.view.unmount();
  });
});

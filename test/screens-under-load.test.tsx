import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatusScreen } from '../screens/StatusScreen.js';
import { App } from '../screens/App.js';
import { WizardController } from '../source/wizard/controller.js';
import { statusFixture } from './helpers/status-fixture.js';
import { driveInk, KEY } from './helpers/ink.js';
import { TmuxSession } from './helpers/tmux.js';
import { startBurners } from './helpers/cpu-load.js';
import { BIN, openssl, tempDir, writePassphrase } from './helpers/env.js';
import { freePort } from '../source/system/openbao.js';

/**
 * The status and wizard screens with the machine busy (issue 13, point 2): two CPU burners run
 * for the whole file, and keys arrive the way a loaded machine delivers them, several in one
 * chunk (`Tab Tab Tab`), or a whole ceremony typed ahead before the first question is drawn.
 * Every key must count, in order. Nothing here waits a fixed time: each step waits for a frame.
 */
let burners: ReturnType<typeof startBurners>;
beforeAll(() => {
  burners = startBurners(2);
});
afterAll(async () => {
  await burners.stop();
});
let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});


// Test timeouts bound a hung process on a machine this busy; nothing is timed.
describe('screens under CPU load (two burners)', { timeout: 240_000 }, () => {
  it('status (ink): Tab Tab Tab in one chunk moves three sections; → ×4 in one chunk moves four', async () => {
    expect(burners.pids).toHaveLength(2);
    const ui = driveInk(<StatusScreen load={async () => statusFixture()} intervalMs={60_000} env="ld" />);
    await ui.waitFor('WARNING');
    await ui.type(KEY.tab.repeat(3));
    await ui.waitFor('[Containers');
    await ui.type('\u001B[C'.repeat(4));
    await ui.waitFor('[Vault'); // containers -> certs -> CA -> events -> vault
    ui.view.unmount();
  });

  it('wizard (ink): the whole root ceremony typed ahead in one chunk creates the root', async () => {
    const work = tempDir();
    const out = path.join(work, 'root');
    const controller = new WizardController({ stateDir: path.join(work, 'home') }, { outDir: out });
    const ui = driveInk(<App controller={controller} env="ld" />);
    await ui.waitFor(/Offline root CA.*not created yet/);
    // Open the step, name, key type, validity, path length, one passphrase (not custodians), plan,
    // passphrase twice, typed name
    await ui.type(['', 'Load Root CA', '', '', '', '', '', 'load passphrase 1', 'load passphrase 1', 'Load Root CA'].join(KEY.enter) + KEY.enter);
    const done = await ui.waitFor('SHA-256 fingerprint');
    expect(done).toContain('Root CA created');
    const subject = await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-subject']);
    expect(subject.stdout).toMatch(/CN ?= ?Load Root CA/);
    const pass = writePassphrase(work, 'load passphrase 1');
    expect((await openssl(['pkey', '-in', path.join(out, 'root-ca.key'), '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
    ui.view.unmount();
  });

  it('status (tmux 80x24): send-keys Tab Tab Tab moves three sections', async () => {
    const work = tempDir();
    const closed = await freePort();
    session = await TmuxSession.start(['node', BIN, 'status', '--env', 'ld', '--interval', '30', '--select', `cw-none=${process.pid}`], {
      env: { PATH: process.env.PATH ?? '', HOME: work, TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: path.join(work, 'home'), VAULT_ADDR: `http://127.0.0.1:${closed}` },
      prefix: 'wizard-ux-',
    });
    await session.waitFor(/\[Vault/);
    await session.keys('Tab', 'Tab', 'Tab');
    await session.waitFor('[Containers');
    await session.keys('BTab', 'BTab');
    await session.waitFor('[PKI');
    await session.keys('q');
    await session.waitFor(/\[exit \d+\]/);
  });

  it('wizard (tmux 80x24): a ceremony typed ahead in one burst creates the root', async () => {
    const work = tempDir();
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'ldt', '--out', out, '--key-type', 'ec-p256'], {
      env: { PATH: process.env.PATH ?? '', HOME: work, TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: path.join(work, 'home') },
      prefix: 'wizard-ux-',
    });
    await session.waitFor(/Offline root CA/);
    await session.keys('Enter');
    await session.text('Burst Root CA');
    await session.keys('Enter', 'Enter', 'Enter', 'Enter', 'Enter'); // name, validity, path length, one passphrase, plan
    await session.text('burst passphrase 1');
    await session.keys('Enter');
    await session.text('burst passphrase 1');
    await session.keys('Enter');
    await session.text('Burst Root CA');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint', 90_000);
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(true);
    await session.keys('q', 'q'); // back to the steps, then quit
    await session.waitFor('[exit 0]');
  });
});

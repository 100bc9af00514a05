import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../screens/App.js';
import { WizardController } from '../source/wizard/controller.js';
import { tempDir, openssl, writePassphrase, useOpenBao, uniqueMount, bao, cli } from './helpers/env.js';
import { driveInk, KEY } from './helpers/ink.js';
import { visibleLines } from './helpers/frame.js';
import { passphraseFromTestShares } from './helpers/shares.js';

const vault = useOpenBao();
beforeAll(() => {
  process.env.VAULT_ADDR = vault.server().addr;
  process.env.VAULT_TOKEN = vault.server().token;
});
afterAll(() => {
  delete process.env.VAULT_ADDR;
  delete process.env.VAULT_TOKEN;
});

describe('wizard (ink-testing-library)', () => {
  it('walks the root ceremony: questions, plan, hidden passphrase twice, typed CA name', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const outDir = path.join(work, 'root');
    const controller = new WizardController({ stateDir: home }, { outDir });
    const ui = driveInk(<App controller={controller} env="wiz" />);
    await ui.waitFor(/Offline root CA.*not created yet/);
    await ui.type(KEY.enter);
    await ui.answer('Root CA name (CN)', 'Wizard Root CA');
    await ui.waitFor('EC P-384 (recommended)');
    await ui.type(KEY.enter);
    await ui.answer('Validity', '');
    await ui.answer('Path length', '');
    await ui.waitFor('Who opens the root key');
    await ui.type(KEY.enter); // one passphrase
    const plan = await ui.waitFor('Plan: offline root');
    expect(plan).toMatch(/Subject\s+CN=Wizard Root CA/);
    expect(plan).toMatch(/600,000/);
    await ui.type(KEY.enter);
    await ui.answer('New passphrase for the root key', 'a long wizard passphrase');
    expect(ui.frame()).not.toContain('a long wizard passphrase');
    await ui.answer('Type the passphrase again', 'a long wizard passphrase');
    // A wrong name does not create anything
    await ui.answer('to create the root', 'Wizard Root');
    await ui.waitFor('That is not the CA name; nothing was created');
    expect(fs.existsSync(path.join(outDir, 'root-ca.key'))).toBe(false);
    await ui.type('Wizard Root CA');
    await ui.type(KEY.enter);
    const done = await ui.waitFor('SHA-256 fingerprint');
    const fp = (await openssl(['x509', '-in', path.join(outDir, 'root-ca.pem'), '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1]!.trim();
    expect(done.replace(/\s+/g, '')).toContain(fp);
    const pass = writePassphrase(work, 'a long wizard passphrase');
    expect((await openssl(['pkey', '-in', path.join(outDir, 'root-ca.key'), '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
    expect(fs.statSync(path.join(outDir, 'root-ca.key')).mode & 0o777).toBe(0o600);
    // Back on the overview the step is done and the next one is offered
    await ui.type(KEY.enter);
    await ui.waitFor(/✓ Offline root CA/);
    ui.view.unmount();
  });

  it('runs the intermediate against a real OpenBao from the overview, then shows it done', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const outDir = path.join(work, 'root');
    const mount = uniqueMount();
    const pass = writePassphrase(work);
    const controller = new WizardController({ stateDir: home }, { outDir, commonName: 'Wiz Root', keyType: 'ec-p256', ttl: '5y', pathLen: '1', passphraseFile: pass, mount, intermediateCn: 'Wiz Int' });
    const ui = driveInk(<App controller={controller} env="wiz2" />);
    await ui.waitFor(/Offline root CA/);
    await ui.type(KEY.enter);
    await ui.waitFor('Plan: offline root');
    await ui.type(KEY.enter);
    await ui.answer('to create the root', 'Wiz Root');
    await ui.waitFor('SHA-256 fingerprint');
    await ui.type(KEY.enter);
    // Back on the list the selection stays on the step just done; the next is one key down.
    await ui.waitFor(new RegExp(`▸ ✓ Offline root CA[^]*Intermediate in Vault \\(${mount}\\).*not requested yet`));
    await ui.type(KEY.down + KEY.enter);
    await ui.answer('Offline root directory', '');
    const plan = await ui.waitFor(`Plan: intermediate in ${mount}`);
    expect(plan).toMatch(/Sign the CSR with the offline root/);
    await ui.type(KEY.enter);
    await ui.waitFor(/Intermediate installed: issuer/);
    const issuers = JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/issuers`]));
    expect(issuers).toHaveLength(2);
    await ui.type(KEY.enter);
    await ui.waitFor(new RegExp(`✓ Intermediate in Vault \\(${mount}\\)`));
    ui.view.unmount();
  });

  it('a drifted intermediate (its mount wiped) offers the actions that resolve it: what changed, what was recorded, and redo through state forget', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const mount = uniqueMount();
    const defaults = { outDir: path.join(work, 'root'), commonName: 'Drift Root', keyType: 'ec-p256', ttl: '5y', pathLen: '1', passphraseFile: writePassphrase(work), mount, intermediateCn: 'Drift Int' };
    const first = driveInk(<App controller={new WizardController({ stateDir: home }, defaults)} env="wiz3" />);
    await first.waitFor(/Offline root CA/);
    await first.type(KEY.enter);
    await first.waitFor('Plan: offline root');
    await first.type(KEY.enter);
    await first.answer('to create the root', 'Drift Root');
    await first.waitFor('SHA-256 fingerprint');
    await first.type(KEY.enter);
    await first.waitFor(/Intermediate in Vault.*not requested yet/);
    await first.type(KEY.down + KEY.enter); // the selection stayed on the root
    await first.answer('Offline root directory', '');
    await first.waitFor(`Plan: intermediate in ${mount}`);
    await first.type(KEY.enter);
    await first.waitFor(/Intermediate installed: issuer/);
    first.view.unmount();

    // Someone wipes the mount: the wizard, reopened, shows drift and, opened, the ways out.
    await bao(vault.server(), ['secrets', 'disable', mount]);
    const ui = driveInk(<App controller={new WizardController({ stateDir: home }, defaults)} env="wiz3" />);
    await ui.waitFor(/! Intermediate in Vault[\s\S]*changed:/);
    await ui.type(KEY.enter);
    const screen = await ui.waitFor('has drifted');
    expect(screen).toContain('What changed:');
    expect(screen).toContain('Redo the step: forget its records, then run it again');
    // A long command is continued with " \\" (it pastes as one); joined, it is the whole command
    expect(visibleLines(screen).join('\n').replace(/ \\\n\s*/g, ' ').replace(/\s+/g, ' ')).toContain(`certwright state forget --env wiz3 --record intermediate-install@${mount} && certwright state forget --env wiz3 --record intermediate-request@${mount}`);
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    const shown = await ui.waitFor('Recorded (certwright state show --env wiz3)');
    expect(shown).toContain(`intermediate-install@${mount}: done`);
    expect(shown).toMatch(/issuerId: [0-9a-f-]{36}/);
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    await ui.waitFor('Forget and redo');
    await ui.type(KEY.enter);
    // The records are gone (the registry's state forget, in the transcript), and the step's own screen runs it again.
    await ui.answer('Offline root directory', '');
    await ui.waitFor(`Plan: intermediate in ${mount}`);
    const state = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'wiz3', 'state.json'), 'utf8'));
    expect(state.steps[`intermediate-install@${mount}`]).toBeUndefined();
    expect(fs.readFileSync(path.join(home, 'envs', 'wiz3', 'transcript.jsonl'), 'utf8')).toContain('state-forget');
    await ui.type(KEY.enter);
    await ui.waitFor(/Intermediate installed: issuer/);
    await ui.type(KEY.enter);
    await ui.waitFor(new RegExp(`✓ Intermediate in Vault \\(${mount}\\)`));
    expect(JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/keys`]))).toHaveLength(1);
    ui.view.unmount();
  });

  it('a mistyped root passphrase returns to the passphrase prompt, says so in the wizard\'s words, and the right one goes on', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const rootDir = path.join(work, 'root');
    const mount = uniqueMount();
    const pass = writePassphrase(work, 'the right passphrase');
    // The root made with a passphrase file; the wizard is then started without one
    const maker = new WizardController({ stateDir: home }, { outDir: rootDir, commonName: 'Typed Root', keyType: 'ec-p256', ttl: '2y', pathLen: '1', passphraseFile: pass });
    const made = driveInk(<App controller={maker} env="wiz3" />);
    await made.waitFor(/Offline root CA/);
    await made.type(KEY.enter);
    await made.waitFor('Plan: offline root');
    await made.type(KEY.enter);
    await made.answer('to create the root', 'Typed Root');
    await made.waitFor('SHA-256 fingerprint');
    made.view.unmount();
    const controller = new WizardController({ stateDir: home }, { mount, intermediateCn: 'Typed Int', rootDir });
    const ui = driveInk(<App controller={controller} env="wiz3" />);
    await ui.waitFor(/▸ ○ Intermediate in Vault/);
    await ui.type(KEY.enter);
    await ui.waitFor(`Plan: intermediate in ${mount}`);
    await ui.type(KEY.enter);
    await ui.answer('Root key passphrase', 'not the passphrase');
    const again = (await ui.waitFor(/does not open the root key/)).replace(/\s+/g, ' ');
    expect(again).toContain(`That passphrase does not open the root key in ${rootDir}. Type it again`);
    expect(again).toMatch(/Root key passphrase/);
    expect(again).not.toMatch(/passphrase file|--passphrase-file|Enter or Esc: back to the steps/);
    await ui.type('the right passphrase' + KEY.enter);
    await ui.waitFor(/Intermediate installed: issuer/);
    ui.view.unmount();
  });

  it('creates a root held 2-of-3: no passphrase asked, each share shown once to its custodian, then cleared', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const outDir = path.join(work, 'root');
    const sharesDir = path.join(work, 'shares');
    const controller = new WizardController({ stateDir: home }, { outDir, commonName: 'Wiz Held Root', keyType: 'ec-p256', ttl: '5y', pathLen: '1' });
    const ui = driveInk(<App controller={controller} env="wizh" />);
    await ui.waitFor(/Offline root CA.*not created yet/);
    await ui.type(KEY.enter);
    await ui.waitFor('Who opens the root key');
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    // A threshold above the custodians is refused on the spot
    await ui.answer('Number of custodians', '');
    await ui.answer('How many custodians together open the root', '4');
    await ui.waitFor('does not fit 3 custodians');
    await ui.type('2');
    await ui.type(KEY.enter);
    await ui.answer('Custodian names', 'alice,bob,carol');
    await ui.answer('Directory for the share files', sharesDir);
    await ui.waitFor('Show each share once');
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    const plan = await ui.waitFor('Plan: offline root');
    expect(plan).toMatch(/Custody\s+2 of 3 custodians \(alice, bob, carol\)/);
    await ui.type(KEY.enter);
    // No passphrase question: the CA name is typed to confirm
    await ui.answer('to create the root', 'Wiz Held Root');
    for (const name of ['alice', 'bob', 'carol']) {
      await ui.waitFor(`Custodian "${name}"`);
      const groups = fs.readFileSync(path.join(sharesDir, `${name}.share`), 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-Z]{5}/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
      expect(ui.frame()).not.toContain(groups[0]);
      await ui.type(KEY.enter);
      const shown = await ui.waitFor('Written down?');
      for (const g of groups) expect(shown).toContain(g);
      await ui.type(KEY.enter);
      await ui.waitFor(name === 'carol' ? 'SHA-256 fingerprint' : 'everyone else look away');
      for (const g of groups) expect(ui.frame()).not.toContain(g);
    }
    const done = ui.frame();
    expect(done).toContain('Any 2 of 3 custodians open the root');
    expect(done).toContain(path.join(sharesDir, 'bob.share'));
    // openssl opens the key with the passphrase two shares combine to; nobody ever saw it
    const pass = path.join(work, 'combined');
    fs.writeFileSync(pass, `${await passphraseFromTestShares([path.join(sharesDir, 'alice.share'), path.join(sharesDir, 'carol.share')])}\n`, { mode: 0o600 });
    expect((await openssl(['pkey', '-in', path.join(outDir, 'root-ca.key'), '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
    await ui.type(KEY.enter);
    await ui.waitFor(/✓ Offline root CA/);
    ui.view.unmount();
  });

  it('opens a root held 2-of-3 screen by screen: each custodian types a share, nothing is shown, a bad share is named', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const rootDir = path.join(work, 'root');
    const sharesDir = path.join(work, 'shares');
    const mount = uniqueMount();
    const created = await cli(['root', 'create', '--env', 'wizc', '--out', rootDir, '--cn', 'Wiz Custody Root', '--path-len', '1', '--custodians', '3', '--threshold', '2', '--custodian-names', 'alice,bob,carol', '--shares-out', sharesDir], { env: { CERTWRIGHT_HOME: home } });
    expect(created.exitCode, created.stderr).toBe(0);
    const groups = (name: string) => fs.readFileSync(path.join(sharesDir, `${name}.share`), 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-Z]{5}/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
    const controller = new WizardController({ stateDir: home }, { rootDir, mount, intermediateCn: 'Wiz Custody Int' });
    const ui = driveInk(<App controller={controller} env="wizc" />);
    await ui.waitFor(new RegExp(`Intermediate in Vault \\(${mount}\\).*not requested yet`));
    // Move the cursor (▸) to the intermediate's row, wherever the overview put it
    for (let i = 0; i < 8 && !/▸[^\n]*Intermediate in Vault/.test(ui.frame()); i += 1) {
      const rows = ui.frame().split('\n');
      const at = rows.findIndex((l) => l.includes('▸'));
      const want = rows.findIndex((l) => l.includes('Intermediate in Vault'));
      await ui.type(at < want ? KEY.down : KEY.up);
    }
    await ui.type(KEY.enter);
    await ui.waitFor(`Plan: intermediate in ${mount}`);
    await ui.type(KEY.enter);
    // Custodian 1 mistypes one group: refused by its number, asked again
    const alice = groups('alice');
    const typo = [...alice];
    typo[3] = `${typo[3]!.slice(0, 4)}${typo[3]![4] === 'Z' ? 'Y' : 'Z'}`;
    await ui.answer('Share 1 of 2', typo.join(' '));
    await ui.waitFor('is corrupted: group 4');
    await ui.type(alice.join(' '));
    // Nothing of the share is ever on screen, not even as stars
    for (const g of alice) expect(ui.frame()).not.toContain(g);
    expect(ui.frame()).not.toMatch(/\*{5}/);
    await ui.type(KEY.enter);
    await ui.waitFor('accepted: share 1 (alice)');
    // The same share again is a duplicate
    await ui.answer('Share 2 of 2', alice.join(' '));
    await ui.waitFor('a duplicate share');
    await ui.type(groups('carol').join(' '));
    await ui.type(KEY.enter);
    await ui.waitFor(/Intermediate installed: issuer/);
    const issuers = JSON.parse(await bao(vault.server(), ['list', '-format=json', `${mount}/issuers`]));
    expect(issuers).toHaveLength(2);
    const entries = fs.readFileSync(path.join(home, 'envs', 'wizc', 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.find((e) => e.action === 'intermediate-sign')).toMatchObject({ rootOpenedWith: 'shares', shareIndices: [1, 3] });
    ui.view.unmount();
  });

  it('offers the lab and a new environment when none exists', async () => {
    const work = tempDir();
    let labAsked = false;
    const controller = new WizardController({ stateDir: path.join(work, 'home') }, {});
    const ui = driveInk(<App controller={controller} onStartLab={() => { labAsked = true; }} />);
    await ui.waitFor('No environment is configured yet.');
    expect(ui.frame()).toContain('Start the rehearsal lab');
    await ui.type(KEY.enter);
    // Wait for the condition (a busy machine may take a while to process the key), never a fixed time.
    for (let i = 0; i < 300 && !labAsked; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(labAsked).toBe(true);
    ui.view.unmount();
  });
});

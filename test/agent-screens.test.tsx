import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, modeOf } from './helpers/env.js';
import { useTlsOpenBao, tlsVaultEnv } from './helpers/https-bao.js';
import { WizardController } from '../source/wizard/controller.js';
import { AgentRolloutScreen } from '../screens/AgentRolloutScreen.js';
import { KeyboardProvider } from '../screens/keys/KeyboardProvider.js';
import { driveInk, KEY } from './helpers/ink.js';
import { StateStore } from '../state/store.js';

/** The agent-rollout screens driven by keystrokes, on the real controller, against a real OpenBao over HTTPS. */
const vault = useTlsOpenBao();
const MOUNT = 'pki_screens';
let home: string;
const saved = { VAULT_TOKEN: process.env.VAULT_TOKEN, BAO_TOKEN: process.env.BAO_TOKEN };

beforeAll(async () => {
  const work = tempDir('cw-screens-');
  home = path.join(work, 'home');
  const env = tlsVaultEnv(vault.server(), home);
  const rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  expect((await cli(['root', 'create', '--env', 'test', '--out', rootDir, '--cn', 'Screens Root', '--key-type', 'ec-p256', '--passphrase-file', pass], { env })).exitCode).toBe(0);
  const int = await cli(['intermediate', '--env', 'test', '--mount', MOUNT, '--cn', 'Screens Int', '--root-dir', rootDir, '--passphrase-file', pass], { env });
  expect(int.exitCode, int.stderr).toBe(0);
  // the controller resolves the token as every command does: BAO_TOKEN > VAULT_TOKEN
  delete process.env.BAO_TOKEN;
  process.env.VAULT_TOKEN = vault.server().token;
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('agent rollout screens', () => {
  it('choose an app and a proxy, see both plans, apply, see each agent\'s result', async () => {
    const controller = new WizardController({ stateDir: home }, { vaultAddr: vault.server().addr, vaultCa: vault.server().caFile, mount: MOUNT });
    let exited = false;
    // Keys are written the moment the screen shows what they answer: none may be lost.
    const ui = driveInk(
      <KeyboardProvider onInterrupt={() => undefined}>
        <AgentRolloutScreen agents={controller.agents} env="test" onExit={() => (exited = true)} />
      </KeyboardProvider>,
    );
    await ui.waitFor(/none yet[\s\S]*Add an app/);
    await ui.type(KEY.enter);
    // An empty name is refused in the wizard's words, with the rule (no CLI flag).
    await ui.answer(/Workload name/, '');
    const empty = await ui.waitFor(/A workload name is needed/);
    expect(empty.replace(/\s+/g, ' ')).toMatch(/A workload name is needed: lower-case letters, digits, - and _/);
    expect(empty).not.toMatch(/--name/);
    await ui.type('wiz' + KEY.enter);
    await ui.answer(/Main DNS name/, 'Bad Name!');
    const bad = await ui.waitFor(/"Bad Name!" is not a host name or IP address/);
    expect(bad).not.toMatch(/--common-name|--alt-names/);
    await ui.type('\u007f'.repeat(9));
    await ui.waitFor(/Main DNS name: *\n/);
    await ui.type('wiz.test' + KEY.enter);
    // Esc goes back one question, with the answer given kept as the default
    await ui.waitFor(/More names/);
    await ui.type(KEY.escape);
    await ui.waitFor(/Main DNS name \[wiz\.test\]/);
    await ui.type(KEY.enter);
    await ui.answer(/More names/, 'www.wiz.test');
    await ui.answer(/Leaf lifetime/, '');
    await ui.answer(/TLS dir of the app/, '');
    await ui.answer(/Agent dir/, '');
    await ui.answer(/Service user/, '');
    await ui.waitFor(/Chosen for this rollout[\s\S]*app wiz · wiz\.test, www\.wiz\.test/);
    await ui.type(KEY.down);
    await ui.waitFor(/▸ Add a proxy/);
    await ui.type(KEY.enter);
    await ui.answer(/Workload name/, 'edge2');
    await ui.answer(/Proxy CA chain file/, '');
    await ui.answer(/Agent dir/, '');
    await ui.answer(/Service user/, '');
    // The menu kept its place (on "Add a proxy"): one key down to the plan
    await ui.waitFor(/proxy edge2[\s\S]*▸ Add a proxy/);
    await ui.type(KEY.down);
    await ui.waitFor(/▸ See the plan for 2 agent/);
    await ui.type(KEY.enter);
    await ui.waitFor(/Plan: agent for app wiz[\s\S]*Enter: apply/);
    // Two plans are longer than 24 rows: they page, and every line of both can be read
    const plan = await ui.pageThrough();
    expect(plan).toMatch(/Plan: agent for proxy edge2/);
    expect(plan).toMatch(/Create policy certwright-test-app-wiz/);
    expect(plan.replace(/\n\s*/g, ' ')).toMatch(/Create PKI role pki_screens\/roles\/wiz: exactly wiz\.test, www\.wiz\.test, TTL 3d/);
    await ui.type(KEY.enter);
    await ui.waitFor(/Enter: back to the agents/);
    const done = await ui.pageThrough();
    expect(done).toMatch(/✓ app wiz: written[\s\S]*✓ proxy edge2: written/);
    expect(done).toMatch(/enable --now bao-agent-test-app-wiz\.service/);
    const state = new StateStore('test', path.join(home, 'envs', 'test', 'state.json')).read();
    expect(state.steps[`agent-app-wiz@${MOUNT}`]?.status).toBe('done');
    expect(state.steps[`agent-proxy-edge2@${MOUNT}`]?.status).toBe('done');
    const out = String(state.steps[`agent-app-wiz@${MOUNT}`]!.facts.outDir);
    expect(modeOf(path.join(out, 'secret_id'))).toBe(0o600);
    expect(fs.readFileSync(path.join(out, 'agent.hcl'), 'utf8')).toContain(`address = "${vault.server().addr}"`);
    await ui.type(KEY.enter);
    await ui.waitFor(/Agents set up[\s\S]*app wiz[\s\S]*proxy edge2/);
    ui.view.unmount();
    expect(exited).toBe(false);
  });
});

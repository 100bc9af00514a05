import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase, modeOf } from './helpers/env.js';
import { useTlsOpenBao, tlsVaultEnv } from './helpers/https-bao.js';
import { WizardController } from '../source/wizard/controller.js';
import { AgentRolloutScreen } from '../screens/AgentRolloutScreen.js';
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

async function frameWith(get: () => string | undefined, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = (get() ?? '').replace(/\u001b\[[0-9;]*m/g, '');
    if (pattern.test(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`no frame matched ${pattern} within ${timeoutMs} ms; last frame:\n${frame}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent rollout screens', () => {
  it('choose an app and a proxy, see both plans, apply, see each agent\'s result', async () => {
    const controller = new WizardController({ stateDir: home }, { vaultAddr: vault.server().addr, vaultCa: vault.server().caFile, mount: MOUNT });
    let exited = false;
    const ui = render(<AgentRolloutScreen agents={controller.agents} env="test" onExit={() => (exited = true)} />);
    const frame = (re: RegExp) => frameWith(ui.lastFrame, re);
    const answer = async (label: RegExp, text: string) => {
      await frame(label);
      await new Promise((r) => setTimeout(r, 80)); // let the new input mount its key handler first
      if (text) {
        ui.stdin.write(text);
        await frame(new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      }
      ui.stdin.write('\r');
    };
    await frame(/none yet[\s\S]*Add an app/);
    await new Promise((r) => setTimeout(r, 80));
    ui.stdin.write('\r');
    await answer(/Workload name/, 'wiz');
    await answer(/Main DNS name/, 'Bad Name!');
    await frame(/"Bad Name!" is not a host name or IP address/);
    await new Promise((r) => setTimeout(r, 80));
    for (let i = 0; i < 9; i += 1) {
      ui.stdin.write('\u007f');
      await new Promise((r) => setTimeout(r, 10));
    }
    await frame(/Main DNS name: *\n/);
    await answer(/Main DNS name/, 'wiz.test');
    await answer(/More names/, 'www.wiz.test');
    await answer(/Leaf lifetime/, '');
    await answer(/TLS dir of the app/, '');
    await answer(/Agent dir/, '');
    await answer(/Service user/, '');
    await frame(/Chosen for this rollout[\s\S]*app wiz · wiz\.test, www\.wiz\.test/);
    await new Promise((r) => setTimeout(r, 80));
    ui.stdin.write('\u001B[B');
    await frame(/❯ Add a proxy/);
    ui.stdin.write('\r');
    await answer(/Workload name/, 'edge2');
    await answer(/Proxy CA chain file/, '');
    await answer(/Agent dir/, '');
    await answer(/Service user/, '');
    await frame(/proxy edge2/);
    await new Promise((r) => setTimeout(r, 80));
    ui.stdin.write('\u001B[B');
    await new Promise((r) => setTimeout(r, 30));
    ui.stdin.write('\u001B[B');
    await frame(/❯ See the plan for 2 agent/);
    await new Promise((r) => setTimeout(r, 80));
    ui.stdin.write('\r');
    const plan = await frame(/Plan: agent for app wiz[\s\S]*Plan: agent for proxy edge2[\s\S]*Enter: apply/);
    expect(plan).toMatch(/Create policy certwright-test-app-wiz/);
    expect(plan).toMatch(/Create PKI role pki_screens\/roles\/wiz: exactly wiz\.test, www\.wiz\.test, TTL 3d/);
    await new Promise((r) => setTimeout(r, 80));
    ui.stdin.write('\r');
    const done = await frame(/✓ app wiz: written[\s\S]*✓ proxy edge2: written[\s\S]*Enter: back/);
    expect(done).toMatch(/enable --now bao-agent-test-app-wiz\.service/);
    await new Promise((r) => setTimeout(r, 80));
    const state = new StateStore('test', path.join(home, 'envs', 'test', 'state.json')).read();
    expect(state.steps[`agent-app-wiz@${MOUNT}`]?.status).toBe('done');
    expect(state.steps[`agent-proxy-edge2@${MOUNT}`]?.status).toBe('done');
    const out = String(state.steps[`agent-app-wiz@${MOUNT}`]!.facts.outDir);
    expect(modeOf(path.join(out, 'secret_id'))).toBe(0o600);
    expect(fs.readFileSync(path.join(out, 'agent.hcl'), 'utf8')).toContain(`address = "${vault.server().addr}"`);
    ui.stdin.write('\r');
    await frame(/Agents set up[\s\S]*app wiz[\s\S]*proxy edge2/);
    ui.unmount();
    expect(exited).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import React from 'react';
import { describe, expect, it } from 'vitest';
import { App } from '../screens/App.js';
import { WizardController } from '../source/wizard/controller.js';
import { cli, tempDir, openssl, writePassphrase, useOpenBao, uniqueMount, vaultEnv } from './helpers/env.js';
import { driveInk, KEY } from './helpers/ink.js';

const vault = useOpenBao();

describe('CA-tree designs (certifying builds presets)', () => {
  it('draws each node with its real state and maps the missing ones to steps; the wizard shows the same', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const rootDir = path.join(work, 'root');
    fs.mkdirSync(rootDir);
    const pass = writePassphrase(work);
    const mount = uniqueMount();
    const env = vaultEnv(vault.server(), home);
    expect((await cli(['root', 'create', '--env', 'ct', '--out', rootDir, '--cn', 'CT Env Root', '--key-type', 'ec-p256', '--path-len', '1', '--passphrase-file', pass], { env })).exitCode).toBe(0);

    // Before the intermediate: the root exists, the intermediate is missing with its command
    const before = JSON.parse((await cli(['tree', '--env', 'ct', '--preset', 'env-at-root', '--mount', mount, '--json'], { env })).stdout);
    expect(before.tree[0].status.state).toBe('exists');
    const rootEnd = new Date((await openssl(['x509', '-in', path.join(rootDir, 'root-ca.pem'), '-noout', '-enddate'])).stdout.split('=')[1]!);
    expect(before.tree[0].status.notAfter).toBe(rootEnd.toISOString());
    expect(before.tree[0].children[0].status.state).toBe('missing');
    expect(before.remainingSteps).toEqual([`certwright intermediate --env ct --mount ${mount} --root-dir <ct root dir>`]);

    expect((await cli(['intermediate', '--env', 'ct', '--mount', mount, '--cn', 'CT Build Int', '--root-dir', rootDir, '--passphrase-file', pass], { env })).exitCode).toBe(0);
    const after = await cli(['tree', '--env', 'ct', '--preset', 'env-at-root', '--mount', mount], { env });
    expect(after.stdout).toMatch(/✓ ct environment root .*pathlen 1, offline\] — exists, expires/);
    expect(after.stdout).toMatch(/└─ ✓ build-server intermediate .*pathlen 0, vault\] — exists/);
    expect(after.stdout).toMatch(/Every node exists/);
    // The application-root design: its root is missing, yet the ct intermediate exists. The tree
    // shows the real certificate's pathlen (read independently with openssl) and who signed it,
    // and flags both where they differ from the design (issue 13, point 9).
    const appRoot = JSON.parse((await cli(['tree', '--env', 'ct', '--preset', 'app-root', '--envs', 'ct', '--mount', mount, '--json'], { env })).stdout);
    const int = appRoot.tree[0].children[0];
    const intFile = path.join(home, 'envs', 'ct', 'artefacts', `${mount}-intermediate.pem`);
    const bc = (await openssl(['x509', '-in', intFile, '-noout', '-ext', 'basicConstraints'])).stdout;
    const realPathLen = Number(/pathlen:(\d+)/.exec(bc)![1]);
    expect(appRoot.tree[0].status.state).toBe('missing');
    expect(int.status.state).toBe('exists');
    expect(int.status.actual.pathLen).toBe(realPathLen);
    expect(int.status.differences).toEqual([`pathlen ${realPathLen}, the design says 1`, expect.stringMatching(/^signed by CN ?= ?CT Env Root, while the application root \(env app\) does not exist$/)]);
    const appText = await cli(['tree', '--env', 'ct', '--preset', 'app-root', '--envs', 'ct', '--mount', mount], { env });
    expect(appText.stdout).toMatch(new RegExp(`! ct intermediate \\[pathlen ${realPathLen}, vault\\] — exists, expires \\S+; DIFFERS from the design: pathlen ${realPathLen}, the design says 1`));
    // The cross-signed design lists the second root and the cross-sign step as missing
    const xs = JSON.parse((await cli(['tree', '--env', 'ct', '--preset', 'cross-signed', '--mount', mount, '--json'], { env })).stdout);
    expect(xs.tree.map((n: { status: { state: string } }) => n.status.state)).toEqual(['exists', 'missing']);
    expect(xs.remainingSteps.join('\n')).toMatch(/certwright cross-sign --env ct --mount/);
    const bad = await cli(['tree', '--env', 'ct', '--preset', 'forest'], { env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Use one of: app-root, root-per-env, env-at-root, cross-signed/);

    // The wizard draws the same tree
    const controller = new WizardController({ stateDir: home }, { mount });
    process.env.VAULT_ADDR = vault.server().addr;
    process.env.VAULT_TOKEN = vault.server().token;
    const ui = driveInk(<App controller={controller} env="ct" />);
    await ui.waitFor(/○ CA-tree designs/);
    for (let i = 0; i < 10 && !/▸ ○ CA-tree designs/.test(ui.frame()); i += 1) await ui.type(KEY.down);
    await ui.waitFor(/▸ ○ CA-tree designs/);
    await ui.type(KEY.enter);
    await ui.waitFor('Cross-signed split');
    await ui.type(KEY.down);
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    const frame = await ui.waitFor(/✓ ct environment root/);
    expect(frame).toMatch(/✓ ct environment root/);
    expect(frame).toMatch(/└─ ✓ build-server intermediate/);
    ui.view.unmount();
  });
});

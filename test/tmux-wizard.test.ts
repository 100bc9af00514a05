import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, openssl, writePassphrase, BIN } from './helpers/env.js';
import { TmuxSession } from './helpers/tmux.js';
import { assertFits } from './helpers/frame.js';

let session: TmuxSession | undefined;
afterEach(async () => {
  await session?.kill();
  session = undefined;
});

function envFor(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: home };
}

describe('wizard in a real terminal (tmux, 80x24, NO_COLOR)', () => {
  it('an operator runs the root ceremony through the wizard', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tmx', '--out', out], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Root CA name (CN)');
    await session.text('Tmux Root CA');
    await session.keys('Enter');
    await session.waitFor('EC P-384');
    await session.keys('Down', 'Enter'); // EC P-256
    await session.waitFor('Validity');
    await session.text('5y');
    await session.keys('Enter');
    await session.waitFor('Path length');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Enter: continue');
    const plan = await session.screen();
    expect(plan).toMatch(/Key\s+ec-p256/);
    expect(plan).toMatch(/Validity\s+5y/);
    await session.keys('Enter');
    await session.waitFor('New passphrase');
    await session.text('tmux passphrase 123');
    await session.keys('Enter');
    await session.waitFor('Type the passphrase again');
    expect(await session.screen()).not.toContain('tmux passphrase 123');
    await session.text('tmux passphrase 123');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Tmux Root CA');
    await session.keys('Enter');
    const done = await session.waitFor('SHA-256 fingerprint');
    const fp = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1]!.trim();
    expect(done.replace(/\s+/g, '')).toContain(fp);
    // The ceremony closes with the transcript's head, for the witnesses to write down.
    expect(done.replace(/\s+/g, '')).toMatch(/Transcripthead\(entry1\),forthewitnessestowritedown:[0-9a-f]{64}RootCAcreated/);
    // Every line fits 80 columns
    for (const line of done.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const text = (await openssl(['x509', '-in', path.join(out, 'root-ca.pem'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/prime256v1/);
    await session.keys('Enter');
    await session.waitFor(/✓ Offline root CA/);
    await session.keys('q');
    await session.waitFor('[exit 0]');
    const pass = writePassphrase(work, 'tmux passphrase 123');
    expect((await openssl(['pkey', '-in', path.join(out, 'root-ca.key'), '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
  });

  it('Ctrl-C at the passphrase leaves nothing behind, and the next run starts clean', async () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--env', 'tmc', '--out', out, '--cn', 'Interrupted CA', '--key-type', 'ec-p256'], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Validity');
    await session.keys('Enter');
    await session.waitFor('Path length');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('New passphrase');
    await session.keys('C-c');
    await session.waitFor(/\[exit \d+\]/);
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'envs', 'tmc', 'lock'))).toBe(false);
    await session.kill();
    // Resume: the same command works from the start
    session = await TmuxSession.start(['node', BIN, '--env', 'tmc', '--out', out, '--cn', 'Interrupted CA', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '0', '--passphrase-file', writePassphrase(work)], { env: envFor(home) });
    await session.waitFor('Offline root CA');
    await session.keys('Enter');
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Interrupted CA');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(true);
  });

  it('the lab: `certwright lab` starts OpenBao, and the wizard builds root and intermediate on it', async () => {
    const work = tempDir();
    session = await TmuxSession.start(['node', BIN, 'lab', '--state-dir', path.join(work, 'state'), '--out', path.join(work, 'root'), '--cn', 'Lab Root', '--key-type', 'ec-p256', '--ttl', '2y', '--path-len', '1', '--passphrase-file', writePassphrase(work), '--mount', 'pki_lab', '--intermediate-cn', 'Lab Int', '--root-dir', path.join(work, 'root')], { env: envFor(path.join(work, 'unused')), height: 30, width: 100 });
    await session.waitFor('certwright · lab');
    await session.keys('Enter');
    await session.waitFor('Enter: continue');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Lab Root');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    await session.keys('Enter');
    // The selection stays on the step just done; the intermediate is one key down
    await session.waitFor(/Intermediate in Vault \(pki_lab\).*not requested yet/);
    await session.keys('Down', 'Enter');
    await session.waitFor('Enter: apply');
    await session.keys('Enter');
    await session.waitFor('Intermediate installed: issuer');
    await session.keys('Enter');
    await session.waitFor(/✓ Intermediate in Vault \(pki_lab\)/);
    await session.keys('q');
    await session.waitFor('Lab stopped');
    await session.waitFor('[exit 0]');
    const cert = path.join(work, 'state', 'envs', 'lab', 'artefacts', 'pki_lab-intermediate.pem');
    expect((await openssl(['verify', '-CAfile', path.join(work, 'root', 'root-ca.pem'), cert])).exitCode).toBe(0);
  });

  it('--plain runs the same ceremony with line prompts (no full-screen UI)', async () => {
    const work = tempDir();
    const out = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, '--plain', '--env', 'pl', '--out', out, '--cn', 'Plain CA', '--key-type', 'ec-p256', '--ttl', '1y', '--path-len', '0'], { env: envFor(path.join(work, 'home')) });
    await session.waitFor('Open a step');
    await session.keys('Enter');
    await session.waitFor('Who opens the root key');
    await session.keys('Enter'); // one passphrase
    await session.waitFor('Plan: offline root');
    await session.waitFor('New passphrase');
    await session.text('plain passphrase 1');
    await session.keys('Enter');
    await session.waitFor('Type it again');
    await session.text('plain passphrase 1');
    await session.keys('Enter');
    await session.waitFor('to create the root');
    await session.text('Plain CA');
    await session.keys('Enter');
    await session.waitFor('SHA-256 fingerprint');
    await session.waitForPrompt('? Enter: back to the steps');
    await session.keys('Enter');
    await session.waitFor('[done] Offline root CA');
    expect(fs.existsSync(path.join(out, 'root-ca.key'))).toBe(true);
  });

  it('lab --plain walks every step with line prompts at 80x24: root, intermediate, Vault over HTTPS, init/unseal, URL switch, an app agent to its first render; every screen fits; Ctrl-C exits 130', async () => {
    const work = tempDir();
    const root = path.join(work, 'root');
    session = await TmuxSession.start(['node', BIN, 'lab', '--plain', '--state-dir', path.join(work, 'state'), '--out', root, '--cn', 'Plain Lab Root', '--key-type', 'ec-p256', '--ttl', '2y', '--path-len', '1', '--passphrase-file', writePassphrase(work), '--mount', 'pki_pl', '--intermediate-cn', 'Plain Lab Int', '--root-dir', root], { env: envFor(path.join(work, 'unused')) });
    const seen: string[] = [];
    /** Waits for text, and checks the screen as the operator sees it: nothing over 80 columns, nothing cut. */
    const waitFits = async (pattern: string | RegExp, timeoutMs?: number) => {
      const screen = await session!.waitFor(pattern, timeoutMs);
      assertFits(screen, 80, 24);
      seen.push(screen);
      return screen;
    };
    /** After a step's result: Enter back to the steps (the result stays until then), then the pointer to `label`. */
    const choose = async (label: string, afterStep = true) => {
      if (afterStep) {
        assertFits(await session!.waitForPrompt('? Enter: back to the steps'), 80, 24);
        await session!.keys('Enter');
      }
      assertFits(await session!.waitForPrompt('↑↓ navigate'), 80, 24);
      await session!.choose(label);
    };
    const first = await waitFits('Open a step', 60_000);
    const workspace = /Workspace: (\S+)/.exec(first)![1]!;
    await choose('Offline root CA', false);
    await waitFits('to create the root');
    await session.text('Plain Lab Root');
    await session.keys('Enter');
    await waitFits('SHA-256 fingerprint');

    await choose('Intermediate in Vault (pki_pl)');
    await waitFits('Apply?');
    await session.keys('Enter');
    await waitFits('Intermediate installed: issuer');

    await choose('Vault over HTTPS');
    await waitFits("DNS names on Vault's certificate");
    await session.keys('Enter');
    await waitFits('IP addresses on the certificate');
    await session.keys('Enter');
    await waitFits('Listen on (HOST:PORT)');
    await session.keys('Enter');
    // The lab runs Vault as a process: no container user is asked.
    const vaultPlan = await waitFits('Apply?');
    expect(vaultPlan).toContain('Plan: Vault over HTTPS (process)');
    expect(vaultPlan).not.toContain('Container user');
    await session.keys('Enter');
    const https = await waitFits('Vault answers over HTTPS at', 90_000);
    const apiAddr = /Vault answers over HTTPS at (https:\/\/\S+)/.exec(https)![1]!;

    await choose('Initialise and unseal');
    await waitFits('Vault is initialised and unsealed.');

    await choose('AIA/CRL URLs over HTTPS');
    await waitFits('PKI mount');
    await session.keys('Enter');
    await waitFits('HTTPS base URL');
    await session.keys('Enter');
    await waitFits('Apply?');
    await session.keys('Enter');
    await waitFits(`The AIA and CRL URLs of pki_pl are under ${apiAddr}`);

    await choose('Agents (apps and proxies)');
    await waitFits('Add an agent');
    await session.keys('Enter'); // an app
    await waitFits('Workload name');
    // A refused answer is said, in the wizard's words with the rule, and asked again.
    await session.keys('Enter');
    await waitFits('A workload name is needed');
    await session.text('web');
    await session.keys('Enter');
    await waitFits('Main DNS name');
    await session.text('web.plain.test');
    await session.keys('Enter');
    for (const question of ['More names/IPs', 'Leaf lifetime', 'TLS dir of the app', 'Agent dir', 'Service user']) {
      await waitFits(question);
      await session.keys('Enter');
    }
    await waitFits('Apply?');
    await session.keys('Enter');
    // The agent's result stays until Enter; what scrolled by is in the terminal's scrollback.
    assertFits(await session.waitForPrompt('? Enter: back to the steps', 120_000), 80, 24);
    const history = await session.scrollback();
    assertFits(history, 80);
    const flat = history.replace(/\s+/g, '');
    expect(flat).toContain('Installitssystemduserunit');
    expect(flat).toContain(`Firstrenderswappedin:${path.join(work, 'state', 'envs', 'lab', 'agents', 'web-tls', 'current', 'cert.pem')}`);
    expect(fs.existsSync(path.join(work, 'state', 'envs', 'lab', 'agents', 'web-tls', 'current', 'cert.pem'))).toBe(true);

    // distribute-ca from the registry: the root offered as the CA, the service user's trust file written as that user.
    const user = `cw13p${process.pid % 100000}`;
    execFileSync('useradd', ['-m', user]);
    try {
      await choose('CA distribution to service users');
      const ca = await waitFits('CA file to distribute');
      expect(ca.replace(/\s+/g, '')).toContain(path.join(root, 'root-ca.pem'));
      await session.keys('Enter');
      await waitFits('Service users');
      await session.text(user);
      await session.keys('Enter');
      await waitFits('Path inside each home');
      await session.keys('Enter');
      await waitFits('Apply?');
      await session.keys('Enter');
      await waitFits(new RegExp(`${user}: (written|updated|unchanged|fixed|failed)`));
      const trust = path.join('/home', user, '.config', 'certwright', 'ca.pem');
      expect(fs.readFileSync(trust, 'utf8')).toBe(fs.readFileSync(path.join(root, 'root-ca.pem'), 'utf8'));
      expect(fs.statSync(trust).uid).toBe(Number(execFileSync('id', ['-u', user]).toString().trim()));
    } finally {
      execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
    }

    // Ctrl-C at the menu: the lab stops everything and the exit code is 130.
    await session.waitForPrompt('? Enter: back to the steps');
    await session.keys('Enter');
    await session.waitForPrompt('↑↓ navigate');
    await session.keys('C-c');
    await waitFits('[exit 130]', 30_000);
    // Secrets were never on any screen: the root passphrase stays in its file, the lab's root token in its 0600 keys file.
    const token = (JSON.parse(fs.readFileSync(path.join(workspace, 'vault-keys.json'), 'utf8')) as { root_token: string }).root_token;
    for (const screen of [...seen, await session.screen()]) {
      expect(screen).not.toContain(token);
      expect(screen).not.toContain(fs.readFileSync(path.join(work, 'passphrase'), 'utf8').trim());
    }
    const cert = path.join(work, 'state', 'envs', 'lab', 'artefacts', 'pki_pl-intermediate.pem');
    expect((await openssl(['verify', '-CAfile', path.join(root, 'root-ca.pem'), cert])).exitCode).toBe(0);
  }, 420_000);
});

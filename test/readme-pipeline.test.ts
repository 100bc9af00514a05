/**
 * The README's "Whole pipeline on one machine" block, run as written (bash, in an empty
 * directory, `certwright` and `bao` on PATH): root ceremony, the environment's own Vault,
 * intermediate, Vault's certificate, the move to HTTPS, the URL switch, an app agent that renders
 * its first leaf over HTTPS, and a green status. Judged afterwards by openssl, curl and the
 * status JSON. Its address is the README's fixed 127.0.0.1:8200, so the test waits for that port
 * to be free rather than changing the block.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, BAO, ROOT, tempDir } from './helpers/env.js';

export function readmeBlock(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (!block) throw new Error(`section "${heading}" has no sh block`);
  return block[1]!;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

let work: string | undefined;
afterAll(async () => {
  if (!work) return;
  const pidFile = path.join(work, 'vault', 'vault.pid');
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await execa('pkill', ['-f', `-config=${path.join(work, 'agent-web', 'agent.hcl')}`], { reject: false });
});

describe('README: whole pipeline on one machine', () => {
  it('runs as written and ends with a green status', async () => {
    const script = readmeBlock('Whole pipeline on one machine');
    for (let i = 0; i < 600 && !((await portFree(8200)) && (await portFree(8201))); i += 1) await new Promise((r) => setTimeout(r, 100));
    work = tempDir('cw-readme-');
    const bin = path.join(work, '.bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'certwright'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o755 });
    fs.symlinkSync(BAO, path.join(bin, 'bao'));
    // CERTWRIGHT_PODMAN names no binary: other test files run tls=true containers at the same time,
    // and the block's status would list them (this estate has none); the section is then "unknown".
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: work, CERTWRIGHT_HOME: path.join(work, 'home'), NO_COLOR: '1', CERTWRIGHT_PODMAN: path.join(work, 'no-podman') };
    const r = await execa('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], { cwd: work, env, extendEnv: false, reject: false, all: true, timeout: 240_000 });
    expect(r.exitCode, r.all).toBe(0);
    // Independent checks of what the block built.
    const root = path.join(work, 'root', 'root-ca.pem');
    const s = await execa('openssl', ['s_client', '-connect', '127.0.0.1:8200', '-CAfile', root, '-verify_return_error', '-servername', 'localhost'], { input: '', reject: false });
    expect(s.exitCode, s.stderr).toBe(0);
    const urls = await execa('curl', ['-sS', '--fail', '--cacert', root, '-H', `X-Vault-Token: ${/"root_token": "(.*)"/.exec(fs.readFileSync(path.join(work, 'vault-keys.json'), 'utf8'))![1]}`, 'https://127.0.0.1:8200/v1/pki_int/config/urls']);
    expect(JSON.parse(urls.stdout).data.issuing_certificates).toEqual(['https://127.0.0.1:8200/v1/pki_int/ca']);
    const leaf = await execa('openssl', ['verify', '-CAfile', root, '-untrusted', path.join(work, 'web-tls', 'current', 'chain.pem'), path.join(work, 'web-tls', 'current', 'cert.pem')], { reject: false });
    expect(leaf.stdout).toMatch(/OK$/);
    const status = JSON.parse(fs.readFileSync(path.join(work, 'status.json'), 'utf8'));
    const notGreen = (status.problems as Array<{ section: string; subject: string; message: string }>).map((p) => `${p.section}: ${p.subject}: ${p.message}`);
    expect(notGreen).toEqual([]);
    expect(status.health).toBe('ok');
    // Green because each part was seen, not because nothing was looked at.
    expect(status.sections.vault).toMatchObject({ state: 'ok', sealed: false, initialized: true });
    expect(status.sections.vault.certificate).toMatchObject({ verified: true });
    expect(status.sections.pki.state).toBe('ok');
    const agent = status.sections.agents.agents.find((a: { name: string }) => a.name === 'web');
    expect(agent.process.alive).toBe(true);
    const cert = status.sections.certificates.certificates.find((c: { path: string }) => c.path === path.join(work!, 'web-tls', 'cert.pem') || c.path === path.join(work!, 'web-tls', 'current', 'cert.pem'));
    expect(cert, JSON.stringify(status.sections.certificates.certificates.map((c: { path: string }) => c.path))).toMatchObject({ state: 'ok', keyMatches: true, chainVerifies: true });
  }, 300_000);
});

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, useOpenBao, uniqueMount, writePassphrase, bao, BIN } from './helpers/env.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { readEvents } from '../source/hook/events.js';
import { VaultClient } from '../source/vault/client.js';

/**
 * Issue 12, the points that need a real OpenBao: 5 (a kill in build-role between Vault's answer to
 * `POST auth/approle/role/<role>/secret-id` and the write of --secret-id-out leaves no live
 * secret_id once it is run again) and 10 (the hook of a --state-dir agent writes its events into
 * that state dir, not $HOME). One dev server for the file, one mount per test.
 */
const vault = useOpenBao();
let work: string;
let stateDir: string;
let rootDir: string;
let pass: string;
const agents: RunningAgent[] = [];

const env = () => ({ VAULT_ADDR: vault.server().addr, VAULT_TOKEN: vault.server().token });
const root = () => new VaultClient({ addr: vault.server().addr, token: vault.server().token });

beforeAll(async () => {
  work = tempDir('cw-safety-vault-');
  stateDir = path.join(work, 'state');
  rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  pass = writePassphrase(work);
  const created = await cli(['root', 'create', '--state-dir', stateDir, '--env', 'sv', '--out', rootDir, '--cn', 'Safety Vault Root', '--key-type', 'ec-p256', '--passphrase-file', pass], { env: env() });
  expect(created.exitCode, created.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
});

/**
 * A loopback HTTP proxy to the dev server that, when Vault has answered the request `matches`
 * picks, kills the client with SIGKILL before one byte of that answer reaches it: Vault has done
 * the work, the client never learns of it. It hands the test the body Vault sent.
 */
async function killingProxy(target: string, matches: (method: string, url: string) => boolean): Promise<{ addr: string; arm(pid: number): void; answered: Promise<string>; close(): Promise<void> }> {
  let pid: number | undefined;
  let resolveAnswered: (body: string) => void = () => undefined;
  const answered = new Promise<string>((r) => (resolveAnswered = r));
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          const text = Buffer.concat(body).toString('utf8');
          if (pid !== undefined && matches(req.method ?? '', req.url ?? '')) {
            process.kill(pid, 'SIGKILL');
            resolveAnswered(text);
            res.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(text);
        });
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    addr: `http://127.0.0.1:${port}`,
    arm: (p) => (pid = p),
    answered,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('point 5: a kill in build-role after Vault made the secret_id leaves none live', () => {
  it('the rerun writes a new secret_id and destroys the one no file holds; a third run changes nothing', async () => {
    const mount = uniqueMount('bkill');
    await bao(vault.server(), ['secrets', 'enable', `-path=${mount}`, 'pki']);
    const ci = path.join(work, `ci-${mount}`);
    const secretFile = path.join(ci, 'secret-id');
    const args = ['build-role', '--state-dir', stateDir, '--env', 'sv', '--mount', mount, '--role', 'build', '--allowed-apps', 'app1', '--role-id-out', path.join(ci, 'role-id'), '--secret-id-out', secretFile];
    const approleName = `build-${mount}-build`;
    const secretIdPath = `/v1/auth/approle/role/${approleName}/secret-id`;

    // Given a build-role run killed (SIGKILL) the moment Vault has answered the secret_id POST
    const proxy = await killingProxy(vault.server().addr, (method, url) => method === 'POST' && url === secretIdPath);
    const child = spawn('node', [BIN, ...args], { env: { PATH: process.env.PATH, HOME: work, CI: 'true', NO_COLOR: '1', VAULT_ADDR: proxy.addr, VAULT_TOKEN: vault.server().token }, stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.arm(child.pid!);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    await proxy.close();
    expect(exit.signal, stderr).toBe('SIGKILL');
    const stranded = (JSON.parse(await proxy.answered) as { data: { secret_id: string; secret_id_accessor: string } }).data;
    // Then: a secret_id is live in Vault and on no disk (the hole the issue found)
    expect(fs.existsSync(secretFile)).toBe(false);
    const lookup = async (secretId: string) => (await root().write<{ secret_id_accessor?: string }>(`auth/approle/role/${approleName}/secret-id/lookup`, { secret_id: secretId }, { accept: [400, 404] })).json?.data?.secret_id_accessor;
    expect(await lookup(stranded.secret_id)).toBe(stranded.secret_id_accessor);

    // When the same command runs again: its plan names the stranded secret_id ...
    const plan = await cli([...args, '--dry-run'], { env: env() });
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stderr).toContain(`accessor ${stranded.secret_id_accessor}`);
    const rerun = await cli(args, { env: env() });
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    // ... then the file holds a valid secret_id, the stranded one is dead, and it is the only one
    const written = fs.readFileSync(secretFile, 'utf8').trim();
    expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
    const writtenAccessor = await lookup(written);
    expect(writtenAccessor).toBeDefined();
    expect(await lookup(stranded.secret_id)).toBeUndefined();
    const login = await root().request('POST', 'auth/approle/login', { body: { role_id: fs.readFileSync(path.join(ci, 'role-id'), 'utf8').trim(), secret_id: stranded.secret_id }, anonymous: true, accept: [400, 403] });
    expect(login.status).not.toBe(200);
    const list = async () => ((await root().list(`auth/approle/role/${approleName}/secret-id`)).json?.data as { keys?: string[] } | undefined)?.keys ?? [];
    expect(await list()).toEqual([writtenAccessor]);

    // A third run: nothing to do, the same secret_id stays
    const third = await cli(args, { env: env() });
    expect(third.exitCode, third.stderr).toBe(0);
    expect(fs.readFileSync(secretFile, 'utf8').trim()).toBe(written);
    expect(await list()).toEqual([writtenAccessor]);
    // A second build server with its own file keeps its own secret_id: only this file's are destroyed
    const other = path.join(ci, 'other-secret-id');
    const second = await cli([...args.slice(0, -1), other], { env: env() });
    expect(second.exitCode, second.stderr).toBe(0);
    const again = await cli(args, { env: env() });
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await list()).sort()).toEqual([writtenAccessor, await lookup(fs.readFileSync(other, 'utf8').trim())].sort());
  }, 120_000);
});

describe('point 10: the hook of a --state-dir agent writes its events into that state dir', () => {
  it('agent.hcl carries --state-dir; a real bao agent\'s hook logs into it and status shows the events; $HOME is untouched', async () => {
    const mount = uniqueMount('hookdir');
    const home = path.join(work, 'operator-home');
    fs.mkdirSync(home);
    const int = await cli(['intermediate', '--state-dir', stateDir, '--env', 'sv', '--mount', mount, '--cn', `Hook Dir Int ${mount}`, '--root-dir', rootDir, '--passphrase-file', pass], { env: { ...env(), HOME: home } });
    expect(int.exitCode, int.stderr).toBe(0);
    const out = path.join(work, `agent-${mount}`);
    const tls = path.join(work, `tls-${mount}`);
    // Given an agent generated with --state-dir and no --hook-state-dir
    const agent = await cli(['agent', 'app', '--state-dir', stateDir, '--env', 'sv', '--mount', mount, '--name', 'web', '--common-name', 'web.test', '--ttl', '1h', '--tls-dir', tls, '--out', out, '--allow-http'], { env: { ...env(), HOME: home } });
    expect(agent.exitCode, agent.stderr).toBe(0);
    const hcl = fs.readFileSync(path.join(out, 'agent.hcl'), 'utf8');
    expect(hcl).toContain(`"--state-dir", ${JSON.stringify(stateDir)}`);
    // When a real agent (its HOME the operator's) renders and runs that hook
    agents.push(startAgent(path.join(out, 'agent.hcl'), path.join(work, `agent-${mount}.log`), { HOME: home, CERTWRIGHT_PODMAN: path.join(work, 'no-podman') }));
    const events = path.join(stateDir, 'envs', 'sv', 'events.jsonl');
    await waitFor('the issued event in the state dir', 30_000, () => fs.existsSync(events) && readEvents(events).some((e) => e.workload === 'app/web' && e.event === 'issued'));
    // Then nothing went to the operator's home, and the environment's own status shows the event
    expect(fs.existsSync(path.join(home, '.config', 'certwright'))).toBe(false);
    const status = await cli(['status', '--state-dir', stateDir, '--env', 'sv', '--json'], { env: { ...env(), HOME: home } });
    const snapshot = JSON.parse(status.stdout) as { sections: { events: unknown } };
    expect(JSON.stringify(snapshot.sections.events)).toContain('issued');
  }, 120_000);
});

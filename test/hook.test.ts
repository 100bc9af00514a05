import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, openssl, modeOf } from './helpers/env.js';
import { makeTestCa, leafPayload, type TestCa } from './helpers/certs.js';
import { podmanStatus, ensureImage, startNginx, type NginxContainer } from './helpers/podman.js';
import { freePort } from '../source/system/openbao.js';
import { servedFingerprint, waitForServed } from '../source/system/tls-probe.js';
import { applyHook, type HookInput } from '../source/steps/hook.js';
import { EventLog, readEvents } from '../source/hook/events.js';
import { Podman } from '../source/system/podman.js';
import { silentReporter } from '../source/steps/context.js';

const RUN = randomBytes(4).toString('hex');
const podman = podmanStatus();
if (!podman.ok) console.warn(`[hook.test] SKIPPED the container reload tests: ${podman.reason}`);

let ca: TestCa;
let other: TestCa;
beforeAll(() => {
  const dir = tempDir('cw-hook-ca-');
  ca = makeTestCa(path.join(dir, 'a'), 'Hook');
  other = makeTestCa(path.join(dir, 'b'), 'Other');
});

function tlsState(dir: string) {
  const current = fs.existsSync(path.join(dir, 'current')) ? fs.readlinkSync(path.join(dir, 'current')) : undefined;
  const files = current ? fs.readdirSync(path.join(dir, current)).sort().map((f) => `${f}:${fs.readFileSync(path.join(dir, current, f), 'utf8').length}`) : [];
  return { current, files, versions: fs.existsSync(path.join(dir, 'versions')) ? fs.readdirSync(path.join(dir, 'versions')).sort() : [] };
}

async function runHook(work: string, payload: string, extra: string[] = []) {
  const file = path.join(work, `payload-${randomBytes(3).toString('hex')}.json`);
  fs.writeFileSync(file, payload, { mode: 0o600 });
  // --select with a label nobody else uses: other work on this machine may run tls=true containers.
  const select = extra.includes('--select') ? [] : ['--select', `certwright.test=none-${RUN}`];
  return cli(['hook', '--env', 'test', '--name', 'web', '--payload', file, '--tls-dir', path.join(work, 'tls'), '--trust', ca.rootFile, ...select, ...extra], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
}

describe('certwright hook (leaf payload)', () => {
  it('swaps key, certificate and chain together, keeps the previous version, and does nothing for unchanged content', async () => {
    const work = tempDir();
    const tls = path.join(work, 'tls');
    // a plain key.pem left by an older layout (the seed's hook wrote files in place) becomes a link
    fs.mkdirSync(tls, { recursive: true });
    fs.writeFileSync(path.join(tls, 'key.pem'), 'old\n', { mode: 0o600 });
    const first = ca.issue('web.test');
    const r1 = await runHook(work, leafPayload(ca, first));
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/^Issued: /);
    expect(fs.lstatSync(path.join(tls, 'key.pem')).isSymbolicLink()).toBe(true);
    expect(r1.stderr).toMatch(/No running container is labelled tls=true with certwright\.test=none-\w+; reload skipped/);
    const v1 = fs.readlinkSync(path.join(tls, 'current'));
    expect(v1).toMatch(/^versions\//);
    // the files an app reads: key 0600, certs 0644, stable names through current/
    expect(modeOf(path.join(tls, v1, 'key.pem'))).toBe(0o600);
    expect(modeOf(path.join(tls, v1, 'bundle.pem'))).toBe(0o600);
    expect(modeOf(path.join(tls, v1, 'fullchain.pem'))).toBe(0o644);
    expect(fs.readlinkSync(path.join(tls, 'key.pem'))).toBe('current/key.pem');
    // openssl, independently: the key is the certificate's, and leaf + intermediate verify to the root
    const pubKey = (await openssl(['pkey', '-in', path.join(tls, 'key.pem'), '-pubout'])).stdout;
    const pubCert = (await openssl(['x509', '-in', path.join(tls, 'cert.pem'), '-noout', '-pubkey'])).stdout;
    expect(pubKey).toBe(pubCert);
    const verify = await openssl(['verify', '-CAfile', ca.rootFile, '-untrusted', path.join(tls, 'fullchain.pem'), path.join(tls, 'cert.pem')]);
    expect(verify.stdout).toMatch(/OK/);
    expect((fs.readFileSync(path.join(tls, 'fullchain.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length).toBe(2);
    expect((fs.readFileSync(path.join(tls, 'chain.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length).toBe(2);

    const second = ca.issue('web.test');
    const r2 = await runHook(work, leafPayload(ca, second));
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/^Rotated: /);
    const v2 = fs.readlinkSync(path.join(tls, 'current'));
    expect(v2).not.toBe(v1);
    expect(fs.readlinkSync(path.join(tls, 'previous'))).toBe(v1);
    expect(new X509Certificate(fs.readFileSync(path.join(tls, 'previous', 'cert.pem'))).serialNumber).toBe(new X509Certificate(first.cert).serialNumber);

    // the same payload again: nothing written, nothing reloaded, no event
    const before = tlsState(tls);
    const mtime = fs.statSync(path.join(tls, v2, 'key.pem')).mtimeMs;
    const r3 = await runHook(work, leafPayload(ca, second));
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(r3.stdout).toMatch(/^Unchanged: /);
    expect(tlsState(tls)).toEqual(before);
    expect(fs.statSync(path.join(tls, v2, 'key.pem')).mtimeMs).toBe(mtime);

    const events = readEvents(path.join(work, 'home', 'envs', 'test', 'events.jsonl'));
    expect(events.map((e) => e.event)).toEqual(['issued', 'rotated']);
    expect(events[1]).toMatchObject({ env: 'test', workload: 'app/web', serial: new X509Certificate(second.cert).serialNumber.toLowerCase() });
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY/);
  });

  it('refuses bad payloads with a clear error, writes nothing and logs verify-failed', async () => {
    const work = tempDir();
    const tls = path.join(work, 'tls');
    const good = ca.issue('web.test');
    expect((await runHook(work, leafPayload(ca, good))).exitCode).toBe(0);
    const before = tlsState(tls);
    const a = ca.issue('web.test');
    const b = ca.issue('web.test');
    const foreign = other.issue('web.test');
    const cases: Array<[string, string, RegExp]> = [
      ['key not matching the certificate', JSON.stringify({ certificate: a.cert, issuing_ca: ca.intPem, private_key: b.key }), /private key .* does not match its certificate/],
      ['truncated certificate PEM', JSON.stringify({ certificate: a.cert.slice(0, a.cert.length / 2), issuing_ca: ca.intPem, private_key: a.key }), /truncated or damaged certificate/],
      ['truncated private key PEM', JSON.stringify({ certificate: a.cert, issuing_ca: ca.intPem, private_key: a.key.slice(0, 60) }), /truncated private key/],
      ['chain that does not verify (another CA)', JSON.stringify({ certificate: foreign.cert, issuing_ca: other.intPem, private_key: foreign.key }), /chain .* does not verify: no certificate in the chain issued "Other Intermediate"/],
      ['chain ending at a root that is not the pinned one', JSON.stringify({ certificate: foreign.cert, issuing_ca: other.intPem, ca_chain: other.rootPem, private_key: foreign.key }), /chain .* does not verify: .*"Other Root" .* is not the pinned root/],
      ['leaf without its issuer', JSON.stringify({ certificate: a.cert, private_key: a.key }), /does not verify: no certificate in the chain issued/],
      ['truncated JSON', leafPayload(ca, a).slice(0, 300), /not valid JSON .* truncated/],
    ];
    for (const [what, payload, message] of cases) {
      const r = await runHook(work, payload);
      expect(r.exitCode, what).toBe(1);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).toMatch(/\nFix: /);
      expect(r.stderr, what).not.toMatch(/PRIVATE KEY/);
      expect(tlsState(tls), what).toEqual(before);
    }
    const events = readEvents(path.join(work, 'home', 'envs', 'test', 'events.jsonl'));
    expect(events.filter((e) => e.event === 'verify-failed')).toHaveLength(cases.length);
  });

  it('never lets concurrent readers see a new certificate with an old key over many rotations', async () => {
    const work = tempDir();
    const tls = path.join(work, 'tls');
    const leaves = Array.from({ length: 6 }, () => ca.issue('web.test'));
    const events = new EventLog(undefined, 'test', 'app/web');
    const input = (i: number): HookInput => ({
      payloadText: leafPayload(ca, leaves[i % leaves.length]!),
      payloadSource: `payload ${i}`,
      tlsDir: tls,
      trustFile: ca.rootFile,
      select: [],
      podman: new Podman(path.join(work, 'no-podman-here')), // podman absent: reload is skipped, the swap is what is hammered
      keep: 3,
      checkTimeoutMs: 1000,
      events,
    });
    await applyHook(input(0), silentReporter);
    // two readers on a two-core machine: one per read protocol an app may use
    const readers = ['resolve-once', 'bundle'].map((mode) => {
      const child = spawn(process.execPath, [path.join(import.meta.dirname, 'helpers', 'tls-readers.mjs'), tls, mode, '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const done = new Promise<{ reads: number; mismatches: number; retries: number; serials: number; errors: string[] }>((resolve) => child.once('exit', () => resolve(JSON.parse(out.split('\n').filter(Boolean).pop()!))));
      return { child, ready, done };
    });
    await Promise.all(readers.map((r) => r.ready));
    const rotations = 40;
    for (let i = 1; i <= rotations; i += 1) await applyHook(input(i), silentReporter);
    for (const r of readers) r.child.kill('SIGTERM');
    const results = await Promise.all(readers.map((r) => r.done));
    console.info(`[hook.test] hammer: ${rotations} rotations, readers ${JSON.stringify(results)}`);
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.mismatches).toBe(0);
      expect(r.reads).toBeGreaterThan(rotations);
      expect(r.serials).toBeGreaterThan(2); // the readers really saw the rotations
    }
    // old versions are pruned: current, previous and one more are kept
    expect(fs.readdirSync(path.join(tls, 'versions')).filter((e) => !e.startsWith('.')).length).toBeLessThanOrEqual(3);
  });
});

describe('certwright hook (CA chain payload)', () => {
  it('writes the proxy CA chain, keeps the previous one, and skips unchanged content', async () => {
    const work = tempDir();
    const out = path.join(work, 'proxy', 'ca-chain.pem');
    const run = (chain: string) => {
      const file = path.join(work, `ca-${randomBytes(3).toString('hex')}.json`);
      fs.writeFileSync(file, JSON.stringify({ ca_chain: chain }));
      return cli(['hook', '--env', 'test', '--name', 'edge', '--payload', file, '--ca-out', out, '--trust', ca.rootFile, '--select', `certwright.test=none-${RUN}`], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
    };
    const r1 = await run(`${ca.intPem}${ca.rootPem}`);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/CA chain updated/);
    expect(modeOf(out)).toBe(0o644);
    expect((await openssl(['verify', '-CAfile', out, ca.intPem ? path.join(ca.dir, 'int.pem') : ''])).stdout).toMatch(/OK/);
    const r2 = await run(`${ca.intPem}${ca.rootPem}`);
    expect(r2.stdout).toMatch(/^Unchanged/);
    const r3 = await run(ca.rootPem);
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(fs.readFileSync(`${out}.previous`, 'utf8')).toContain(ca.intPem.trim());
    const bad = await run(`${other.intPem}${other.rootPem}`);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/not the pinned root/);
    expect(fs.readFileSync(out, 'utf8')).toBe(new X509Certificate(ca.rootPem).toString());
    const events = readEvents(path.join(work, 'home', 'envs', 'test', 'events.jsonl'));
    expect(events.map((e) => e.event)).toEqual(['chain-updated', 'chain-updated', 'verify-failed']);
    expect(events[0]!.workload).toBe('proxy/edge');
  });
});

describe('certwright hook reloading real containers', () => {
  const containers: NginxContainer[] = [];
  afterAll(async () => {
    for (const c of containers) await c.stop();
  });

  it.skipIf(!podman.ok)('reloads each labelled nginx once, which then serves the new certificate; a failing reload rolls everything back', async () => {
    await ensureImage();
    const work = tempDir();
    const tls = path.join(work, 'tls');
    const label = `certwright.test=hook-${RUN}`;
    const first = ca.issue('web.test');
    const r0 = await runHook(work, leafPayload(ca, first), ['--select', label]);
    expect(r0.exitCode, r0.stderr).toBe(0);
    const [p1, p2] = [await freePort(), await freePort()];
    // one container names its reload command and a TLS check; the other relies on the default `nginx -s reload`
    containers.push(await startNginx({ name: `cw-hook-a-${RUN}`, tlsDir: tls, port: p1, work, labels: { tls: 'true', 'certwright.test': `hook-${RUN}`, 'tls.reload': '/usr/sbin/nginx -c /ngx/conf/nginx.conf -s reload', 'tls.check': `127.0.0.1:${p1}` } }));
    containers.push(await startNginx({ name: `cw-hook-b-${RUN}`, tlsDir: tls, port: p2, work, defaultConf: true, labels: { tls: 'true', 'certwright.test': `hook-${RUN}` } }));
    const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
    expect(await servedFingerprint('127.0.0.1', p1, 'web.test')).toBe(fp(first.cert));

    const second = ca.issue('web.test');
    const r1 = await runHook(work, leafPayload(ca, second), ['--select', label]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(new RegExp(`Reloaded cw-hook-a-${RUN} .*serves the new certificate`));
    expect(r1.stderr).toMatch(new RegExp(`Reloaded cw-hook-b-${RUN} \\(nginx -s reload\\)`));
    expect(r1.stdout).toMatch(/2 container\(s\) reloaded/);
    // nginx's old worker may take a few more connections: "serves" means several handshakes in a row
    expect((await waitForServed('127.0.0.1', p1, 'web.test', fp(second.cert), 10_000, 5)).ok).toBe(true);
    expect((await waitForServed('127.0.0.1', p2, 'web.test', fp(second.cert), 10_000, 5)).ok).toBe(true);

    // a third container whose reload fails: the files go back and the others return to the old certificate
    const p3 = await freePort();
    containers.push(await startNginx({ name: `cw-hook-c-${RUN}`, tlsDir: tls, port: p3, work, labels: { tls: 'true', 'certwright.test': `hook-${RUN}`, 'tls.reload': '/bin/false' } }));
    const before = tlsState(tls);
    const third = ca.issue('web.test');
    const r2 = await runHook(work, leafPayload(ca, third), ['--select', label]);
    expect(r2.exitCode).toBe(3);
    expect(r2.stderr).toMatch(new RegExp(`Reload failed in cw-hook-c-${RUN} \\(/bin/false\\): exit 1`));
    expect(r2.stderr).toMatch(/Rolled back: /);
    expect(r2.stderr).toMatch(/Error: Reload failed in 1 container\(s\)/);
    expect(tlsState(tls)).toEqual(before);
    expect((await waitForServed('127.0.0.1', p1, 'web.test', fp(second.cert), 10_000, 5)).ok).toBe(true);
    expect((await waitForServed('127.0.0.1', p2, 'web.test', fp(second.cert), 10_000, 5)).ok).toBe(true);
    const events = readEvents(path.join(work, 'home', 'envs', 'test', 'events.jsonl')).map((e) => `${e.event}${e.container ? `:${e.container.replace(`-${RUN}`, '')}` : ''}`);
    expect(events).toEqual(['issued', 'rotated', 'reloaded:cw-hook-a', 'reloaded:cw-hook-b', 'rotated', 'reloaded:cw-hook-a', 'reloaded:cw-hook-b', 'reload-failed:cw-hook-c', 'rolled-back']);
  });
});

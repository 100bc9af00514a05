import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/env.js';
import { freePort } from '../source/system/openbao.js';
import { appendEvent } from '../source/status/events.js';
import { envPaths } from '../source/paths.js';
import { handshake } from '../source/system/tls-probe.js';
import { doctorJson, opensslPki, publishTlsVersion, recordStep, statusJson, validateAgainstSchema, waitFor } from './helpers/status.js';
import { ensureImage, podmanStatus, startNginx, startSleeper, type Container } from './helpers/status-podman.js';

/**
 * Containers for real: an nginx in Podman labelled tls=true whose reload fails (the new key does
 * not match its certificate, so `nginx -t` refuses) and then succeeds; the test plays issue 4's hook
 * (new version in the TLS dir, the label's reload command through podman exec, one event per
 * outcome). Doctor: a container user that cannot read the key, an unlabelled container serving TLS.
 */
const podman = podmanStatus();
if (!podman.ok) console.warn(`SKIPPED status-podman tests: ${podman.reason}`);

const work = tempDir('cw-status-podman-');
const home = path.join(work, 'home');
const ENV = 'pod';
const tag = `cw5-${process.pid}`;
const tlsDir = path.join(work, 'tls-web');
const containers: Container[] = [];
let port = 0;
let pki: Awaited<ReturnType<typeof opensslPki>>;
let leaf2: { cert: string; key: string };
const RELOAD = 'nginx -t -c /ngx/conf/nginx.conf && nginx -s reload -c /ngx/conf/nginx.conf';

async function leafFrom(root: { root: string; rootKey: string }, name: string): Promise<{ cert: string; key: string }> {
  const p = (f: string) => path.join(work, `${name}.${f}`);
  await execa('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('key'), '-out', p('csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(p('ext'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await execa('openssl', ['x509', '-req', '-in', p('csr'), '-CA', root.root, '-CAkey', root.rootKey, '-CAcreateserial', '-out', p('pem'), '-days', '60', '-extfile', p('ext')]);
  return { cert: fs.readFileSync(p('pem'), 'utf8'), key: fs.readFileSync(p('key'), 'utf8') };
}

/** What issue 4's hook does after a swap: the label's reload through podman exec, one event per outcome. */
async function hookReload(container: string): Promise<number> {
  const r = await execa('podman', ['exec', container, 'sh', '-c', RELOAD], { reject: false });
  const outcome = r.exitCode === 0 ? 'reloaded' : 'reload-failed';
  appendEvent(envPaths(ENV, { stateDir: home }).events, ENV, outcome, { workload: 'app/web', container, detail: `${RELOAD}: exit ${r.exitCode}${r.exitCode ? `: ${String(r.stderr).trim().split('\n').pop()}` : ''}` });
  return r.exitCode ?? -1;
}

beforeAll(async () => {
  if (!podman.ok) return;
  await ensureImage();
  pki = await opensslPki(path.join(work, 'pki'), 'pod', { leafDays: 60 });
  leaf2 = await leafFrom(pki, 'leaf2');
  publishTlsVersion(tlsDir, 'v1', { certificate: fs.readFileSync(pki.leaf, 'utf8'), privateKey: fs.readFileSync(pki.key, 'utf8'), chain: fs.readFileSync(pki.root, 'utf8') });
  fs.chmodSync(tlsDir, 0o755);
  recordStep(home, ENV, 'agent-app-web', 'pki_pod', [{ kind: 'agent-agent.hcl', path: path.join(work, 'agent', 'agent.hcl'), sha256: '0' }], { kind: 'app', name: 'web', outDir: path.join(work, 'agent'), tlsDir, user: '', ttl: '3600s' });
  port = await freePort();
  containers.push(await startNginx({ name: `${tag}-web`, tlsDir, port, work, labels: { tls: 'true', 'tls.port': String(port), 'tls.reload': RELOAD, cw5test: tag } }));
}, 90_000);

afterAll(async () => {
  for (const c of containers) await c.stop();
});

const env = () => ({ CERTWRIGHT_HOME: home });
const args = () => ['--env', ENV, '--root', pki.root, '--select', `cw5test=${tag}`];

describe.skipIf(!podman.ok)('status: a labelled Podman container whose reload fails, then succeeds', () => {
  it('before any reload: the container, its image, reload command and the certificate it serves', async () => {
    const { json } = await statusJson(args(), env());
    expect(await validateAgainstSchema('status', json)).toEqual([]);
    expect(json.sections.containers.containers).toHaveLength(1);
    const c = json.sections.containers.containers[0];
    expect(c).toMatchObject({ name: `${tag}-web`, image: 'localhost/certwright-test-busybox:1', reload: RELOAD, lastReload: null, state: 'ok' });
    expect(c.served).toEqual({ endpoint: `127.0.0.1:${port}`, fingerprint: new X509Certificate(fs.readFileSync(pki.leaf)).fingerprint256, verified: true, current: true });
  });

  it('a failed reload: the event log\'s outcome, the old certificate still served, exit 9', async () => {
    // A new version whose key does not belong to its certificate: nginx -t refuses it.
    publishTlsVersion(tlsDir, 'v2', { certificate: leaf2.cert, privateKey: fs.readFileSync(pki.key, 'utf8'), chain: fs.readFileSync(pki.root, 'utf8') });
    expect(await hookReload(`${tag}-web`)).not.toBe(0);
    const { exitCode, json } = await statusJson(args(), env());
    const c = json.sections.containers.containers[0];
    expect(c.state).toBe('fail');
    expect(c.lastReload.outcome).toBe('reload-failed');
    expect(c.lastReload.detail).toMatch(/exit 1/);
    expect(c.served.fingerprint).toBe(new X509Certificate(fs.readFileSync(pki.leaf)).fingerprint256);
    expect(c.served.current).toBe(false);
    expect(c.reason).toMatch(/the last reload failed at .*; 127\.0\.0\.1:\d+ serves .*, not the current/);
    expect(json.sections.events.counts['reload-failed']).toBe(1);
    expect(exitCode).toBe(9);
  });

  it('the reload succeeds after the fix: served certificate is the current one, state ok', async () => {
    publishTlsVersion(tlsDir, 'v3', { certificate: leaf2.cert, privateKey: leaf2.key, chain: fs.readFileSync(pki.root, 'utf8') });
    expect(await hookReload(`${tag}-web`)).toBe(0);
    const want = new X509Certificate(leaf2.cert).fingerprint256;
    await waitFor(async () => (await handshake('127.0.0.1', port)).fingerprint === want, 'nginx to serve the new certificate', 15_000);
    const { json } = await statusJson(args(), env());
    const c = json.sections.containers.containers[0];
    expect(c).toMatchObject({ state: 'ok', lastReload: { outcome: 'reloaded' }, served: { fingerprint: want, verified: true, current: true } });
    expect(json.sections.events.counts).toMatchObject({ 'reload-failed': 1, reloaded: 1 });
  });
});

describe.skipIf(!podman.ok)('doctor: container pitfalls planted for real', () => {
  it('finds a key the container user cannot read and an unlabelled container serving TLS', async () => {
    // The TLS dir's key is root's, 0600; a container running as nobody mounts the directory.
    containers.push(await startSleeper({ name: `${tag}-nobody`, user: '65534:65534', mount: tlsDir, labels: { tls: 'true', cw5test: tag } }));
    // Another nginx serving TLS from its own files, without the tls=true label.
    const plainDir = path.join(work, 'plain-tls');
    const other = await opensslPki(path.join(work, 'plain'), 'plain');
    fs.mkdirSync(plainDir);
    fs.copyFileSync(other.leaf, path.join(plainDir, 'cert.pem'));
    fs.copyFileSync(other.key, path.join(plainDir, 'key.pem'));
    const plainPort = await freePort();
    containers.push(await startNginx({ name: `${tag}-plain`, tlsDir: plainDir, port: plainPort, work, labels: { cw5test: tag }, certPath: '/tls/cert.pem', keyPath: '/tls/key.pem' }));

    const { exitCode, json } = await doctorJson(['--env', ENV, '--root', pki.root], env());
    expect(await validateAgainstSchema('doctor', json)).toEqual([]);
    const unreadable = json.findings.filter((f: { check: string; subject: string }) => f.check === 'key-unreadable' && f.subject.startsWith(`container ${tag}-`));
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0].subject).toBe(`container ${tag}-nobody: ${path.join(tlsDir, 'key.pem')}`);
    expect(unreadable[0].message).toMatch(/runs as 65534:65534 and cannot read .* mode 0600 owned by 0:0/);
    expect(unreadable[0].fix).toContain('chmod 0640');
    const unlabelled = json.findings.filter((f: { check: string; subject: string }) => f.check === 'container-tls-unlabelled' && f.subject.startsWith(`container ${tag}-`));
    expect(unlabelled).toEqual([expect.objectContaining({ subject: `container ${tag}-plain`, message: expect.stringContaining(`serves TLS on 127.0.0.1:${plainPort}`), fix: expect.stringContaining('--label tls=true') })]);
    expect(exitCode).toBe(9);
  });
});

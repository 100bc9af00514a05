/**
 * The wizard's estate file (`wizard --file F`; WORKSPACE/estate.yaml in the lab): each step the
 * wizard runs is written back as the estate file's fields, the file is written only once it
 * validates (the same check `plan --file` makes), whole and by rename, and it holds no secret.
 * Here the recorder is fed the flag values the wizard's screens run steps with; the lab walk
 * (test/lab-pipeline.test.ts) shows the file a real wizard run writes, rehearsed by `lab --file`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EstateRecorder } from '../source/estate/record.js';
import { loadEstate } from '../source/estate/load.js';
import { estateSteps } from '../source/estate/steps.js';
import { emptyState } from '../state/schema.js';
import { tempDir } from './helpers/env.js';

const state = (done: string[] = []) => {
  const s = emptyState('lab', new Date());
  for (const id of done) s.steps[id] = { id, status: 'done', facts: {}, artefacts: [], updatedAt: new Date().toISOString() } as never;
  return s;
};

describe('the estate file the wizard writes as it goes', () => {
  it('is written once it validates, with relative paths inside its directory, and replays to the same step inputs', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'estate.yaml');
    const rec = new EstateRecorder(file);
    rec.open('lab');
    // The root alone does not name a Vault yet: nothing is written, and the reason is said.
    const first = await rec.record('root-create', { env: 'lab', out: path.join(dir, 'offline-root'), cn: 'Lab Root', 'key-type': 'ec-p384', ttl: '10y', 'path-len': '', 'passphrase-file': path.join(dir, 'pass') }, state());
    expect(first.written).toBe(false);
    expect(first.pending).toMatch(/intermediate|vault/);
    expect(fs.existsSync(file)).toBe(false);
    await rec.record('vault-server', { env: 'lab', out: path.join(dir, 'vault'), listen: '127.0.0.1:8300', 'key-shares': '1', 'key-threshold': '1', 'keys-out': path.join(dir, 'keys.json') }, state());
    const third = await rec.record('intermediate', { env: 'lab', mount: 'pki_int', cn: 'Lab Int', 'root-dir': path.join(dir, 'offline-root') }, state(['vault-server']));
    expect(third.written).toBe(true);
    await rec.record('vault-cert', { env: 'lab', mount: 'pki_int', dns: ['localhost'], ip: ['127.0.0.1'], out: path.join(dir, 'vault-tls') }, state(['vault-server']));
    await rec.record('vault-https', { env: 'lab', 'tls-dir': path.join(dir, 'vault-tls'), out: path.join(dir, 'vault'), listen: '127.0.0.1:8300', runtime: 'process', start: true, 'key-file': [path.join(dir, 'keys.json')] }, state(['vault-server']));
    await rec.record('switch-urls', { env: 'lab', mount: 'pki_int', base: 'https://127.0.0.1:8300' }, state(['vault-server']));
    await rec.record('agent-app', { env: 'lab', mount: 'pki_int', name: 'web', out: '/var/lib/agents/web', 'common-name': 'web.lab.test', 'alt-names': '', ttl: '72h', 'tls-dir': path.join(dir, 'web-tls') }, state(['vault-server']));
    // The same agent run again replaces its entry; a second agent is added.
    await rec.record('agent-app', { env: 'lab', mount: 'pki_int', name: 'web', out: '/var/lib/agents/web', 'common-name': 'web.lab.test', 'alt-names': 'www.lab.test', ttl: '24h', 'tls-dir': path.join(dir, 'web-tls') }, state(['vault-server']));
    await rec.record('agent-proxy', { env: 'lab', mount: 'pki_int', name: 'edge', out: path.join(dir, 'agent-edge'), 'ca-out': path.join(dir, 'edge', 'ca.pem') }, state(['vault-server']));
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^# certwright estate file of environment "lab", written by the wizard/);
    expect(text).not.toContain('pass');
    expect(text).not.toContain('keys.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const estate = loadEstate(file);
    expect(estate.spec).toMatchObject({
      environment: 'lab',
      root: { dir: path.join(dir, 'offline-root'), cn: 'Lab Root', key_type: 'ec-p384', ttl: '10y', path_len: null },
      vault: { listen: '127.0.0.1:8300', data_dir: path.join(dir, 'vault'), key_shares: 1, key_threshold: 1 },
      intermediate: { mount: 'pki_int', cn: 'Lab Int' },
      vault_cert: { dns: ['localhost'], ip: ['127.0.0.1'], dir: path.join(dir, 'vault-tls') },
      urls: { base: 'https://127.0.0.1:8300' },
    });
    expect(estate.spec.agents).toEqual([
      { kind: 'app', name: 'web', common_name: 'web.lab.test', alt_names: ['www.lab.test'], ttl: '24h', tls_dir: path.join(dir, 'web-tls'), out: '/var/lib/agents/web' },
      { kind: 'proxy', name: 'edge', ca_out: path.join(dir, 'edge', 'ca.pem'), out: path.join(dir, 'agent-edge') },
    ]);
    // Written relative where inside the file's directory (so a copy replays in another workspace), absolute elsewhere.
    expect(text).toContain('dir: ./offline-root');
    expect(text).toContain('out: /var/lib/agents/web');
    // Replayed, the file gives the steps the inputs the wizard ran them with.
    const steps = estateSteps(estate, { oneMachine: true });
    expect(steps.map((s) => s.key)).toEqual(['root-create', 'vault-server', 'intermediate', 'vault-cert', 'vault-https', 'switch-urls', 'agent-app web', 'agent-proxy edge']);
    expect(steps.find((s) => s.id === 'intermediate')!.values).toMatchObject({ mount: 'pki_int', cn: 'Lab Int', 'root-dir': path.join(dir, 'offline-root') });
  });

  it('a Vault you run yourself is recorded by its address; an existing file of another environment is refused before anything runs', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'estate.yaml');
    const rec = new EstateRecorder(file);
    await rec.record('root-create', { env: 'prod', out: path.join(dir, 'root'), cn: 'Prod Root' }, state());
    const written = await rec.record('intermediate', { env: 'prod', mount: 'pki_int', cn: 'Prod Int', 'vault-addr': 'https://vault.example.test:8200', 'vault-ca': path.join(dir, 'root', 'root-ca.pem') }, state());
    expect(written).toEqual({ written: true });
    expect(loadEstate(file).spec.vault).toEqual({ address: 'https://vault.example.test:8200', ca: path.join(dir, 'root', 'root-ca.pem') });
    const before = fs.readFileSync(file, 'utf8');
    const other = new EstateRecorder(file);
    expect(() => other.open('staging')).toThrow(/describes environment "prod", not "staging"/);
    // Reopened for its own environment, it keeps what it had and adds the next step.
    const again = new EstateRecorder(file);
    again.open('prod');
    await again.record('switch-urls', { env: 'prod', mount: 'pki_int', base: 'https://vault.example.test:8200' }, state());
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(before.split('\nurls')[0]!)).toBe(true);
    expect(loadEstate(file).spec.urls).toEqual({ base: 'https://vault.example.test:8200' });
  });
  it('a Vault run as a Podman container is recorded with its runtime, image and container name, and replays to vault-server --runtime podman', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'estate.yaml');
    const rec = new EstateRecorder(file);
    rec.open('lab');
    await rec.record('root-create', { env: 'lab', out: path.join(dir, 'root'), cn: 'Lab Root' }, state());
    await rec.record('vault-server', { env: 'lab', out: path.join(dir, 'vault'), listen: '127.0.0.1:8300', runtime: 'podman', image: 'localhost/openbao:local', name: 'lab-vault' }, state());
    await rec.record('intermediate', { env: 'lab', mount: 'pki_int', cn: 'Lab Int', 'root-dir': path.join(dir, 'root') }, state(['vault-server']));
    const estate = loadEstate(file);
    expect(estate.spec.vault).toMatchObject({ listen: '127.0.0.1:8300', runtime: 'podman', image: 'localhost/openbao:local', container: 'lab-vault' });
    const server = estateSteps(estate, { oneMachine: true }).find((s) => s.id === 'vault-server')!;
    expect(server.values).toMatchObject({ runtime: 'podman', image: 'localhost/openbao:local', name: 'lab-vault', out: path.join(dir, 'vault') });
  });
});

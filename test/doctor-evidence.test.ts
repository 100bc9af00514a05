import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, writePassphrase } from './helpers/env.js';
import { useTlsOpenBao, tlsVaultEnv } from './helpers/https-bao.js';
import { doctorJson } from './helpers/status.js';
import { freePort } from '../source/system/openbao.js';
import { VaultClient } from '../source/vault/client.js';
import { CHECK_TITLES, type CheckId } from '../source/doctor/types.js';

/**
 * Issue 12 point 8: a doctor check that cannot read its evidence says "not checked: why", never
 * ✓. Each check runs once with its evidence at hand (it must then be ✓ or ✗, so the check really
 * runs here) and once with that evidence withheld: a token without permission, a Vault that does
 * not answer, a file that cannot be read, no podman. One HTTPS OpenBao for the file.
 */
const vault = useTlsOpenBao();
let work: string;
let home: string;
let files: { compose: string; unit: string; agentConfig: string };
let withheld: { compose: string; unit: string; agentConfig: string; certDir: string };
let weakToken: string;
const MOUNT = 'pki_doc';
const ENV = 'doc';
// Containers other tests run are not this environment's.
const SCOPE = ['--select', `cw-doctor-evidence=${process.pid}`];

beforeAll(async () => {
  work = tempDir('cw-doctor-evidence-');
  home = path.join(work, 'home');
  const env = tlsVaultEnv(vault.server(), home);
  const rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  const root = await cli(['root', 'create', '--env', ENV, '--out', rootDir, '--cn', 'Doctor Evidence Root', '--key-type', 'ec-p256', '--passphrase-file', pass], { env });
  expect(root.exitCode, root.stderr).toBe(0);
  const int = await cli(['intermediate', '--env', ENV, '--mount', MOUNT, '--cn', 'Doctor Evidence Int', '--root-dir', rootDir, '--passphrase-file', pass], { env });
  expect(int.exitCode, int.stderr).toBe(0);
  // The evidence doctor reads from files, in a readable and an unreadable (a directory) form.
  files = { compose: path.join(work, 'compose.yaml'), unit: path.join(work, 'app.service'), agentConfig: path.join(work, 'agent.hcl') };
  fs.writeFileSync(files.compose, 'services:\n  app:\n    image: docker.io/library/nginx:alpine\n');
  fs.writeFileSync(files.unit, '[Unit]\nDescription=app\n\n[Service]\nExecStart=/bin/true\n');
  fs.writeFileSync(files.agentConfig, `vault {\n  address = "${vault.server().addr}"\n  ca_cert = "${vault.server().caFile}"\n}\n\ntemplate {\n  contents = "{{ with pkiCert \\"${MOUNT}/issue/web\\" \\"common_name=web.test\\" }}{{ .Cert }}{{ end }}"\n  destination = "${path.join(work, 'out.pem')}"\n}\n`);
  const unreadable = path.join(work, 'unreadable');
  withheld = { compose: path.join(unreadable, 'compose.yaml'), unit: path.join(unreadable, 'app.service'), agentConfig: path.join(unreadable, 'agent.hcl'), certDir: path.join(work, 'certs') };
  for (const d of [withheld.compose, withheld.unit, withheld.agentConfig]) fs.mkdirSync(d, { recursive: true }); // EISDIR, even for root
  fs.mkdirSync(withheld.certDir);
  fs.writeFileSync(path.join(withheld.certDir, 'leaf.pem'), '-----BEGIN CERTIFICATE-----\ntruncated\n');
  // A token that may read nothing of the mount (only its own lookup: the default policy).
  const admin = new VaultClient({ addr: vault.server().addr, token: vault.server().token, ca: fs.readFileSync(vault.server().caFile, 'utf8') });
  const created = await admin.write<never>('auth/token/create', { policies: ['default'], ttl: '1h' });
  weakToken = (created.json?.auth as { client_token?: string } | undefined)?.client_token ?? '';
}, 120_000);

type Checks = Record<CheckId, { state: 'ok' | 'found' | 'unknown'; reason?: string }>;
async function doctor(args: string[], env: Record<string, string>): Promise<{ checks: Checks; text: string }> {
  const { json } = await doctorJson(['--env', ENV, ...SCOPE, ...args], env);
  const text = await cli(['doctor', '--env', ENV, ...SCOPE, ...args], { env });
  return { checks: Object.fromEntries((json.checks as Array<{ id: CheckId; state: 'ok' | 'found' | 'unknown'; reason?: string }>).map((c) => [c.id, c])) as Checks, text: text.stdout };
}

/** In the text report, the line of the check: "? title — not checked: why", never "✓ title". */
function expectNotChecked(text: string, id: CheckId, why: RegExp): void {
  const line = text.split('\n').find((l) => l.includes(CHECK_TITLES[id]));
  expect(line, id).toBeDefined();
  expect(line!, id).toMatch(new RegExp(`^\\? .* — not checked: `));
  expect(line!, id).toMatch(why);
}

describe('doctor with its evidence withheld says "not checked: why", never ✓', () => {
  const fileArgs = () => ['--compose', files.compose, '--unit', files.unit, '--agent-config', files.agentConfig];
  const withheldArgs = () => ['--compose', withheld.compose, '--unit', withheld.unit, '--agent-config', withheld.agentConfig];
  const env = () => ({ ...tlsVaultEnv(vault.server(), home), CERTWRIGHT_PODMAN: path.join(work, 'no-podman') });

  it('with the evidence at hand, every file and Vault check runs (✓ or ✗, not unknown)', async () => {
    const { checks } = await doctor(fileArgs(), env());
    for (const id of ['compose-keep-id', 'compose-chown', 'unit-capabilities', 'sink-dev-null', 'sink-mode-quoted', 'template-key-perms', 'agent-ca-mismatch', 'aia-crl-http', 'orphan-keys', 'pki-upkeep', 'mount-ttl-short', 'expiring'] as CheckId[]) {
      expect(checks[id].state, `${id}: ${checks[id].reason}`).not.toBe('unknown');
    }
  });

  it('unreadable compose, unit and agent config files: those checks are not checked, naming the file', async () => {
    const { checks, text } = await doctor(withheldArgs(), env());
    for (const [id, file] of [
      ['compose-keep-id', withheld.compose],
      ['compose-chown', withheld.compose],
      ['unit-capabilities', withheld.unit],
      ['sink-dev-null', withheld.agentConfig],
      ['sink-mode-quoted', withheld.agentConfig],
      ['template-key-perms', withheld.agentConfig],
      ['agent-ca-mismatch', withheld.agentConfig],
    ] as Array<[CheckId, string]>) {
      expect(checks[id].state, id).toBe('unknown');
      expect(checks[id].reason, id).toContain(file);
      expectNotChecked(text, id, /cannot be read|could not|EISDIR/);
    }
  });

  it('a token without permission: the checks that need the mount\'s URLs, keys and roles are not checked', async () => {
    expect(weakToken).not.toBe('');
    const { checks, text } = await doctor(fileArgs(), { ...env(), VAULT_TOKEN: weakToken });
    for (const id of ['aia-crl-http', 'orphan-keys', 'pki-upkeep', 'mount-ttl-short'] as CheckId[]) {
      expect(checks[id].state, `${id}: ${checks[id].reason}`).toBe('unknown');
      expect(checks[id].reason, id).toMatch(new RegExp(`${MOUNT}: .*could not be read`));
      expectNotChecked(text, id, /could not be read/);
    }
  });

  it('a Vault that does not answer: every Vault check and the expiry of its issuers are not checked', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const { checks, text } = await doctor(fileArgs(), { ...env(), VAULT_ADDR: closed });
    for (const id of ['aia-crl-http', 'orphan-keys', 'pki-upkeep', 'mount-ttl-short', 'root-crl', 'expiring'] as CheckId[]) {
      expect(checks[id].state, `${id}: ${checks[id].reason}`).toBe('unknown');
      expectNotChecked(text, id, /not reachable|could not be read/);
    }
  });

  it('a certificate file that cannot be read and no podman: expiry and the container checks are not checked', async () => {
    const { checks, text } = await doctor([...fileArgs(), '--cert-dir', withheld.certDir], env());
    expect(checks.expiring.state, checks.expiring.reason).toBe('unknown');
    expect(checks.expiring.reason).toContain(path.join(withheld.certDir, 'leaf.pem'));
    expectNotChecked(text, 'expiring', /leaf\.pem/);
    for (const id of ['key-unreadable', 'container-tls-unlabelled'] as CheckId[]) {
      expect(checks[id].state, `${id}: ${checks[id].reason}`).toBe('unknown');
      expectNotChecked(text, id, /podman/);
    }
  });
});

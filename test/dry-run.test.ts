/**
 * The registry walk for --dry-run: every step of the registry that changes anything is run with
 * --dry-run against a real HTTPS OpenBao, and Vault (mounts, auth methods, policies, keys,
 * issuers, default issuers, roles, URLs, AppRoles and their secret_id accessors), the files under
 * the test's directories and the state/transcript must be byte-identical afterwards. Each plan
 * must also show something it would change, so the dry run really had something to refuse.
 * A mutating step added to the registry without a case here fails the first test.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli, tempDir, BAO } from './helpers/env.js';
import { useHttpsVault, type HttpsVault } from './helpers/https-vault.js';
import { loadAllSteps } from '../source/steps/index.js';
import { readOnlyCommandNames, commandNames, compositeCommandNames, controllerCommandNames } from '../source/cli.js';
import { freePortPair, stopProcess } from '../source/system/openbao.js';
import { VaultClient } from '../source/vault/client.js';

const PKI = 'pki_app';
const lab = useHttpsVault({ pkiMount: PKI });

async function list(v: VaultClient, p: string): Promise<string[]> {
  const r = await v.request<{ keys?: string[] }>('LIST', p, { accept: [404] });
  return r.status === 404 ? [] : [...(r.json?.data?.keys ?? [])].sort();
}

async function read(v: VaultClient, p: string): Promise<unknown> {
  const r = await v.request<Record<string, unknown>>('GET', p, { accept: [404] });
  return r.status === 404 ? null : r.json?.data ?? null;
}

/** Everything in Vault a step could change, as one JSON value. */
async function vaultSnapshot(v: VaultClient): Promise<string> {
  const snap: Record<string, unknown> = {};
  const seal = (await v.request('GET', 'sys/seal-status', { anonymous: true })).json as { sealed?: boolean; progress?: number };
  if (seal.sealed) return JSON.stringify({ sealed: true, progress: seal.progress });
  const mounts = (await read(v, 'sys/mounts')) as Record<string, { type: string; config?: unknown }>;
  snap.mounts = Object.fromEntries(Object.entries(mounts).map(([k, m]) => [k, { type: m.type, config: m.config }]));
  const auths = (await read(v, 'sys/auth')) as Record<string, { type: string }>;
  snap.auth = Object.fromEntries(Object.entries(auths).map(([k, m]) => [k, m.type]));
  const policies = await list(v, 'sys/policies/acl');
  snap.policies = Object.fromEntries(await Promise.all(policies.map(async (p) => [p, await read(v, `sys/policies/acl/${p}`)])));
  for (const [name, m] of Object.entries(mounts)) {
    if (m.type !== 'pki') continue;
    const mount = name.replace(/\/$/, '');
    const roles = await list(v, `${mount}/roles`);
    snap[`pki:${mount}`] = {
      keys: await list(v, `${mount}/keys`),
      issuers: await list(v, `${mount}/issuers`),
      defaults: await read(v, `${mount}/config/issuers`),
      urls: await read(v, `${mount}/config/urls`),
      roles: Object.fromEntries(await Promise.all(roles.map(async (r) => [r, await read(v, `${mount}/roles/${r}`)]))),
      certs: await list(v, `${mount}/certs`),
    };
  }
  for (const [name, a] of Object.entries(auths)) {
    if (a.type !== 'approle') continue;
    const mount = `auth/${name.replace(/\/$/, '')}`;
    const roles = await list(v, `${mount}/role`);
    snap[`approle:${mount}`] = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, { role: await read(v, `${mount}/role/${r}`), accessors: await list(v, `${mount}/role/${r}/secret-id`) }])));
  }
  return JSON.stringify(snap, null, 1);
}

/** Every file (and directory) under the roots: path, mode, owner, content hash or link target. */
function filesSnapshot(roots: string[]): string {
  const out: string[] = [];
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      out.push(`${p} absent`);
      return;
    }
    if (path.basename(p) === 'vault.log' || p.includes(`${path.sep}data${path.sep}`) || p.endsWith(`${path.sep}data`)) return; // the running server's own
    if (st.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
    else if (st.isDirectory()) {
      out.push(`${p}/ ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    } else out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
  };
  for (const r of roots) walk(r);
  return out.join('\n');
}

interface Case {
  args: (ctx: Ctx) => string[];
  /** Real (not dry) work that gives the step something to plan; runs before the snapshot. */
  prepare?: (ctx: Ctx) => Promise<void>;
  /** Why this step's plan may show no action here. */
  noActionBecause?: string;
  env?: (ctx: Ctx) => Record<string, string>;
}

interface Ctx {
  v: HttpsVault;
  work: string;
  root2: string;
  fresh?: { addr: string };
  /** A port nothing listens on (nor on the next one). */
  freePort: number;
}

const sha = 'a'.repeat(40);

async function must(args: string[], env: Record<string, string>): Promise<string> {
  const r = await cli(args, { env });
  if (r.exitCode !== 0) throw new Error(`certwright ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A CSR made by openssl, for the offline signer. */
function csrFile(work: string, name: string): string {
  const key = path.join(work, `${name}.key`);
  const csr = path.join(work, `${name}.csr`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr]);
  return csr;
}

const CASES: Record<string, Case> = {
  'root-create': { args: ({ work, v }) => ['root', 'create', '--env', 'dry-new', '--out', path.join(work, 'new-root', 'r'), '--cn', 'Dry Root', '--passphrase-file', v.passphraseFile] },
  'root-crl': { args: ({ work, v }) => ['root', 'crl', '--root-dir', v.rootDir, '--passphrase-file', v.passphraseFile, '--revoke', '4a3f01', '--reason', 'superseded', '--out', path.join(work, 'crl', 'root.crl')] },
  'vault-server': { args: ({ work, v, freePort: port }) => ['vault-server', '--env', v.env, '--out', path.join(work, 'vs'), '--listen', `127.0.0.1:${port}`, '--keys-out', path.join(work, 'vs-keys', 'keys.json')] },
  'intermediate-request': { args: ({ work, v }) => ['intermediate', 'request', '--env', v.env, '--mount', 'pki_dry_req', '--cn', 'Dry Int', '--csr-out', path.join(work, 'req', 'int.csr')] },
  'intermediate-sign': { args: ({ work, v }) => ['intermediate', 'sign', '--root-dir', v.rootDir, '--passphrase-file', v.passphraseFile, '--csr', csrFile(work, 'sign-me'), '--out', path.join(work, 'signed.pem')] },
  'intermediate-install': {
    prepare: async ({ work, v }) => {
      await must(['intermediate', 'request', '--env', v.env, '--mount', 'pki_dry_inst', '--cn', 'Dry Inst', '--csr-out', path.join(work, 'inst.csr')], v.cliEnv());
      await must(['intermediate', 'sign', '--env', v.env, '--root-dir', v.rootDir, '--passphrase-file', v.passphraseFile, '--csr', path.join(work, 'inst.csr'), '--out', path.join(work, 'inst.pem')], v.cliEnv());
    },
    args: ({ work, v }) => ['intermediate', 'install', '--env', v.env, '--mount', 'pki_dry_inst', '--cert', path.join(work, 'inst.pem'), '--root', v.caFile],
  },
  intermediate: { args: ({ v }) => ['intermediate', '--env', v.env, '--mount', 'pki_dry_onego', '--cn', 'Dry One Go', '--root-dir', v.rootDir, '--passphrase-file', v.passphraseFile] },
  'vault-cert': { args: ({ work, v }) => ['vault-cert', '--env', v.env, '--mount', PKI, '--role', 'vault-dry', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', path.join(work, 'vtls')] },
  'vault-https': { args: ({ work, v }) => ['vault-https', '--env', v.env, '--tls-dir', v.tlsDir, '--out', path.join(work, 'srv'), '--listen', '127.0.0.1:1', '--runtime', 'process', '--start'] },
  'vault-init': { args: ({ v, fresh }) => ['vault-init', '--env', v.env, '--vault-addr', fresh!.addr, '--key-shares', '1', '--key-threshold', '1'] },
  'vault-unseal': {
    prepare: async ({ v }) => {
      await v.client().write('sys/seal', {});
    },
    args: ({ v }) => ['vault-unseal', '--env', v.env, '--key-file', v.keysFile],
  },
  'switch-urls': {
    prepare: async ({ v }) => {
      const http = v.addr.replace('https:', 'http:');
      await v.client().write(`${PKI}/config/urls`, { issuing_certificates: [`${http}/v1/${PKI}/ca`], crl_distribution_points: [`${http}/v1/${PKI}/crl`] });
    },
    args: ({ v }) => ['switch-urls', '--env', v.env, '--mount', PKI, '--base', v.addr] },
  'agent-app': { args: ({ work, v }) => ['agent', 'app', '--env', v.env, '--mount', PKI, '--name', 'dry', '--common-name', 'dry.example.test', '--tls-dir', path.join(work, 'dry-tls'), '--out', path.join(work, 'dry-agent')] },
  'agent-proxy': { args: ({ work, v }) => ['agent', 'proxy', '--env', v.env, '--mount', PKI, '--name', 'dryp', '--ca-out', path.join(work, 'dryp', 'ca.pem'), '--out', path.join(work, 'dryp-agent')] },
  hook: {
    prepare: async ({ work, v }) => {
      const c = v.client();
      await c.write(`${PKI}/roles/dry-hook`, { allowed_domains: ['hook.example.test'], allow_bare_domains: true, max_ttl: '1h', key_type: 'ec', key_bits: 256 });
      const r = await c.write<{ certificate: string; private_key: string; issuing_ca: string; ca_chain: string[] }>(`${PKI}/issue/dry-hook`, { common_name: 'hook.example.test', ttl: '10m' });
      fs.writeFileSync(path.join(work, 'payload.json'), JSON.stringify(r.json!.data), { mode: 0o600 });
    },
    args: ({ work, v }) => ['hook', '--payload', path.join(work, 'payload.json'), '--tls-dir', path.join(work, 'hook-tls'), '--trust', v.caFile, '--podman', '/nonexistent/podman'],
  },
  'distribute-ca': { args: ({ v }) => ['distribute-ca', '--ca', v.caFile, '--users', 'root', '--path', `.config/certwright-dry-${process.pid}/ca.pem`] },
  'build-role': { args: ({ work, v }) => ['build-role', '--env', v.env, '--mount', PKI, '--role', 'dry-build', '--allowed-apps', 'app1', '--role-id-out', path.join(work, 'ci', 'role-id')] },
  'build-cert': {
    prepare: async ({ v }) => {
      await must(['build-role', '--env', v.env, '--mount', PKI, '--role', 'dry-bc', '--allowed-apps', 'app1'], v.cliEnv());
    },
    args: ({ work }) => ['build-cert', '--mount', PKI, '--role', 'dry-bc', '--app', 'app1', '--git-sha', sha, '--out', path.join(work, 'bc'), '--audit-log', path.join(work, 'audit.jsonl')],
  },
  'cross-sign-request': { args: ({ work, v }) => ['cross-sign', 'request', '--env', v.env, '--mount', PKI, '--csr-out', path.join(work, 'cs', 'twin.csr')] },
  'cross-sign-sign': { args: ({ work, root2, v }) => ['cross-sign', 'sign', '--root-dir', root2, '--passphrase-file', v.passphraseFile, '--csr', csrFile(work, 'cross-me'), '--out', path.join(work, 'twin-signed.pem')] },
  'cross-sign-install': {
    prepare: async ({ work, root2, v }) => {
      const out = await must(['cross-sign', 'request', '--env', v.env, '--mount', PKI, '--csr-out', path.join(work, 'twin.csr')], v.cliEnv());
      const ttl = /--ttl (\d+)/.exec(out)![1]!;
      await must(['cross-sign', 'sign', '--root-dir', root2, '--passphrase-file', v.passphraseFile, '--csr', path.join(work, 'twin.csr'), '--out', path.join(work, 'twin.pem'), '--ttl', ttl], v.cliEnv());
    },
    args: ({ work, root2, v }) => ['cross-sign', 'install', '--env', v.env, '--mount', PKI, '--cert', path.join(work, 'twin.pem'), '--root', path.join(root2, 'root-ca.pem')],
  },
  'cross-sign': {
    args: ({ root2, v }) => ['cross-sign', '--env', v.env, '--mount', PKI, '--root-dir', root2, '--passphrase-file', v.passphraseFile],
  },
  revoke: {
    prepare: async ({ work, v }) => {
      await must(['build-cert', '--mount', PKI, '--role', 'dry-bc', '--app', 'app1', '--git-sha', sha, '--out', path.join(work, 'to-revoke'), '--audit-log', path.join(work, 'audit.jsonl')], v.cliEnv());
    },
    args: ({ work }) => ['revoke', '--mount', PKI, '--serial', new crypto.X509Certificate(fs.readFileSync(path.join(work, 'to-revoke', 'cert.pem'))).serialNumber],
  },
  'state-forget': { args: ({ v }) => ['state', 'forget', '--env', v.env, '--record', 'vault-cert'] },
  hashdir: { args: ({ work, v }) => ['hashdir', '--out', path.join(work, 'hashes'), v.caFile] },
};

describe('--dry-run, walked over the step registry', () => {
  it('every mutating step in the registry has a case here, and every command is a step or read-only', async () => {
    const steps = await loadAllSteps();
    const mutating = steps.filter((s) => s.mutates).map((s) => s.id).sort();
    expect(Object.keys(CASES).sort()).toEqual(mutating);
    // No command outside the registry can change anything: the rest are declared read-only.
    const stepCommands = new Set(steps.map((s) => s.command));
    // apply --file is the one composite: every change it makes is a registry step's (see cli.ts).
    expect(compositeCommandNames()).toEqual(['apply']);
    expect(commandNames().filter((c) => !stepCommands.has(c)).sort()).toEqual([...readOnlyCommandNames(), ...compositeCommandNames(), ...controllerCommandNames()].sort());
    // And no command enforces --dry-run itself: the step runner is the one place.
    const offenders = execFileSync('grep', ['-rln', "'dry-run'", path.join(import.meta.dirname, '..', 'source')], { encoding: 'utf8' }).trim().split('\n').map((f) => path.relative(path.join(import.meta.dirname, '..'), f)).sort();
    expect(offenders).toEqual(['source/commands/step-command.ts', 'source/flags.ts']);
  });

  it('changes nothing in Vault, the files or the state for any mutating step', async () => {
    const v = lab.vault();
    const work = tempDir('cw-dry-');
    fs.chmodSync(work, 0o755);
    const root2 = path.join(work, 'root2');
    await must(['root', 'create', '--env', 'second', '--out', root2, '--cn', 'Second Root', '--passphrase-file', v.passphraseFile], { CERTWRIGHT_HOME: v.home });
    // An uninitialised Vault for vault-init: a second server from a copy of the first one's config.
    const port = await freePortPair();
    const freshDir = path.join(work, 'fresh');
    fs.mkdirSync(path.join(freshDir, 'data'), { recursive: true, mode: 0o700 });
    const hcl = fs.readFileSync(path.join(v.serverDir, 'vault-host.hcl'), 'utf8').replaceAll(path.join(v.serverDir, 'data'), path.join(freshDir, 'data')).replace(/127\.0\.0\.1:(\d+)/g, (_m, p: string) => `127.0.0.1:${Number(p) === Number(new URL(v.addr).port) ? port : port + 1}`);
    fs.writeFileSync(path.join(freshDir, 'vault.hcl'), hcl);
    const fresh = spawn(BAO, ['server', `-config=${path.join(freshDir, 'vault.hcl')}`], { stdio: 'ignore' });
    const ctx: Ctx = { v, work, root2, fresh: { addr: `https://127.0.0.1:${port}` }, freePort: await (async () => {
      // Not next to the fresh server's two ports: vault-server needs PORT and PORT+1 free.
      for (;;) {
        const p = await freePortPair();
        if (Math.abs(p - port) > 2) return p;
      }
    })() };
    const freshClient = new VaultClient({ addr: ctx.fresh!.addr, ca: v.ca, caSource: v.caFile, timeoutMs: 3000 });
    try {
      for (let i = 0; i < 100; i += 1) {
        if ((await freshClient.health().catch(() => undefined)) !== undefined) break;
        await new Promise((r) => setTimeout(r, 150));
      }
      const roots = [work, v.home, v.tlsDir, v.serverDir, v.rootDir, path.join('/root', `.config/certwright-dry-${process.pid}`)];
      const report: string[] = [];
      for (const [id, c] of Object.entries(CASES)) {
        await c.prepare?.(ctx);
        const args = c.args(ctx);
        const before = { vault: await vaultSnapshot(v.client()), fresh: await vaultSnapshot(freshClient).catch((e: Error) => e.message), files: filesSnapshot(roots) };
        const r = await cli([...args, '--dry-run'], { env: { ...v.cliEnv(), ...(c.env?.(ctx) ?? {}) } });
        const after = { vault: await vaultSnapshot(v.client()), fresh: await vaultSnapshot(freshClient).catch((e: Error) => e.message), files: filesSnapshot(roots) };
        expect(r.exitCode, `${id}: ${r.stderr}`).toBe(0);
        expect(r.stderr, id).toContain('Dry run: nothing was changed.');
        if (!c.noActionBecause) expect(r.stderr, `${id} planned nothing to change:\n${r.stderr}`).toMatch(/^ {2}- /m);
        expect(after.vault, `${id} changed Vault`).toBe(before.vault);
        expect(after.fresh, `${id} changed the uninitialised Vault`).toBe(before.fresh);
        expect(after.files, `${id} changed files`).toBe(before.files);
        report.push(`${id}: ${(r.stderr.match(/^ {2}- /gm) ?? []).length} planned change(s), none made`);
        if (id === 'vault-unseal') {
          expect(await v.client().health().then((h) => h.sealed)).toBe(true);
          await must(['vault-unseal', '--env', v.env, '--key-file', v.keysFile], v.cliEnv());
        }
      }
      process.stdout.write(`[dry-run walk] ${report.length} mutating steps:\n  ${report.join('\n  ')}\n`);
    } finally {
      await stopProcess(fresh);
    }
  }, 300_000);
});

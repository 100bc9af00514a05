import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { BAO, cli, tempDir, writePassphrase, type CliResult } from './env.js';
import { freePort, stopProcess, type DevServer } from '../../source/system/openbao.js';
import { VaultClient } from '../../source/vault/client.js';
import { StateStore } from '../../state/store.js';
import { completeStep } from '../../state/transitions.js';
import { envPaths } from '../../source/paths.js';

/**
 * Helpers for the status and doctor tests: a real OpenBao server that can be sealed and unsealed
 * (file storage, HTTPS with a certificate from the environment's own PKI, 1 key share), real
 * agents, state records written the way issue 3/4's steps write them, and a JSON Schema validator.
 */

export async function must(args: string[], env: Record<string, string>, what = args.join(' ')): Promise<CliResult> {
  const r = await cli(args, { env });
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}): ${r.stderr}`);
  return r;
}

/** An offline root for `env` (real root ceremony) and its directory. */
export async function makeRoot(home: string, env: string, work: string): Promise<{ rootDir: string; rootFile: string; pass: string }> {
  const rootDir = path.join(work, `root-${env}`);
  fs.mkdirSync(rootDir, { recursive: true });
  const pass = writePassphrase(work);
  await must(['root', 'create', '--env', env, '--out', rootDir, '--cn', `${env} Root CA`, '--key-type', 'ec-p256', '--passphrase-file', pass], { CERTWRIGHT_HOME: home });
  return { rootDir, rootFile: path.join(rootDir, 'root-ca.pem'), pass };
}

/** The foundation's one-machine intermediate flow against `vault`. */
export async function makeIntermediate(home: string, env: string, mount: string, root: { rootDir: string; pass: string }, vaultEnv: Record<string, string>, extra: string[] = []): Promise<void> {
  await must(['intermediate', '--env', env, '--mount', mount, '--cn', `${env} ${mount} CA`, '--root-dir', root.rootDir, '--passphrase-file', root.pass, ...extra], { CERTWRIGHT_HOME: home, ...vaultEnv });
}

export interface IssuedLeaf {
  certificate: string;
  privateKey: string;
  chain: string;
  serial: string;
}

export async function issueLeaf(vault: VaultClient, mount: string, role: string, cn: string, ttl: string, extra: Record<string, string> = {}): Promise<IssuedLeaf> {
  const r = await vault.write<{ certificate: string; private_key: string; ca_chain?: string[]; issuing_ca: string; serial_number: string }>(`${mount}/issue/${role}`, { common_name: cn, ttl, ...extra });
  const d = r.json!.data!;
  const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  return { certificate: nl(d.certificate), privateKey: nl(d.private_key), chain: (d.ca_chain ?? [d.issuing_ca]).map(nl).join(''), serial: d.serial_number };
}

export async function writeRole(vault: VaultClient, mount: string, role: string, body: Record<string, unknown> = {}): Promise<void> {
  await vault.write(`${mount}/roles/${role}`, { allow_any_name: true, allow_ip_sans: true, allow_localhost: true, enforce_hostnames: false, max_ttl: '2160h', key_type: 'ec', key_bits: 256, ...body });
}

export interface SealableVault {
  addr: string;
  token: string;
  caFile: string;
  pid: number;
  client(): VaultClient;
  seal(): Promise<void>;
  unseal(): Promise<void>;
  stop(): Promise<void>;
}

/** Two free consecutive ports (raft's cluster listener takes PORT+1). */
async function freePortPair(): Promise<number> {
  const net = await import('node:net');
  for (let i = 0; i < 20; i += 1) {
    const port = await freePort();
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free && port < 65535) return port;
  }
  throw new Error('no two consecutive free ports');
}

/**
 * A real (non-dev) OpenBao: raft storage, TLS with `tls` files, initialised with one key share and
 * unsealed through the API. The unseal key stays in this object (test only).
 */
export async function startSealableVault(tls: { cert: string; key: string }, caFile: string, work: string): Promise<SealableVault> {
  const port = await freePortPair();
  const dir = path.join(work, `bao-${port}`);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
  const addr = `https://127.0.0.1:${port}`;
  // OpenBao 2.7 has no "file" storage: raft, one node, cluster traffic on the next port.
  fs.writeFileSync(
    path.join(dir, 'server.hcl'),
    `storage "raft" {\n  path = "${path.join(dir, 'data')}"\n  node_id = "status-test"\n}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${port + 1}"\n  tls_cert_file = "${tls.cert}"\n  tls_key_file = "${tls.key}"\n}\napi_addr = "${addr}"\ncluster_addr = "https://127.0.0.1:${port + 1}"\n`,
  );
  const log = fs.openSync(path.join(dir, 'server.log'), 'a', 0o600);
  const child: ChildProcess = spawn(BAO, ['server', `-config=${path.join(dir, 'server.hcl')}`], { stdio: ['ignore', log, log], env: { PATH: process.env.PATH, HOME: work } });
  fs.closeSync(log);
  const ca = fs.readFileSync(caFile, 'utf8');
  const client = (token?: string, timeoutMs = 3000) => new VaultClient({ addr, ca, caSource: caFile, timeoutMs, ...(token ? { token } : {}) });
  const until = async (probe: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`bao server exited: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-600)}`);
      try {
        if (await probe()) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error('OpenBao did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await until(async () => (await client().health()) !== undefined);
    const init = await client(undefined, 60_000).write<never>('sys/init', { secret_shares: 1, secret_threshold: 1 });
    const body = init.json as unknown as { keys_base64: string[]; root_token: string };
    const key = body.keys_base64[0]!;
    const token = body.root_token;
    const unseal = async () => {
      await client(undefined, 30_000).write('sys/unseal', { key });
      await until(async () => {
        const h = await client().health();
        return !h.sealed && !h.standby;
      });
    };
    await unseal();
    return {
      addr,
      token,
      caFile,
      pid: child.pid!,
      client: () => client(token),
      seal: async () => {
        await client(token, 30_000).write('sys/seal', {});
      },
      unseal,
      stop: () => stopProcess(child),
    };
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

/** Records a step the way another issue's step writes it (completeStep through the state store). */
export function recordStep(home: string, env: string, id: string, mount: string | undefined, artefacts: Array<{ kind: string; path: string; sha256: string; fingerprint?: string }>, facts: Record<string, string | number | boolean | string[]>): void {
  const store = new StateStore(env, envPaths(env, { stateDir: home }).stateFile);
  store.write(completeStep(store.read(), id, mount, new Date(), artefacts, facts));
}

/**
 * A TLS directory in issue 4's layout: versions/<id>/{key,cert,chain,fullchain,bundle}.pem,
 * `current` -> versions/<id>, and stable links key.pem -> current/key.pem and friends.
 */
export function publishTlsVersion(tlsDir: string, id: string, leaf: { certificate: string; privateKey: string; chain: string }): void {
  const v = path.join(tlsDir, 'versions', id);
  fs.mkdirSync(v, { recursive: true, mode: 0o755 });
  const files: Record<string, [string, number]> = {
    'key.pem': [leaf.privateKey, 0o600],
    'cert.pem': [leaf.certificate, 0o644],
    'chain.pem': [leaf.chain, 0o644],
    'fullchain.pem': [leaf.certificate + leaf.chain.split(/(?=-----BEGIN)/)[0]!, 0o644],
    'bundle.pem': [leaf.privateKey + leaf.certificate, 0o600],
  };
  for (const [name, [content, mode]] of Object.entries(files)) fs.writeFileSync(path.join(v, name), content, { mode });
  const tmp = path.join(tlsDir, `.current.${id}`);
  fs.symlinkSync(`versions/${id}`, tmp);
  fs.renameSync(tmp, path.join(tlsDir, 'current'));
  for (const name of Object.keys(files)) {
    const link = path.join(tlsDir, name);
    if (!fs.existsSync(link)) fs.symlinkSync(`current/${name}`, link);
  }
}

/** A real `bao agent` for a config; stopped by PID. */
export async function startAgent(config: string, work: string): Promise<{ pid: number; stop(): Promise<void>; log: string }> {
  const log = path.join(work, `agent-${path.basename(path.dirname(config))}.log`);
  const fd = fs.openSync(log, 'a', 0o600);
  const child = spawn(BAO, ['agent', `-config=${config}`], { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH, HOME: work }, cwd: work });
  fs.closeSync(fd);
  return { pid: child.pid!, stop: () => stopProcess(child), log };
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Validates against docs/<name>.schema.json with ajv (conf's own dependency) and formats. */
export async function validateAgainstSchema(name: 'status' | 'doctor', value: unknown): Promise<string[]> {
  const { default: Ajv } = (await import('ajv')) as unknown as { default: new (o: object) => { compile(s: object): ((v: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null } } };
  const { default: addFormats } = (await import('ajv-formats')) as unknown as { default: (a: unknown) => void };
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  const schema = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', `${name}.schema.json`), 'utf8'));
  const validate = ajv.compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

export async function statusJson(args: string[], env: Record<string, string>): Promise<{ exitCode: number; json: any; stderr: string }> {
  const r = await cli(['status', '--json', ...args], { env });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`status printed no JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 400)}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode, json, stderr: r.stderr };
}

export async function doctorJson(args: string[], env: Record<string, string>): Promise<{ exitCode: number; json: any; stderr: string }> {
  const r = await cli(['doctor', '--json', ...args], { env });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 400)}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode, json, stderr: r.stderr };
}

export async function openssl(args: string[]): Promise<string> {
  const r = await execa('openssl', args);
  return String(r.stdout);
}

/** A throwaway CA and leaf made with openssl (for tests that need no Vault). */
export async function opensslPki(dir: string, name: string, options: { leafDays?: number; cn?: string; ip?: string } = {}): Promise<{ root: string; rootKey: string; leaf: string; key: string; chain: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, `${name}-${f}`);
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-subj', `/CN=${name} Test Root`, '-days', '3650', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await execa('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', `/CN=${options.cn ?? 'localhost'}`]);
  const ext = p('leaf.ext');
  fs.writeFileSync(ext, `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${options.cn ?? 'localhost'},IP:${options.ip ?? '127.0.0.1'}\nextendedKeyUsage=serverAuth\n`);
  await execa('openssl', ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', String(options.leafDays ?? 30), '-extfile', ext]);
  return { root: p('root.pem'), rootKey: p('root.key'), leaf: p('leaf.pem'), key: p('leaf.key'), chain: p('root.pem') };
}

export { tempDir };
export type { DevServer };

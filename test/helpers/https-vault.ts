/**
 * A real OpenBao over HTTPS for tests: not dev mode, raft storage in a temp dir, TLS material
 * issued by certwright from the environment's PKI, initialised and unsealed through certwright.
 *
 *   const lab = useHttpsVault({ pkiMount: 'pki_app' });   // at the top of a test file
 *   it('...', async () => {
 *     const v = lab.vault();          // { addr, token, caFile, env, home, cliEnv(), pid, ... }
 *     await cli(['status', '--env', v.env], { env: v.cliEnv() });
 *   });
 *
 * How it is built (each step is the real certwright binary, as an operator would run it):
 *   1. a dev server (plain HTTP) holds the environment's PKI: `root create` + `intermediate`
 *      (mount `pki_int`) — the foundation's flow;
 *   2. `vault-cert` issues the server certificate (DNS localhost, IP 127.0.0.1);
 *   3. `vault-https` renders the config; the harness starts `bao server -config=vault-host.hcl`
 *      itself, so it owns the PID and stops it in afterAll;
 *   4. `vault-init --keys-out` and `vault-unseal --key-file` over HTTPS, trusting only root-ca.pem;
 *   5. with `pkiMount`, `intermediate` runs against the HTTPS Vault too, so it can issue leaves.
 * Costs about 4 s. Everything lives in temp dirs removed after the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { cli, tempDir, useOpenBao, vaultEnv, writePassphrase, BAO } from './env.js';
import { freePortPair, stopProcess, type DevServer } from '../../source/system/openbao.js';
import { VaultClient } from '../../source/vault/client.js';

export interface HttpsVault {
  /** https://127.0.0.1:PORT */
  addr: string;
  /** The root token (from the keys file vault-init wrote). */
  token: string;
  /** The environment's root certificate: the only CA to trust. */
  caFile: string;
  ca: string;
  env: string;
  /** CERTWRIGHT_HOME holding the environment's state. */
  home: string;
  rootDir: string;
  passphraseFile: string;
  tlsDir: string;
  serverDir: string;
  keysFile: string;
  /** PID of the bao server (SIGHUP it to reload TLS). */
  pid: number;
  /** The PKI mount inside the HTTPS Vault, when asked for. */
  pkiMount?: string | undefined;
  /** Environment for cli(): CERTWRIGHT_HOME, VAULT_ADDR (https), VAULT_TOKEN, VAULT_CACERT. */
  cliEnv(): Record<string, string>;
  /** A client for the HTTPS Vault, trusting only the root. */
  client(): VaultClient;
  stop(): Promise<void>;
}

export interface HttpsVaultOptions {
  env?: string;
  /** Also install an intermediate in the HTTPS Vault at this mount. */
  pkiMount?: string;
  /** false: leave the server uninitialised (for the init screen); no token, no keys file. */
  initialise?: boolean;
}

async function must(args: string[], env: Record<string, string>, what: string): Promise<string> {
  const r = await cli(args, { env });
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

export async function startHttpsVault(dev: DevServer, options: HttpsVaultOptions = {}): Promise<HttpsVault> {
  const env = options.env ?? 'test';
  const work = tempDir('cw-https-');
  const home = path.join(work, 'home');
  const rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  const pass = writePassphrase(work);
  const devEnv = vaultEnv(dev, home);
  await must(['root', 'create', '--env', env, '--out', rootDir, '--cn', `${env} Root CA`, '--passphrase-file', pass], devEnv, 'root create');
  await must(['intermediate', '--env', env, '--mount', 'pki_int', '--cn', `${env} Intermediate CA`, '--root-dir', rootDir, '--passphrase-file', pass], devEnv, 'intermediate');
  const tlsDir = path.join(work, 'tls');
  await must(['vault-cert', '--env', env, '--mount', 'pki_int', '--role', 'vault-server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', tlsDir], devEnv, 'vault-cert');
  const port = await freePortPair();
  const serverDir = path.join(work, 'server');
  await must(['vault-https', '--env', env, '--tls-dir', tlsDir, '--out', serverDir, '--listen', `127.0.0.1:${port}`, '--storage', 'raft'], { CERTWRIGHT_HOME: home }, 'vault-https');
  const log = fs.openSync(path.join(serverDir, 'vault.log'), 'a', 0o600);
  const child: ChildProcess = spawn(BAO, ['server', `-config=${path.join(serverDir, 'vault-host.hcl')}`], { stdio: ['ignore', log, log], env: { PATH: process.env.PATH, HOME: work } });
  fs.closeSync(log);
  const addr = `https://127.0.0.1:${port}`;
  const caFile = path.join(rootDir, 'root-ca.pem');
  const ca = fs.readFileSync(caFile, 'utf8');
  const client = (token?: string) => new VaultClient({ addr, ca, caSource: caFile, timeoutMs: 3000, ...(token ? { token } : {}) });
  try {
    await until(async () => (await client().health()) !== undefined, 20_000, () => child.exitCode === null, serverDir);
    const keysFile = path.join(work, 'unseal-keys.json');
    const httpsEnv = { CERTWRIGHT_HOME: home };
    if (options.initialise === false) {
      const bare = () => ({ CERTWRIGHT_HOME: home, VAULT_ADDR: addr, VAULT_CACERT: caFile });
      return { addr, token: '', caFile, ca, env, home, rootDir, passphraseFile: pass, tlsDir, serverDir, keysFile, pid: child.pid!, pkiMount: undefined, cliEnv: bare, client: () => client(), stop: () => stopProcess(child) };
    }
    await must(['vault-init', '--env', env, '--key-shares', '3', '--key-threshold', '2', '--keys-out', keysFile], httpsEnv, 'vault-init');
    await must(['vault-unseal', '--env', env, '--key-file', keysFile], httpsEnv, 'vault-unseal');
    const token = (JSON.parse(fs.readFileSync(keysFile, 'utf8')) as { root_token: string }).root_token;
    // Raft elects itself leader shortly after unseal; wait until the node is active.
    await until(async () => {
      const h = await client().health();
      return !h.sealed && !h.standby;
    }, 20_000, () => child.exitCode === null, serverDir);
    const cliEnv = () => ({ CERTWRIGHT_HOME: home, VAULT_ADDR: addr, VAULT_TOKEN: token, VAULT_CACERT: caFile });
    if (options.pkiMount) {
      await must(['intermediate', '--env', env, '--mount', options.pkiMount, '--cn', `${env} ${options.pkiMount} CA`, '--root-dir', rootDir, '--passphrase-file', pass], cliEnv(), 'intermediate on the HTTPS Vault');
    }
    return {
      addr,
      token,
      caFile,
      ca,
      env,
      home,
      rootDir,
      passphraseFile: pass,
      tlsDir,
      serverDir,
      keysFile,
      pid: child.pid!,
      pkiMount: options.pkiMount,
      cliEnv,
      client: () => client(token),
      stop: () => stopProcess(child),
    };
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, alive: () => boolean, serverDir: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`bao server exited: ${fs.readFileSync(path.join(serverDir, 'vault.log'), 'utf8').slice(-800)}`);
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the HTTPS Vault did not become ready: ${(last as Error | undefined)?.message ?? 'timeout'}`);
}

/** One dev server (the PKI) and one HTTPS Vault for the whole test file. */
export function useHttpsVault(options: HttpsVaultOptions = {}): { dev: () => DevServer; vault: () => HttpsVault } {
  const bao = useOpenBao();
  let vault: HttpsVault | undefined;
  beforeAll(async () => {
    vault = await startHttpsVault(bao.server(), options);
  }, 90_000);
  afterAll(async () => {
    await vault?.stop();
  });
  return {
    dev: bao.server,
    vault: () => {
      if (!vault) throw new Error('HTTPS Vault not started');
      return vault;
    },
  };
}

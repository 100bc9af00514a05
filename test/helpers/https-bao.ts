import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { freePort, stopProcess } from '../../source/system/openbao.js';
import { BAO } from './env.js';

/**
 * A real OpenBao dev server over HTTPS: `bao server -dev -dev-tls` generates a CA and a server
 * certificate (DIR/vault-ca.pem). In memory, unsealed, 127.0.0.1 only. Stopped by PID.
 */
export interface TlsDevServer {
  addr: string;
  token: string;
  caFile: string;
  certDir: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

function healthOk(addr: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${addr}/v1/sys/health`, { ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startTlsDevServer(): Promise<TlsDevServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bao-tls-'));
    const token = `tls-${randomBytes(12).toString('hex')}`;
    const log = fs.openSync(path.join(certDir, 'server.log'), 'a', 0o600);
    const child = spawn(BAO, ['server', '-dev', '-dev-tls', `-dev-tls-cert-dir=${certDir}`, `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${token}`, '-dev-no-store-token'], {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH, HOME: certDir } as NodeJS.ProcessEnv,
    });
    fs.closeSync(log);
    const addr = `https://127.0.0.1:${port}`;
    const caFile = path.join(certDir, 'vault-ca.pem');
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (fs.existsSync(caFile) && (await healthOk(addr, fs.readFileSync(caFile, 'utf8')))) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (ready) {
      return {
        addr,
        token,
        caFile,
        certDir,
        pid: child.pid!,
        process: child,
        stop: async () => {
          await stopProcess(child);
          fs.rmSync(certDir, { recursive: true, force: true });
        },
      };
    }
    lastError = new Error(`bao -dev-tls did not become ready on ${addr}: ${fs.existsSync(path.join(certDir, 'server.log')) ? fs.readFileSync(path.join(certDir, 'server.log'), 'utf8').slice(-500) : ''}`);
    await stopProcess(child);
    fs.rmSync(certDir, { recursive: true, force: true });
  }
  throw lastError;
}

/** One HTTPS OpenBao for the whole test file. */
export function useTlsOpenBao(): { server: () => TlsDevServer } {
  let server: TlsDevServer | undefined;
  beforeAll(async () => {
    server = await startTlsDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    server: () => {
      if (!server) throw new Error('OpenBao (TLS) not started');
      return server;
    },
  };
}

export function tlsVaultEnv(server: TlsDevServer, home: string): Record<string, string> {
  return { VAULT_ADDR: server.addr, VAULT_TOKEN: server.token, VAULT_CACERT: server.caFile, CERTWRIGHT_HOME: home };
}

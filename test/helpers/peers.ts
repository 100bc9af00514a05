import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { freePort, stopProcess } from '../../source/system/openbao.js';

/**
 * Real TLS peers for the build-certificate tests: a server certificate made with openssl, a
 * PostgreSQL 15 instance of our own (temp dir, loopback, free port), an `openssl s_server` that
 * requires client certificates. Every process is stopped by its PID (pg_ctl stop reads the
 * postmaster's PID file).
 */

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export function postgresAvailable(): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'PostgreSQL refuses to run as root and the tests need root to switch to the postgres user' };
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) return { ok: false, why: `PostgreSQL 15 is not installed (${PG_BIN}/initdb missing; scripts/install-tools.sh installs it)` };
  try {
    const id = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!id) return { ok: false, why: 'there is no postgres user' };
  } catch {
    return { ok: false, why: '/etc/passwd is unreadable' };
  }
  return { ok: true, why: '' };
}

function postgresIds(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))!;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface ServerCert {
  caFile: string;
  cert: string;
  key: string;
}

/** A server CA and a certificate for localhost / 127.0.0.1 (serverAuth), made with openssl. */
export async function makeServerCert(dir: string): Promise<ServerCert> {
  const caKey = path.join(dir, 'server-ca.key');
  const caFile = path.join(dir, 'server-ca.pem');
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.pem');
  const ext = path.join(dir, 'server.ext');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caFile, '-subj', '/CN=Test Server CA', '-days', '2']);
  await execa('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  fs.chmodSync(key, 0o600);
  return { caFile, cert, key };
}

export interface Postgres {
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Runs psql over TLS as `user` with the given client certificate; never throws. */
  login(user: string, certFile: string, keyFile: string, serverCa: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/**
 * initdb + pg_ctl as the postgres user, config in a temp dir: ssl on, ssl_ca_file = the given CA,
 * `hostssl all all 127.0.0.1/32 cert clientcert=verify-full` (the CN must be the user name).
 */
export async function startPostgres(options: { server: ServerCert; clientCaFile: string; users: string[] }): Promise<Postgres> {
  const { uid, gid } = postgresIds();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-pg-'));
  fs.chmodSync(dir, 0o700);
  fs.chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  const own = (file: string, content: string | Buffer, mode: number) => {
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    fs.chownSync(file, uid, gid);
  };
  own(path.join(dir, 'server.pem'), fs.readFileSync(options.server.cert), 0o644);
  own(path.join(dir, 'server.key'), fs.readFileSync(options.server.key), 0o600);
  own(path.join(dir, 'client-ca.pem'), fs.readFileSync(options.clientCaFile), 0o644);
  const asPostgres = (cmd: string, args: string[]) => execa('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, cmd), ...args], { cwd: dir, env: { LANG: 'C', LC_ALL: 'C', PATH: process.env.PATH } });
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8']);
  const port = await freePort();
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      `ssl_cert_file = '${path.join(dir, 'server.pem')}'`,
      `ssl_key_file = '${path.join(dir, 'server.key')}'`,
      `ssl_ca_file = '${path.join(dir, 'client-ca.pem')}'`,
      'fsync = off',
      'shared_buffers = 16MB',
      'max_connections = 20',
      '',
    ].join('\n'),
  );
  own(path.join(data, 'pg_hba.conf'), ['local all postgres trust', 'hostssl all all 127.0.0.1/32 cert clientcert=verify-full', ''].join('\n'), 0o600);
  await asPostgres('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  const stop = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop']).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const user of options.users) {
      await execa('runuser', ['-u', 'postgres', '--', 'psql', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE ROLE "${user}" LOGIN`], { cwd: dir });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-pghome-'));
  return {
    port,
    dir,
    stop: async () => {
      await stop();
      fs.rmSync(home, { recursive: true, force: true });
    },
    async login(user, certFile, keyFile, serverCa) {
      const conn = `host=127.0.0.1 port=${port} dbname=postgres user=${user} sslmode=verify-full sslrootcert=${serverCa} sslcert=${certFile} sslkey=${keyFile} connect_timeout=10`;
      const result = await execa('psql', [conn, '-X', '-A', '-t', '-c', 'select current_user'], { reject: false, env: { HOME: home, PATH: process.env.PATH }, extendEnv: false, timeout: 20_000 });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout).trim(), stderr: String(result.stderr) };
    },
  };
}

export interface SServer {
  port: number;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** `openssl s_server -Verify 3`: a TLS server that requires a client certificate from clientCaFile's root. */
export async function startSServer(server: ServerCert, clientCaFile: string): Promise<SServer> {
  const port = await freePort();
  // stdin stays an open pipe: s_server shuts down when its stdin reaches end of file.
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', server.cert, '-key', server.key, '-Verify', '3', '-verify_return_error', '-CAfile', clientCaFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ACCEPT')) {
    if (child.exitCode !== null) throw new Error(`openssl s_server exited: ${out}`);
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`openssl s_server did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, process: child, output: () => out, stop: () => stopProcess(child) };
}

/**
 * Node module hooks that log every module URL a process loads, so a test can prove that a
 * command never loads React or Ink. Returns the --import argument and the log file.
 */
export function moduleLogger(dir: string): { importArg: string; log: string } {
  const log = path.join(dir, 'modules.log');
  const hooks = path.join(dir, 'hooks.mjs');
  const register = path.join(dir, 'register.mjs');
  fs.writeFileSync(hooks, `import fs from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  fs.appendFileSync(${JSON.stringify(log)}, result.url + '\\n');\n  return result;\n}\n`);
  fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
  return { importArg: `file://${register}`, log };
}

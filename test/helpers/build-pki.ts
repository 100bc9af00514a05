import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli, writePassphrase, vaultEnv } from './env.js';
import type { DevServer } from '../../source/system/openbao.js';

/**
 * The seed's "multiple trust paths" tree: an application root ("Myapp Dev", trusted by Vault) and
 * an environment root ("Stage", trusted by PostgreSQL), both pathlen 1; one build-server
 * intermediate (pathlen 0) in a Vault mount, signed by the application root and cross-signed by
 * the environment root. Built with the real CLI.
 */
export interface Roots {
  appRoot: string;
  envRoot: string;
  appRootDir: string;
  envRootDir: string;
  pass: string;
}

export async function createRoots(work: string): Promise<Roots> {
  const pass = writePassphrase(work);
  const appRootDir = path.join(work, 'root-app');
  const envRootDir = path.join(work, 'root-env');
  fs.mkdirSync(appRootDir);
  fs.mkdirSync(envRootDir);
  const [a, b] = await Promise.all([
    cli(['root', 'create', '--env', 'dev', '--out', appRootDir, '--cn', 'Myapp Dev', '--key-type', 'ec-p256', '--path-len', '1', '--ttl', '5y', '--passphrase-file', pass], { env: { CERTWRIGHT_HOME: path.join(work, 'home-app') } }),
    cli(['root', 'create', '--env', 'stage', '--out', envRootDir, '--cn', 'Stage', '--key-type', 'ec-p256', '--path-len', '1', '--ttl', '5y', '--passphrase-file', pass], { env: { CERTWRIGHT_HOME: path.join(work, 'home-env') } }),
  ]);
  expect(a.exitCode, a.stderr).toBe(0);
  expect(b.exitCode, b.stderr).toBe(0);
  return { appRoot: path.join(appRootDir, 'root-ca.pem'), envRoot: path.join(envRootDir, 'root-ca.pem'), appRootDir, envRootDir, pass };
}

/** intermediate (signed by the app root) in `mount`, then the env root's cross-signature. */
export async function crossSignedMount(server: DevServer, home: string, roots: Roots, mount: string, options: { crossSign?: boolean } = {}): Promise<void> {
  const env = vaultEnv(server, home);
  const inter = await cli(['intermediate', '--env', 'dev', '--mount', mount, '--cn', `Build Server B1 ${mount}`, '--root-dir', roots.appRootDir, '--passphrase-file', roots.pass], { env });
  expect(inter.exitCode, inter.stderr).toBe(0);
  if (options.crossSign === false) return;
  const cross = await cli(['cross-sign', '--env', 'dev', '--mount', mount, '--root-dir', roots.envRootDir, '--passphrase-file', roots.pass], { env });
  expect(cross.exitCode, cross.stderr).toBe(0);
}

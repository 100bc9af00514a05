import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperatorError } from '../errors.js';
import type { VaultConnection } from './client.js';

export interface ConnectionInputs {
  vaultAddr?: string | undefined;
  vaultCa?: string | undefined;
  /** From the environment's state, used when nothing else names an address. */
  stateAddr?: string | undefined;
  stateCa?: string | undefined;
  /** A raft cluster's node addresses from the state (vault-https): used only with stateAddr. */
  stateNodes?: string[] | undefined;
  environ?: NodeJS.ProcessEnv;
  requireToken?: boolean;
}

/** OpenBao's rule: a BAO_* variable that is set at all wins over its VAULT_* twin. */
export function twin(environ: NodeJS.ProcessEnv, name: string): string | undefined {
  const bao = environ[`BAO_${name}`];
  if (bao !== undefined) return bao;
  return environ[`VAULT_${name}`];
}

function readTokenFile(environ: NodeJS.ProcessEnv): string | undefined {
  const home = environ.HOME ?? os.homedir();
  const file = path.join(home, '.vault-token');
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return token || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Address: --vault-addr > BAO_ADDR > VAULT_ADDR > the environment's recorded address.
 * Token: BAO_TOKEN > VAULT_TOKEN > ~/.vault-token. CA: --vault-ca > BAO_CACERT > VAULT_CACERT >
 * the environment's recorded CA file. There is no way to skip TLS verification.
 */
/**
 * The connection rule itself, without reading or refusing anything: which address, token and CA
 * file apply. resolveConnection and status (which reports instead of throwing) both use it.
 */
export function pickConnection(inputs: Omit<ConnectionInputs, 'requireToken'>): { addr?: string | undefined; alternates?: string[] | undefined; token?: string | undefined; caFile?: string | undefined } {
  const environ = inputs.environ ?? process.env;
  const given = inputs.vaultAddr || twin(environ, 'ADDR');
  // A cluster recorded in state: whichever node answers. An address given by flag or environment
  // is that one server, as asked.
  const alternates = !given && inputs.stateNodes && inputs.stateNodes.length > 1 ? inputs.stateNodes.filter((a) => a !== inputs.stateAddr) : undefined;
  return {
    addr: given || inputs.stateAddr,
    ...(alternates ? { alternates } : {}),
    token: twin(environ, 'TOKEN') || readTokenFile(environ),
    caFile: inputs.vaultCa || twin(environ, 'CACERT') || inputs.stateCa,
  };
}

export function resolveConnection(inputs: ConnectionInputs): VaultConnection {
  const picked = pickConnection(inputs);
  const addr = picked.addr;
  if (!addr) {
    throw new OperatorError('No Vault address is known for this environment.', 'Pass --vault-addr https://HOST:PORT or set VAULT_ADDR (or start a rehearsal with `certwright lab`).');
  }
  const token = picked.token;
  if (inputs.requireToken !== false && !token) {
    throw new OperatorError('No Vault token was found.', 'Set VAULT_TOKEN (or BAO_TOKEN), or log in so that ~/.vault-token exists.');
  }
  const caFile = picked.caFile;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch {
      throw new OperatorError(`The Vault CA file ${caFile} cannot be read.`, 'Pass --vault-ca with the path of the root CA PEM (or fix VAULT_CACERT).');
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new OperatorError(`The Vault CA file ${caFile} holds no PEM certificate.`, 'Pass --vault-ca with the root CA PEM.');
  }
  return { addr, token, ...(ca ? { ca, caSource: caFile } : {}), ...(picked.alternates ? { alternates: picked.alternates } : {}) };
}

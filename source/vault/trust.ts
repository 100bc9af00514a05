import path from 'node:path';
import fs from 'node:fs';
import type { EnvState } from '../../state/schema.js';
import { ExternalError, OperatorError } from '../errors.js';
import { VaultClient } from './client.js';
import { resolveConnection } from './connection.js';

/**
 * Trust for the environment's Vault over HTTPS: the environment's root and nothing else (Node's
 * `ca` option replaces the system store). The seed's "unseal failed due to trust" cannot happen
 * silently: either the CA is known here, or the error names the file to pass.
 */

export interface TrustInputs {
  vaultAddr?: string | undefined;
  vaultCa?: string | undefined;
  environ?: NodeJS.ProcessEnv;
}

function twin(environ: NodeJS.ProcessEnv, name: string): string | undefined {
  const bao = environ[`BAO_${name}`];
  return bao !== undefined ? bao : environ[`VAULT_${name}`];
}

/** The root certificate the root ceremony recorded, if this machine ran it. */
export function recordedRootFile(state: EnvState): string | undefined {
  const file = state.steps['root-create']?.artefacts.find((a) => a.kind === 'root-certificate')?.path;
  return file && fs.existsSync(file) ? file : undefined;
}

/** --vault-ca > BAO_CACERT > VAULT_CACERT > the environment's recorded CA > the recorded root. */
export function resolveCaFile(state: EnvState | undefined, inputs: TrustInputs): string | undefined {
  const environ = inputs.environ ?? process.env;
  const given = inputs.vaultCa || twin(environ, 'CACERT');
  // Absolute at once: it is recorded in state and read again from other directories.
  if (given) return path.resolve(given);
  return state?.vault?.caFile || (state ? recordedRootFile(state) : undefined);
}

/** --vault-addr > BAO_ADDR > VAULT_ADDR > the address vault-https rendered > the recorded address. */
export function resolveHttpsAddr(state: EnvState | undefined, inputs: TrustInputs): string | undefined {
  const environ = inputs.environ ?? process.env;
  const rendered = state?.steps['vault-https']?.facts.apiAddr;
  return inputs.vaultAddr || twin(environ, 'ADDR') || (typeof rendered === 'string' ? rendered : undefined) || state?.vault?.addr;
}

/**
 * A client for the environment's Vault that must be HTTPS and must have a CA: unseal keys and
 * init results never travel in clear text, and never under the system's trust store.
 */
export function httpsVault(state: EnvState | undefined, inputs: TrustInputs & { requireToken?: boolean }): { vault: VaultClient; caFile: string } {
  const addr = resolveHttpsAddr(state, inputs);
  if (!addr) throw new OperatorError('No Vault address is known for this environment.', 'Pass --vault-addr https://HOST:PORT (or run certwright vault-https first, which records it).');
  const caFile = resolveCaFile(state, inputs);
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new OperatorError(`The Vault address "${addr}" is not a URL.`, 'Pass --vault-addr https://HOST:PORT.');
  }
  if (url.protocol !== 'https:') {
    throw new OperatorError(`The Vault address ${addr} is not HTTPS; certwright sends unseal keys and tokens only over TLS.`, 'Pass --vault-addr https://HOST:PORT (serve it with certwright vault-https).');
  }
  if (!caFile) {
    throw new OperatorError(
      `No CA is known to trust Vault at ${addr}.`,
      'Pass --vault-ca with the environment\'s root CA (root-ca.pem), or set VAULT_CACERT; certwright never falls back to the system trust store or skips verification.',
    );
  }
  // Address and CA are passed explicitly, so they win; the token comes the usual way.
  const connection = resolveConnection({ vaultAddr: addr, vaultCa: caFile, ...(inputs.environ ? { environ: inputs.environ } : {}), requireToken: inputs.requireToken ?? false });
  return { vault: new VaultClient(connection), caFile };
}

/**
 * Runs fn; an unknown-authority failure is replaced by the precise cause found by looking at what
 * the server presents (missing intermediate, another CA, wrong name).
 */
export async function withTrustDiagnosis<T>(vault: VaultClient, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ExternalError && /unknown authority|does not name/.test(error.message) && vault.isHttps) {
      // Loaded only on this path: the diagnosis reads certificates (x509), which a step's definition never needs.
      const { probeTls, explainProbe } = await import('./tls-diagnosis.js');
      const probe = await probeTls(vault.addr, vault.connection.ca).catch(() => undefined);
      if (probe && !probe.authorized) throw explainProbe(vault.addr, probe, vault.connection.caSource, vault.connection.ca);
    }
    throw error;
  }
}

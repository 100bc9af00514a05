import fs from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { EnvState } from '../../state/schema.js';
import type { HomeOptions } from '../paths.js';
import type { VaultClient, VaultConnection } from '../vault/client.js';
import { agentsOf, rootCertificateFiles, selectEnv, vaultFacts, type EnvSelection, type ManagedAgent, type VaultFacts } from './estate.js';
import { readCertFile, isSelfSigned } from './cert-files.js';
import { pickConnection } from '../vault/connection.js';

/** Everything a status or doctor run is told: flags, the environment, and where things are. */
export interface StatusOptions {
  env?: string | undefined;
  home: HomeOptions;
  /** --warn-days; null: each certificate warns when under a third of its lifetime is left. */
  warnDays: number | null;
  vaultAddr?: string | undefined;
  vaultCa?: string | undefined;
  /** The environment's root certificate (default: the root ceremony's root-ca.pem). */
  rootFile?: string | undefined;
  mounts: string[];
  certDirs: string[];
  agentConfigs: string[];
  users: string[];
  /** Where each service user's trust file lives, relative to the home (issue 4's distribute-ca). */
  trustPath: string;
  /** Extra LABEL=VALUE filters for containers, ANDed with tls=true. */
  select: string[];
  /** Vault is asked about PKI at most this often (the screen refreshes other sections faster). */
  pkiTtlMs: number;
  environ?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export { DEFAULT_TRUST_PATH } from '../defaults.js';

export interface EnvRoot {
  file: string;
  cert: X509Certificate;
}

/** A refresh's view of the environment: state read once, Vault client made once. */
export interface StatusContext {
  options: StatusOptions;
  selection: EnvSelection;
  state: EnvState | undefined;
  facts: VaultFacts;
  agents: ManagedAgent[];
  root: EnvRoot | undefined;
  rootReason?: string;
  vault: VaultClient | undefined;
  vaultReason?: string;
  vaultCaFile?: string;
  now: Date;
  signal?: AbortSignal | undefined;
}

/** The environment's root: --root, else the ceremony's root-ca.pem, else a self-signed CA in the recorded Vault CA file. */
export function resolveRoot(options: StatusOptions, state: EnvState | undefined): { root?: EnvRoot; reason?: string } {
  const candidates = options.rootFile ? [options.rootFile] : [...rootCertificateFiles(state), ...(state?.vault?.caFile ? [state.vault.caFile] : [])];
  if (candidates.length === 0) return { reason: 'no root certificate is recorded for this environment (pass --root FILE)' };
  const reasons: string[] = [];
  for (const file of candidates) {
    const read = readCertFile(file);
    if (!read.ok) {
      reasons.push(read.reason);
      continue;
    }
    const cert = read.file.certs.find((c) => c.ca && isSelfSigned(c));
    if (cert) return { root: { file, cert } };
    reasons.push(`${file} holds no self-signed CA certificate`);
  }
  return { reason: reasons.join('; ') };
}

/** Reads the state once and makes the Vault client (its TLS stack is loaded only when there is a Vault to ask). */
export async function buildContext(options: StatusOptions, signal?: AbortSignal): Promise<StatusContext> {
  const environ = options.environ ?? process.env;
  const selection = selectEnv(options.env, options.home);
  const state = selection.state;
  const facts = vaultFacts(state);
  const { root, reason: rootReason } = resolveRoot(options, state);
  const ctx: StatusContext = {
    options,
    selection,
    state,
    facts,
    agents: agentsOf(state, options.agentConfigs),
    root,
    ...(rootReason ? { rootReason } : {}),
    vault: undefined,
    now: options.now?.() ?? new Date(),
    signal,
  };
  // The one connection rule (vault/connection.ts); status reports what is missing instead of throwing.
  const picked = pickConnection({ vaultAddr: options.vaultAddr, vaultCa: options.vaultCa, stateAddr: facts.addr, stateCa: facts.caFile ?? root?.file, stateNodes: state?.vault?.nodes, environ });
  const addr = picked.addr;
  if (!addr) {
    ctx.vaultReason = 'no Vault address is known (pass --vault-addr or set VAULT_ADDR)';
    return ctx;
  }
  const caFile = picked.caFile;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
      ctx.vaultCaFile = caFile;
    } catch (error) {
      ctx.vaultReason = `the Vault CA file ${caFile} cannot be read (${(error as NodeJS.ErrnoException).code})`;
    }
  }
  const token = picked.token;
  const connection: VaultConnection = { addr, ...(token ? { token } : {}), ...(ca ? { ca, caSource: caFile } : {}), timeoutMs: 5000, ...(picked.alternates ? { alternates: picked.alternates } : {}) };
  try {
    const { VaultClient } = await import('../vault/client.js');
    ctx.vault = new VaultClient(connection);
  } catch (error) {
    ctx.vaultReason = (error as Error).message;
  }
  return ctx;
}

/** A client for the same Vault with another token (an agent's sink), or another address and CA. */
export async function clientWith(ctx: StatusContext, overrides: { token: string; addr?: string; ca?: string; caSource?: string }): Promise<VaultClient> {
  const { VaultClient } = await import('../vault/client.js');
  const base = ctx.vault?.connection;
  return new VaultClient({
    addr: overrides.addr ?? base?.addr ?? 'http://127.0.0.1:8200',
    token: overrides.token,
    ...((overrides.ca ?? base?.ca) ? { ca: overrides.ca ?? base?.ca, caSource: overrides.caSource ?? base?.caSource } : {}),
    timeoutMs: 5000,
  });
}

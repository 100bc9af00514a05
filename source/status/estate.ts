import fs from 'node:fs';
import path from 'node:path';
import { validateState, StateFileError, type EnvState, type StepRecord } from '../../state/schema.js';
import { envPaths, envsDir, validateEnvName, type HomeOptions } from '../paths.js';
import { OperatorError, UsageError } from '../errors.js';

/**
 * What certwright manages in one environment, read from its state file WITHOUT taking the lock
 * (status and doctor only read, and must work while a step is running). Each reader below names
 * the step record and the facts it relies on; records written by steps that are absent here
 * simply yield nothing, and the section that needs them says "unknown" with the reason.
 *
 * Facts read (written by other steps):
 *   root-create            artefact kind "root-certificate"                        (foundation)
 *   intermediate-install   artefacts "intermediate-certificate", "root-certificate-copy" (foundation)
 *   intermediate-sign      artefact "intermediate-certificate"                      (foundation)
 *   state.vault            {addr, caFile}; state.mounts {path, maxTtl, aiaBase}     (foundation)
 *   vault-https            facts.apiAddr, facts.tlsDir, facts.user ("uid:gid"), facts.outDir,
 *                          facts.containerName, facts.runtime                        (issue 3)
 *   vault-cert             artefacts vault-server-key / vault-server-certificate / vault-fullchain /
 *                          vault-ca-chain (with sha256), facts.outDir, facts.mount  (issue 3)
 *   switch-urls@MOUNT      facts.base                                               (issue 3)
 *   agent-app-NAME@MOUNT,
 *   agent-proxy-NAME@MOUNT facts.kind, name, outDir, tlsDir (app), caOut (proxy), user, unit,
 *                          vaultAddr, ttl; artefact "agent-agent.hcl"               (issue 4)
 */

export interface EnvSelection {
  env: string | null;
  state: EnvState | undefined;
  stateFile: string | null;
  /** Why there is no state, when there is none. */
  stateReason?: string;
  eventsFile: string | null;
}

/** --env, else the only environment there is; several without --env is a usage error. */
export function selectEnv(env: string | undefined, home: HomeOptions): EnvSelection {
  let name = env;
  if (!name) {
    let envs: string[] = [];
    try {
      envs = fs.readdirSync(envsDir(home)).filter((e) => fs.existsSync(path.join(envsDir(home), e, 'state.json')));
    } catch {
      envs = [];
    }
    if (envs.length === 1) name = envs[0];
    else if (envs.length > 1) throw new UsageError(`Several environments exist (${envs.join(', ')}); status needs to know which.`, `Pass --env ${envs[0]} (or set CERTWRIGHT_ENV).`);
  }
  if (!name) return { env: null, state: undefined, stateFile: null, stateReason: `no environment exists under ${envsDir(home)}`, eventsFile: null };
  validateEnvName(name);
  const p = envPaths(name, home);
  const state = readStateReadOnly(p.stateFile);
  if (!state.state && !fs.existsSync(p.dir)) {
    let known: string[] = [];
    try {
      known = fs.readdirSync(envsDir(home));
    } catch {
      known = [];
    }
    state.reason = `environment "${name}" has no state under ${envsDir(home)}${known.length ? ` (known: ${known.join(', ')})` : ''}`;
  }
  return { env: name, state: state.state, stateFile: p.stateFile, ...(state.reason ? { stateReason: state.reason } : {}), eventsFile: p.events };
}

export function readStateReadOnly(file: string): { state?: EnvState; reason?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { reason: code === 'ENOENT' ? `${file} does not exist (no step has run in this environment)` : `${file} cannot be read (${code})` };
  }
  try {
    return { state: validateState(JSON.parse(text), file) };
  } catch (error) {
    if (error instanceof StateFileError) throw new OperatorError(error.message, error.fix);
    if (error instanceof SyntaxError) throw new OperatorError(`The state file ${file} is corrupt: it is not valid JSON.`, `Restore ${file} from a backup; status never rewrites it.`);
    throw error;
  }
}

function steps(state: EnvState | undefined): StepRecord[] {
  return state ? Object.values(state.steps).filter((s) => s.status === 'done') : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function rootCertificateFiles(state: EnvState | undefined): string[] {
  const out: string[] = [];
  for (const s of steps(state)) for (const a of s.artefacts) if (a.kind === 'root-certificate' || a.kind === 'root-certificate-copy') out.push(a.path);
  return [...new Set(out)];
}

export interface VaultFacts {
  addr?: string;
  caFile?: string;
  /** vault-https: the TLS dir Vault reads, the user (uid:gid) its container runs as. */
  tlsDir?: string;
  user?: string;
  outDir?: string;
  containerName?: string;
  runtime?: string;
}

export function vaultFacts(state: EnvState | undefined): VaultFacts {
  const https = state?.steps['vault-https'];
  const f = https?.status === 'done' ? https.facts : {};
  const out: VaultFacts = {};
  const addr = str(f.apiAddr) ?? state?.vault?.addr;
  if (addr) out.addr = addr;
  if (state?.vault?.caFile) out.caFile = state.vault.caFile;
  for (const k of ['tlsDir', 'user', 'outDir', 'containerName', 'runtime'] as const) {
    const v = str(f[k]);
    if (v) out[k] = v;
  }
  return out;
}

export function mountsOf(state: EnvState | undefined): string[] {
  const mounts = new Set<string>(Object.keys(state?.mounts ?? {}));
  for (const s of steps(state)) if (s.mount && /^(intermediate-|switch-urls)/.test(s.id)) mounts.add(s.mount);
  return [...mounts].sort();
}

export interface ManagedAgent {
  name: string;
  kind: string;
  mount: string | null;
  user: string | null;
  outDir: string;
  config: string;
  unit: string | null;
  tlsDir: string | null;
  caOut: string | null;
  ttlSeconds: number | null;
  stepKey: string;
}

function ttlSeconds(v: unknown): number | null {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /^(\d+)s$/.exec(v) : null;
  return m ? Number(m[1]) : null;
}

/** Agents recorded by `certwright agent app|proxy` (issue 4), plus --agent-config extras. */
export function agentsOf(state: EnvState | undefined, extraConfigs: string[] = []): ManagedAgent[] {
  const out: ManagedAgent[] = [];
  if (state) {
    for (const [key, s] of Object.entries(state.steps)) {
      if (s.status !== 'done' || !/^agent-(app|proxy)-/.test(s.id)) continue;
      const f = s.facts;
      const outDir = str(f.outDir);
      const hcl = s.artefacts.find((a) => a.kind === 'agent-agent.hcl')?.path ?? (outDir ? path.join(outDir, 'agent.hcl') : undefined);
      if (!hcl) continue;
      out.push({
        name: str(f.name) ?? s.id.replace(/^agent-(app|proxy)-/, ''),
        kind: str(f.kind) ?? (s.id.startsWith('agent-app-') ? 'app' : 'proxy'),
        mount: s.mount ?? null,
        user: str(f.user) ?? null,
        outDir: outDir ?? path.dirname(hcl),
        config: hcl,
        unit: str(f.unit) ?? null,
        tlsDir: str(f.tlsDir) ?? null,
        caOut: str(f.caOut) ?? null,
        ttlSeconds: ttlSeconds(f.ttl),
        stepKey: key,
      });
    }
  }
  for (const file of extraConfigs) {
    const config = path.resolve(file);
    if (out.some((a) => a.config === config)) continue;
    out.push({ name: path.basename(path.dirname(config)), kind: 'config', mount: null, user: null, outDir: path.dirname(config), config, unit: null, tlsDir: null, caOut: null, ttlSeconds: null, stepKey: '--agent-config' });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface ManagedFile {
  path: string;
  source: string;
  /** sha256 recorded when certwright wrote it (state artefacts). */
  sha256?: string;
  /** A key certwright wrote for this certificate. */
  keyFile?: string;
}

/**
 * Every certificate file the state names: artefacts that hold certificates (CSRs and keys are
 * left out), with the key written beside a leaf when the same step recorded one.
 */
export function certificateArtefacts(state: EnvState | undefined): ManagedFile[] {
  const out: ManagedFile[] = [];
  for (const s of steps(state)) {
    const keys = s.artefacts.filter((a) => /(^|-)key$/.test(a.kind) && !/root-key/.test(a.kind));
    for (const a of s.artefacts) {
      // One step may record several key + certificate pairs (a raft cluster's node directories).
      const key = keys.find((k) => path.dirname(k.path) === path.dirname(a.path)) ?? keys[0];
      if (/key|csr|hcl|ctmpl|service|json|script/.test(a.kind)) continue;
      if (!/\.(pem|crt|cer)$/i.test(a.path)) continue;
      const leafish = /server-certificate|leaf|^certificate$/.test(a.kind);
      out.push({ path: a.path, source: s.mount ? `${s.id}@${s.mount}` : s.id, sha256: a.sha256, ...(leafish && key ? { keyFile: key.path } : {}) });
    }
  }
  const seen = new Set<string>();
  return out.filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)));
}

/** The service users agents run as (issue 4's facts.user), without duplicates. */
export function serviceUsers(agents: ManagedAgent[], extra: string[]): string[] {
  return [...new Set([...agents.map((a) => a.user).filter((u): u is string => Boolean(u)), ...extra])].sort();
}

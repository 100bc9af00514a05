import path from 'node:path';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { applyTuning, tuningChanges } from '../vault/mount-health.js';
import { readCsr } from '../pki/certs.js';
import { vaultKeyParams, type KeyType } from '../pki/keys.js';
import { writeFileAtomic, planOutputDir, ensureOutputDir, sha256Hex, fileSha256, exists } from '../system/files.js';
import { check, type Check } from '../pki/checks.js';
import { humanDuration } from '../duration.js';
import { OperatorError, ExternalError } from '../errors.js';
import { beginStep, completeStep, setMount, setVault } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';
import fsp from 'node:fs/promises';

/**
 * intermediate-request (online) — the CSR of the environment's intermediate, generated in Vault.
 * plan reads: the mount (exists? max TTL), the key named certwright-ENV in it, the recorded step.
 * apply writes: the PKI mount (enabled and tuned before any key exists), one key in Vault (never a
 *   second one: a pending key is reused by name), the CSR file, the state's record.
 */
export const STEP_ID = 'intermediate-request';

export interface IntermediateRequestInput {
  mount: string;
  commonName: string;
  keyType: KeyType;
  maxTtlSeconds: number;
  csrOut: string;
}

export function intermediateKeyName(env: string): string {
  return `certwright-${env}-intermediate`;
}

interface RequestSituation {
  mount: pki.MountInfo | undefined;
  key: pki.PkiKey | undefined;
  keyHasIssuer: boolean;
}

async function situation(vault: VaultClient, env: string, mount: string): Promise<RequestSituation> {
  const info = await pki.readMount(vault, mount);
  if (info && info.type !== 'pki') {
    throw new OperatorError(`The mount ${mount} exists but is a ${info.type} engine, not PKI.`, 'Choose another --mount for the intermediate.');
  }
  const key = info ? await pki.readKey(vault, mount, intermediateKeyName(env)) : undefined;
  let keyHasIssuer = false;
  if (key) {
    for (const id of await pki.listIssuers(vault, mount)) {
      const issuer = await pki.readIssuer(vault, mount, id);
      if (issuer?.keyId === key.keyId) keyHasIssuer = true;
    }
  }
  return { mount: info, key, keyHasIssuer };
}

export async function planIntermediateRequest(session: EnvSession, vault: VaultClient, input: IntermediateRequestInput): Promise<Plan> {
  const createDir = await planOutputDir(path.dirname(path.resolve(input.csrOut)), '--csr-out directory');
  await vault.assertReady();
  const s = await situation(vault, session.env, input.mount);
  const plan = emptyPlan();
  plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Subject', `CN=${input.commonName}`], ['Key', input.keyType], ['Mount max TTL', humanDuration(input.maxTtlSeconds)]);
  if (!s.mount) plan.actions.push(`Enable the PKI engine at ${input.mount}/ with max lease TTL ${humanDuration(input.maxTtlSeconds)}`);
  else if (s.mount.maxLeaseTtlSeconds < input.maxTtlSeconds) plan.actions.push(`Raise ${input.mount}/ max lease TTL from ${humanDuration(s.mount.maxLeaseTtlSeconds)} to ${humanDuration(input.maxTtlSeconds)} (Vault would silently cap longer TTLs)`);
  const tune = s.mount ? await tuningChanges(vault, input.mount) : ['all'];
  if (tune.length) plan.actions.push(`Tune ${input.mount}/: audit logs show the PKI's non-secret fields (serials, names, certificates; keys stay HMACed), If-Modified-Since and Last-Modified pass through`);
  if (s.keyHasIssuer) {
    throw new OperatorError(`The intermediate key of environment "${session.env}" in ${input.mount}/ already has an installed certificate.`, `Nothing to request. Check it with \`certwright intermediate install\` or use another --mount.`);
  }
  if (createDir) plan.actions.push(createDir);
  if (s.key) plan.actions.push(`Reuse the pending key ${s.key.keyName} (${s.key.keyId}) and write its CSR to ${input.csrOut}`);
  else plan.actions.push(`Generate a ${input.keyType} key inside Vault and write its CSR to ${input.csrOut}`);
  return plan;
}

export interface IntermediateRequestResult {
  csrFile: string;
  csrSha256: string;
  keyId: string;
  reused: boolean;
  subject: string;
  key: string;
}

export async function applyIntermediateRequest(session: EnvSession, vault: VaultClient, input: IntermediateRequestInput, report: Reporter): Promise<IntermediateRequestResult> {
  await vault.assertReady();
  const s = await situation(vault, session.env, input.mount);
  if (s.keyHasIssuer) throw new OperatorError(`The intermediate key in ${input.mount}/ already has an installed certificate.`, 'Nothing to request.');
  const now = () => new Date();
  session.commit(setVault(session.state, vault.addr, session.state.vault?.caFile, now()));
  if (!s.mount) {
    await pki.enablePkiMount(vault, input.mount, input.maxTtlSeconds);
    report.done(`PKI engine enabled at ${input.mount}/ (max TTL ${humanDuration(input.maxTtlSeconds)})`);
  } else if (s.mount.maxLeaseTtlSeconds < input.maxTtlSeconds) {
    await pki.tuneMaxTtl(vault, input.mount, input.maxTtlSeconds);
    report.done(`${input.mount}/ max TTL raised to ${humanDuration(input.maxTtlSeconds)}`);
  }
  const tuned = await pki.readMount(vault, input.mount);
  if (!tuned || tuned.maxLeaseTtlSeconds < input.maxTtlSeconds) {
    throw new ExternalError(`${input.mount}/ max lease TTL is ${tuned ? humanDuration(tuned.maxLeaseTtlSeconds) : 'unknown'} after tuning, not ${humanDuration(input.maxTtlSeconds)}.`, 'Check the token may tune mounts (sys/mounts/*/tune) and that no system max is lower.');
  }
  session.commit(setMount(session.state, input.mount, { maxTtl: `${input.maxTtlSeconds}s` }, now()));
  const retuned = await applyTuning(vault, input.mount);
  if (retuned.length) report.done(`${input.mount}/ tuned: audit logs show the PKI's non-secret fields, If-Modified-Since/Last-Modified pass through (${retuned.join(', ')})`);
  const keyName = intermediateKeyName(session.env);
  let generated: { csr: string; keyId: string };
  let reused = false;
  if (s.key) {
    report.progress(`Reusing pending key ${keyName}`);
    generated = await pki.generateIntermediateCsr(vault, input.mount, { commonName: input.commonName, keyRef: s.key.keyId });
    reused = true;
  } else {
    report.progress(`Generating the intermediate key (${input.keyType}) inside Vault`);
    const { key_type, key_bits } = vaultKeyParams(input.keyType);
    generated = await pki.generateIntermediateCsr(vault, input.mount, { commonName: input.commonName, keyType: key_type, keyBits: key_bits, keyName });
  }
  // Record the key id before anything else can fail, so a resumed run reuses it.
  session.commit(beginStep(session.state, STEP_ID, input.mount, now(), { keyId: generated.keyId, keyName, commonName: input.commonName, keyType: input.keyType }));
  const info = await readCsr(generated.csr, 'the CSR from Vault');
  await ensureOutputDir(path.dirname(path.resolve(input.csrOut)));
  await writeFileAtomic(path.resolve(input.csrOut), generated.csr, { mode: 0o644 });
  const csrSha256 = sha256Hex(generated.csr);
  report.done(`CSR written to ${input.csrOut} (sha256 ${csrSha256})`);
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, now(), [{ kind: 'csr', path: path.resolve(input.csrOut), sha256: csrSha256 }], {
      keyId: generated.keyId,
      keyName,
      commonName: input.commonName,
      keyType: input.keyType,
      csrSha256,
    }),
  );
  return { csrFile: path.resolve(input.csrOut), csrSha256, keyId: generated.keyId, reused, subject: info.subject, key: info.keyDescription };
}

/** Re-checks a completed request: the key still exists in Vault, the CSR file is unchanged. */
export async function verifyIntermediateRequest(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const record = session.state.steps[stepKey(STEP_ID, mount)];
  if (!record) return [check('request recorded', false, `no intermediate-request step for ${mount}`)];
  const checks: Check[] = [];
  const keyId = String(record.facts.keyId ?? '');
  const key = keyId ? await pki.readKey(vault, mount, keyId) : undefined;
  checks.push(check('intermediate key exists in Vault', key !== undefined, key ? `${mount}/key/${keyId}` : `key ${keyId} is gone from ${mount}/ (deleted, or another Vault)`));
  for (const artefact of record.artefacts) {
    if (!(await exists(artefact.path))) {
      checks.push(check('CSR file present', true, `${artefact.path} was removed; it can be written again from the same key`));
      continue;
    }
    const sha = await fileSha256(artefact.path);
    checks.push(check('CSR file unchanged', sha === artefact.sha256, sha === artefact.sha256 ? artefact.path : `${artefact.path} changed since it was written`));
  }
  return checks;
}

export async function readPendingCsr(file: string): Promise<string> {
  return fsp.readFile(file, 'utf8');
}

import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { caFacts } from '../pki/certs.js';
import { parseCertificates, certPem, fingerprint, samePublicKey } from '../pki/pem.js';
import { verifyChain, allOk, failed, check, type Check } from '../pki/verify.js';
import { issuedBy, isSelfSigned } from '../pki/chain.js';
import { certificateName, sameName } from '../pki/subject-hash.js';
import { sha256Hex } from '../system/files.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import { appendTranscript } from '../../state/transcript.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

/**
 * cross-sign-install (online) — the intermediate as signed by a second root goes into the mount as
 * an additional issuer; the default issuer does not change.
 * plan reads: the twin certificate and its root (chain checked), the mount's issuers: the one with
 *   the same key (its public key and subject must equal the twin's), whether the twin is in already.
 * apply writes: twin + its root as issuers (issuers/import/cert, certificates only; the default is
 *   checked before and after and put back if Vault moved it), manual_chain on every twin so each
 *   hands out both paths (the issue response then carries both intermediates: build-cert needs
 *   no second round trip), an issuer name for the twin, the state's record, a transcript line.
 */
export const STEP_ID = 'cross-sign-install';

export interface CrossSignInstallInput {
  mount: string;
  certPem: string;
  rootPem: string;
  /** For messages and the state record. */
  certFile: string;
  rootFile: string;
}

interface Loaded {
  cert: X509Certificate;
  root: X509Certificate;
}

interface MountIssuer {
  id: string;
  name: string;
  keyId: string;
  cert: X509Certificate;
  manualChain: string[];
}

function load(input: CrossSignInstallInput): Loaded {
  const cert = parseCertificates(input.certPem, input.certFile)[0]!;
  const roots = parseCertificates(input.rootPem, input.rootFile);
  const root = roots.find((r) => isSelfSigned(r) && issuedBy(cert, r)) ?? roots[roots.length - 1]!;
  if (!isSelfSigned(root) || !caFacts(root).isCa) {
    throw new OperatorError(`${input.rootFile} is not a self-signed root CA certificate.`, 'Pass the second root\'s root-ca.pem as --root.');
  }
  const checks = verifyChain([cert], root);
  if (!allOk(checks)) {
    throw new OperatorError(`${input.certFile} does not chain to ${input.rootFile}: ${failed(checks).map((c) => c.name).join('; ')}.`, 'Pass the root that signed the cross-sign CSR (--root).');
  }
  if (!caFacts(cert).isCa) throw new OperatorError(`${input.certFile} is not a CA certificate.`, 'Pass the certificate `certwright cross-sign sign` wrote.');
  return { cert, root };
}

async function mountIssuers(vault: VaultClient, mount: string): Promise<MountIssuer[]> {
  const out: MountIssuer[] = [];
  for (const id of await pki.listIssuers(vault, mount)) {
    const d = await pki.readIssuerDetail(vault, mount, id);
    if (d) out.push({ id, name: d.issuerName, keyId: d.keyId, cert: parseCertificates(d.certificate, `${mount} issuer ${id}`)[0]!, manualChain: d.manualChain });
  }
  return out;
}

/** The issuer with the intermediate key this twin was made for: the default issuer when it matches. */
function findOriginal(issuers: MountIssuer[], defaultId: string | undefined, cert: X509Certificate): MountIssuer | undefined {
  const candidates = issuers.filter((i) => i.keyId && samePublicKey(i.cert, cert) && i.cert.fingerprint256 !== cert.fingerprint256);
  return candidates.find((i) => i.id === defaultId) ?? candidates[0];
}

export async function planCrossSignInstall(vault: VaultClient, input: CrossSignInstallInput): Promise<Plan & { loaded: Loaded; original: MountIssuer; existing: MountIssuer | undefined }> {
  const loaded = load(input);
  await vault.assertReady();
  const mount = await pki.readMount(vault, input.mount);
  if (!mount || mount.type !== 'pki') throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Pass the mount of the intermediate that was cross-signed.');
  const issuers = await mountIssuers(vault, input.mount);
  const defaultId = await pki.readDefaultIssuer(vault, input.mount);
  const original = findOriginal(issuers, defaultId, loaded.cert);
  if (!original) {
    throw new OperatorError(`${input.certFile} carries a public key that no intermediate in ${input.mount}/ holds.`, 'Install the certificate signed from this mount\'s cross-sign CSR (certwright cross-sign request), or pass the right --mount.');
  }
  if (!sameName(certificateName(loaded.cert), certificateName(original.cert))) {
    throw new OperatorError(
      `${input.certFile} has the subject ${loaded.cert.subject.replace(/\n/g, ', ')}, not the intermediate's ${original.cert.subject.replace(/\n/g, ', ')}: leaves would not chain through it.`,
      'Sign the CSR from `certwright cross-sign request` (it repeats the subject exactly) and install that.',
    );
  }
  if (issuedBy(original.cert, loaded.root)) {
    throw new OperatorError(`${input.rootFile} is the root that already signed the intermediate; a cross-signature needs a second root.`, 'Sign the cross-sign CSR with the other environment\'s root (--root-dir of that root).');
  }
  const existing = issuers.find((i) => i.cert.fingerprint256 === loaded.cert.fingerprint256);
  const plan = { ...emptyPlan(), loaded, original, existing };
  const pathLen = caFacts(loaded.cert).pathLen;
  const origPathLen = caFacts(original.cert).pathLen;
  plan.facts.push(
    ['Vault', vault.addr],
    ['Mount', input.mount],
    ['Intermediate', `${original.cert.subject.replace(/\n/g, ', ')} (issuer ${original.id}, key ${original.keyId})`],
    ['Twin signed by', `${loaded.root.subject.replace(/\n/g, ', ')} (${fingerprint(loaded.root)})`],
    ['Same public key', 'yes'],
    ['Same subject', 'yes'],
    ['Default issuer', `${defaultId ?? 'none'} (unchanged)`],
  );
  if (pathLen !== origPathLen) plan.warnings.push(`The twin has pathlen ${pathLen ?? 'unlimited'}, the intermediate ${origPathLen ?? 'unlimited'}: chains through the two roots allow different depths below.`);
  if (new Date(loaded.cert.validTo) < new Date(original.cert.validTo)) plan.warnings.push(`The twin ends ${loaded.cert.validTo}, before the intermediate (${original.cert.validTo}): the second trust path ends first.`);
  if (!existing) plan.actions.push(`Import the twin and its root into ${input.mount}/ as additional issuers (default unchanged)`);
  plan.actions.push('Point manual_chain of each twin at both paths, so issued certificates come with both intermediates');
  return plan;
}

/** Ids of issuer, then its parents inside the mount (by signature), up to a self-signed one. */
function pathInMount(start: MountIssuer, issuers: MountIssuer[]): MountIssuer[] {
  const out = [start];
  let current = start;
  for (let depth = 0; depth < 8 && !isSelfSigned(current.cert); depth += 1) {
    const parent = issuers.find((i) => !out.includes(i) && issuedBy(current.cert, i.cert));
    if (!parent) break;
    out.push(parent);
    current = parent;
  }
  return out;
}

export function manualChains(issuers: MountIssuer[], keyId: string, defaultId: string | undefined): Map<string, string[]> {
  const twins = issuers.filter((i) => i.keyId === keyId && !isSelfSigned(i.cert));
  // The default issuer's path first for every other twin, then the rest in a stable order.
  twins.sort((a, b) => (a.id === defaultId ? -1 : b.id === defaultId ? 1 : a.id.localeCompare(b.id)));
  const paths = new Map(twins.map((t) => [t.id, pathInMount(t, issuers).map((i) => i.id)]));
  const chains = new Map<string, string[]>();
  for (const twin of twins) {
    const own = paths.get(twin.id)!;
    const others = twins.filter((t) => t.id !== twin.id).flatMap((t) => paths.get(t.id)!);
    chains.set(twin.id, ['self', ...own.slice(1), ...others.filter((id) => !own.includes(id))]);
  }
  return chains;
}

export interface CrossSignInstallResult {
  issuerId: string;
  originalIssuerId: string;
  rootIssuerId: string | undefined;
  defaultIssuerId: string | undefined;
  fingerprint: string;
  imported: boolean;
  manualChain: string[];
  checks: Check[];
}

export async function applyCrossSignInstall(session: EnvSession, vault: VaultClient, input: CrossSignInstallInput, report: Reporter): Promise<CrossSignInstallResult> {
  const plan = await planCrossSignInstall(vault, input);
  const { loaded, original } = plan;
  const defaultBefore = await pki.readDefaultIssuer(vault, input.mount);
  let imported = false;
  if (!plan.existing) {
    report.progress(`Importing the twin into ${input.mount}/`);
    await pki.importIssuerCertificates(vault, input.mount, `${certPem(loaded.cert)}${certPem(loaded.root)}`);
    imported = true;
    const defaultAfter = await pki.readDefaultIssuer(vault, input.mount);
    if (defaultBefore && defaultAfter !== defaultBefore) {
      await pki.setDefaultIssuer(vault, input.mount, defaultBefore);
      report.warn(`Vault moved the default issuer to ${defaultAfter}; it was put back to ${defaultBefore}.`);
    }
  }
  let issuers = await mountIssuers(vault, input.mount);
  const twin = issuers.find((i) => i.cert.fingerprint256 === loaded.cert.fingerprint256);
  if (!twin) throw new ExternalError(`Vault accepted the import but ${input.mount}/ lists no issuer with the twin's certificate.`);
  if (twin.keyId !== original.keyId) {
    throw new ExternalError(`Vault did not tie the twin (issuer ${twin.id}) to the intermediate's key ${original.keyId} (it has "${twin.keyId}").`, 'The certificate is not for this mount\'s key; remove the issuer (bao delete MOUNT/issuer/ID) and install the right one.');
  }
  if (imported) report.done(`Twin imported as issuer ${twin.id}, on the same key ${twin.keyId}`);
  const rootIssuer = issuers.find((i) => i.cert.fingerprint256 === loaded.root.fingerprint256);
  if (!twin.name) {
    await pki.patchIssuer(vault, input.mount, twin.id, { issuer_name: `xsign-${loaded.root.fingerprint256.replace(/:/g, '').slice(0, 12).toLowerCase()}` });
  }
  const chains = manualChains(issuers, original.keyId, defaultBefore);
  for (const [id, chain] of chains) {
    const current = issuers.find((i) => i.id === id)!.manualChain;
    const want = chain.map((c) => (c === 'self' ? id : c));
    if (JSON.stringify(current) !== JSON.stringify(want)) {
      await pki.patchIssuer(vault, input.mount, id, { manual_chain: chain });
      report.done(`manual_chain of issuer ${id} now lists both paths (${chain.length} issuers)`);
    }
  }
  issuers = await mountIssuers(vault, input.mount);
  const checks = await verifyTwin(vault, input.mount, twin.id, original.id, loaded.root, defaultBefore);
  if (!allOk(checks)) throw new ExternalError(`The twin in ${input.mount}/ does not verify after install: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}.`);
  const key = stepKey(STEP_ID, input.mount);
  const prev = session.state.steps[key];
  const rootFp = fingerprint(loaded.root);
  const roots = [...new Set([...((prev?.facts.roots as string[] | undefined) ?? []), rootFp])];
  const twins = [...new Set([...((prev?.facts.twins as string[] | undefined) ?? []), twin.id])];
  // The file recorded when the twin was installed stays the record (a re-verification may come from Vault).
  const known = (prev?.artefacts ?? []).some((a) => a.fingerprint === fingerprint(loaded.cert));
  const artefacts = known
    ? (prev?.artefacts ?? [])
    : [...(prev?.artefacts ?? []), { kind: 'cross-signed-intermediate', path: path.resolve(input.certFile), sha256: sha256Hex(certPem(loaded.cert)), fingerprint: fingerprint(loaded.cert) }];
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, new Date(), artefacts, {
      originalIssuerId: original.id,
      keyId: original.keyId,
      defaultIssuerId: defaultBefore ?? '',
      roots,
      twins,
      [`twin:${rootFp}`]: twin.id,
    }),
  );
  if (imported) {
    appendTranscript(session.paths.transcript, 'cross-sign-install', {
      env: session.env,
      mount: input.mount,
      issuerId: twin.id,
      keyId: twin.keyId,
      subject: loaded.cert.subject.replace(/\n/g, ', '),
      serial: loaded.cert.serialNumber,
      notAfter: new Date(loaded.cert.validTo).toISOString(),
      twinSha256Fingerprint: fingerprint(loaded.cert),
      originalSha256Fingerprint: fingerprint(original.cert),
      rootSha256Fingerprint: rootFp,
    });
  }
  report.done(`Twin verified: same key and subject as ${original.id}, chains to ${loaded.root.subject.replace(/\n/g, ', ')}; default issuer unchanged`);
  return {
    issuerId: twin.id,
    originalIssuerId: original.id,
    rootIssuerId: rootIssuer?.id,
    defaultIssuerId: defaultBefore,
    fingerprint: fingerprint(loaded.cert),
    imported,
    manualChain: issuers.find((i) => i.id === original.id)?.manualChain ?? [],
    checks,
  };
}

/** What Vault holds must be the twin we installed, beside an unchanged default. */
export async function verifyTwin(vault: VaultClient, mount: string, twinId: string, originalId: string, root: X509Certificate, defaultId: string | undefined): Promise<Check[]> {
  const twin = await pki.readIssuerDetail(vault, mount, twinId);
  const original = await pki.readIssuerDetail(vault, mount, originalId);
  const checks: Check[] = [check('twin issuer present', twin !== undefined, `${mount}/issuer/${twinId}`), check('intermediate issuer present', original !== undefined, `${mount}/issuer/${originalId}`)];
  if (!twin || !original) return checks;
  const t = parseCertificates(twin.certificate, 'twin')[0]!;
  const o = parseCertificates(original.certificate, 'intermediate')[0]!;
  checks.push(check('same key in Vault', twin.keyId !== '' && twin.keyId === original.keyId, twin.keyId || 'no key'));
  checks.push(check('same public key', samePublicKey(t, o), 'SubjectPublicKeyInfo compared'));
  checks.push(check('same subject', sameName(certificateName(t), certificateName(o)), t.subject.replace(/\n/g, ', ')));
  checks.push(...verifyChain([t], root));
  checks.push(check('default issuer unchanged', defaultId === undefined || (await pki.readDefaultIssuer(vault, mount)) === defaultId, defaultId ?? 'none'));
  checks.push(check('intermediate hands out both paths', original.manualChain.includes(twinId), `manual_chain ${original.manualChain.join(', ') || 'unset'}`));
  return checks;
}

/** Re-checks a completed install from state. */
export async function verifyCrossSignInstall(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const record = session.state.steps[stepKey(STEP_ID, mount)];
  if (!record) return [check('cross-sign install recorded', false, `no cross-sign-install step for ${mount}`)];
  const checks: Check[] = [];
  for (const rootFp of (record.facts.roots as string[] | undefined) ?? []) {
    const twinId = String(record.facts[`twin:${rootFp}`] ?? '');
    const twin = await pki.readIssuerDetail(vault, mount, twinId);
    if (!twin) {
      checks.push(check('twin issuer present', false, `issuer ${twinId} is gone from ${mount}/`));
      continue;
    }
    const root = twin.caChain.map((p, i) => parseCertificates(p, `chain ${i}`)[0]!).find((c) => c.fingerprint256 === rootFp);
    if (!root) {
      checks.push(check('twin root in chain', false, `the chain of ${twinId} no longer reaches ${rootFp}`));
      continue;
    }
    checks.push(...(await verifyTwin(vault, mount, twinId, String(record.facts.originalIssuerId), root, String(record.facts.defaultIssuerId) || undefined)));
  }
  return checks;
}

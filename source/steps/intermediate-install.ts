import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { applyUpkeep, describeUpkeep, upkeepChanges } from '../vault/mount-health.js';
import { readCsr, caFacts } from '../pki/certs.js';
import { parseCertificate, parseCertificates, certPem, fingerprint } from '../pki/pem.js';
import { verifyChain, allOk, failed, check, type Check } from '../pki/verify.js';
import { writeFileAtomic, readTextFile, assertWritableDir, sha256Hex } from '../system/files.js';
import { OperatorError, ExternalError } from '../errors.js';
import { completeStep, setMount, setVault } from '../../state/transitions.js';
import { stepKey } from '../../state/schema.js';
import { intermediateKeyName, STEP_ID as REQUEST_STEP } from './intermediate-request.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

/**
 * intermediate-install (online) — the signed intermediate goes into Vault.
 * plan reads: the certificate and root files, the mount's pending key (its public key must be the
 *   certificate's), the mount's issuers and URLs.
 * apply writes: intermediate + root as issuers (set-signed), the default issuer (explicitly), the
 *   issuing-certificate and CRL URLs, the mount's upkeep (CRL auto-rebuild, auto-tidy, a first
 *   tidy: vault/mount-health.ts), DIR/root-ca.pem in the Vault TLS dir, the state's record.
 */
export const STEP_ID = 'intermediate-install';

export interface IntermediateInstallInput {
  mount: string;
  certFile: string;
  rootFile: string;
  aiaBase?: string | undefined;
  vaultTlsDir?: string | undefined;
}

interface Loaded {
  cert: X509Certificate;
  root: X509Certificate;
  certPem: string;
  rootPem: string;
}

async function load(input: IntermediateInstallInput): Promise<Loaded> {
  const certText = await readTextFile(input.certFile, '--cert');
  const rootText = await readTextFile(input.rootFile, '--root');
  const cert = parseCertificate(certText, input.certFile);
  const roots = parseCertificates(rootText, input.rootFile);
  const root = roots[roots.length - 1]!;
  if (!root.checkIssued(root) || !caFacts(root).isCa) {
    throw new OperatorError(`${input.rootFile} is not a self-signed root CA certificate.`, 'Pass the root-ca.pem that `certwright root create` wrote as --root.');
  }
  const checks = verifyChain([cert], root);
  if (!allOk(checks)) {
    throw new OperatorError(`${input.certFile} does not chain to ${input.rootFile}: ${failed(checks).map((c) => c.name).join('; ')}.`, 'Pass the root that signed this intermediate (--root), or sign the CSR again with `certwright intermediate sign`.');
  }
  if (!caFacts(cert).isCa) throw new OperatorError(`${input.certFile} is not a CA certificate.`, 'Pass the certificate `certwright intermediate sign` wrote.');
  return { cert, root, certPem: certPem(cert), rootPem: certPem(root) };
}

async function findIssuerFor(vault: VaultClient, mount: string, cert: X509Certificate): Promise<pki.IssuerInfo | undefined> {
  const want = fingerprint(cert);
  for (const id of await pki.listIssuers(vault, mount)) {
    const issuer = await pki.readIssuer(vault, mount, id);
    if (!issuer) continue;
    try {
      if (fingerprint(parseCertificate(issuer.certificate, `issuer ${id}`)) === want) return issuer;
    } catch {
      /* an issuer we cannot parse is not ours */
    }
  }
  return undefined;
}

/** The public key of the mount's pending intermediate key, asked of Vault without making a key. */
async function pendingKeyMatches(session: EnvSession, vault: VaultClient, mount: string, cert: X509Certificate): Promise<{ keyId: string } | undefined> {
  const key = await pki.readKey(vault, mount, intermediateKeyName(session.env));
  const candidates = key ? [key.keyId] : [];
  const recorded = session.state.steps[stepKey(REQUEST_STEP, mount)]?.facts.keyId;
  if (typeof recorded === 'string' && !candidates.includes(recorded)) candidates.push(recorded);
  for (const keyRef of candidates) {
    if (!(await pki.readKey(vault, mount, keyRef))) continue;
    const { csr } = await pki.generateIntermediateCsr(vault, mount, { commonName: 'certwright key check', keyRef });
    const info = await readCsr(csr, 'the key check CSR from Vault');
    if (info.spkiDer.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) return { keyId: keyRef };
  }
  return undefined;
}

export async function planIntermediateInstall(session: EnvSession, vault: VaultClient, input: IntermediateInstallInput): Promise<Plan & { loaded: Loaded }> {
  const loaded = await load(input);
  if (input.vaultTlsDir) await assertWritableDir(input.vaultTlsDir, '--vault-tls-dir');
  await vault.assertReady();
  const mount = await pki.readMount(vault, input.mount);
  if (!mount || mount.type !== 'pki') {
    throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Run `certwright intermediate request` for this mount first (it enables the mount and makes the key).');
  }
  const plan = { ...emptyPlan(), loaded };
  plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Intermediate', `${loaded.cert.subject.replace(/\n/g, ', ')} (${fingerprint(loaded.cert)})`], ['Root', `${loaded.root.subject.replace(/\n/g, ', ')} (${fingerprint(loaded.root)})`]);
  const existing = await findIssuerFor(vault, input.mount, loaded.cert);
  if (!existing) {
    const match = await pendingKeyMatches(session, vault, input.mount, loaded.cert);
    if (!match) {
      throw new OperatorError(`${input.certFile} was not issued for a key in ${input.mount}/: its public key matches no pending intermediate key there.`, 'Install the certificate signed from this mount\'s CSR (the one `certwright intermediate request` wrote), or pass the right --mount.');
    }
    plan.actions.push(`Import the intermediate and the root into ${input.mount}/ (intermediate/set-signed)`);
  }
  const defaultId = await pki.readDefaultIssuer(vault, input.mount);
  if (!existing || defaultId !== existing.issuerId) plan.actions.push('Make the intermediate the default issuer');
  const base = input.aiaBase ?? vault.addr;
  const want = pki.aiaUrls(base, input.mount);
  const urls = await pki.readUrls(vault, input.mount);
  if (JSON.stringify(urls) !== JSON.stringify(want)) plan.actions.push(`Set issuing-certificate and CRL URLs under ${base}`);
  plan.actions.push(...describeUpkeep(await upkeepChanges(vault, input.mount)));
  if (input.vaultTlsDir) plan.actions.push(`Copy the public root to ${path.join(input.vaultTlsDir, 'root-ca.pem')}`);
  return plan;
}

export interface InstallResult {
  issuerId: string;
  keyId: string;
  importedIssuers: number;
  fingerprint: string;
  checks: Check[];
}

export async function applyIntermediateInstall(session: EnvSession, vault: VaultClient, input: IntermediateInstallInput, report: Reporter): Promise<InstallResult> {
  const plan = await planIntermediateInstall(session, vault, input);
  const { loaded } = plan;
  session.commit(setVault(session.state, vault.addr, session.state.vault?.caFile, new Date()));
  let issuer = await findIssuerFor(vault, input.mount, loaded.cert);
  let imported = 0;
  if (!issuer) {
    report.progress(`Importing the intermediate into ${input.mount}/`);
    const result = await pki.setSigned(vault, input.mount, `${loaded.certPem}${loaded.rootPem}`);
    imported = result.imported.length;
    issuer = await findIssuerFor(vault, input.mount, loaded.cert);
    if (!issuer) throw new ExternalError(`Vault accepted the import but ${input.mount}/ has no issuer with the intermediate's certificate.`);
    report.done(`Intermediate imported as issuer ${issuer.issuerId}`);
  }
  if (!issuer.keyId) {
    throw new ExternalError(`The intermediate issuer ${issuer.issuerId} in ${input.mount}/ has no key: Vault did not match it to the pending key.`, 'The certificate was signed for another CSR. Sign this mount\'s CSR and install that certificate.');
  }
  if ((await pki.readDefaultIssuer(vault, input.mount)) !== issuer.issuerId) {
    await pki.setDefaultIssuer(vault, input.mount, issuer.issuerId);
    report.done('Intermediate set as the default issuer');
  }
  const base = (input.aiaBase ?? vault.addr).replace(/\/+$/, '');
  const want = pki.aiaUrls(base, input.mount);
  if (JSON.stringify(await pki.readUrls(vault, input.mount)) !== JSON.stringify(want)) {
    await pki.writeUrls(vault, input.mount, want);
    report.done(`AIA and CRL URLs set under ${base}`);
  }
  for (const done of await applyUpkeep(vault, input.mount)) report.done(`${input.mount}/: ${done.charAt(0).toLowerCase()}${done.slice(1)}`);
  const artefacts = [{ kind: 'intermediate-certificate', path: path.resolve(input.certFile), sha256: sha256Hex(loaded.certPem), fingerprint: fingerprint(loaded.cert) }];
  if (input.vaultTlsDir) {
    const target = path.join(path.resolve(input.vaultTlsDir), 'root-ca.pem');
    await writeFileAtomic(target, loaded.rootPem, { mode: 0o644 });
    artefacts.push({ kind: 'root-certificate-copy', path: target, sha256: sha256Hex(loaded.rootPem), fingerprint: fingerprint(loaded.root) });
    report.done(`Public root copied to ${target}`);
  }
  const checks = await verifyInstalled(vault, input.mount, issuer.issuerId, loaded.cert, loaded.root);
  if (!allOk(checks)) {
    throw new ExternalError(`The intermediate in ${input.mount}/ does not verify after install: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}.`);
  }
  session.commit(setMount(session.state, input.mount, { aiaBase: base }, new Date()));
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, new Date(), artefacts, {
      issuerId: issuer.issuerId,
      keyId: issuer.keyId,
      intermediateFingerprint: fingerprint(loaded.cert),
      rootFingerprint: fingerprint(loaded.root),
      notAfter: new Date(loaded.cert.validTo).toISOString(),
      aiaBase: base,
    }),
  );
  report.done('Chain verified: intermediate -> root');
  return { issuerId: issuer.issuerId, keyId: issuer.keyId, importedIssuers: imported, fingerprint: fingerprint(loaded.cert), checks };
}

/** What Vault holds must be what we installed: default issuer, key, chain up to the root. */
export async function verifyInstalled(vault: VaultClient, mount: string, issuerId: string, cert: X509Certificate, root: X509Certificate): Promise<Check[]> {
  const checks: Check[] = [];
  const issuer = await pki.readIssuer(vault, mount, issuerId);
  checks.push(check('issuer present', issuer !== undefined, `${mount}/issuer/${issuerId}`));
  if (!issuer) return checks;
  checks.push(check('issuer has its key', issuer.keyId !== '', issuer.keyId || 'no key'));
  checks.push(check('issuer certificate is the signed intermediate', fingerprint(parseCertificate(issuer.certificate, 'issuer')) === fingerprint(cert), fingerprint(cert)));
  checks.push(check('default issuer', (await pki.readDefaultIssuer(vault, mount)) === issuerId, issuerId));
  const chainPem = await pki.readCaChainPem(vault, mount);
  const chain = chainPem.includes('BEGIN CERTIFICATE') ? parseCertificates(chainPem, `${mount}/ca_chain`) : [];
  const rootInChain = chain.some((c) => fingerprint(c) === fingerprint(root));
  checks.push(check('chain handed out includes the root', rootInChain, `${chain.length} certificate(s) in ${mount}/ca_chain`));
  checks.push(...verifyChain([cert], root));
  return checks;
}

/** Re-checks a completed install from state: issuer, default, chain. */
export async function verifyIntermediateInstall(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const record = session.state.steps[stepKey(STEP_ID, mount)];
  if (!record) return [check('install recorded', false, `no intermediate-install step for ${mount}`)];
  const artefact = record.artefacts.find((a) => a.kind === 'intermediate-certificate');
  const issuerId = String(record.facts.issuerId ?? '');
  const issuer = await pki.readIssuer(vault, mount, issuerId);
  if (!issuer) return [check('issuer present', false, `issuer ${issuerId} is gone from ${mount}/ in ${vault.addr}`)];
  const cert = parseCertificate(issuer.certificate, 'issuer');
  const chain = issuer.caChain.map((p, i) => parseCertificate(p, `chain ${i}`));
  const root = chain.find((c) => c.checkIssued(c));
  const checks: Check[] = [check('issuer certificate unchanged', fingerprint(cert) === artefact?.fingerprint, fingerprint(cert))];
  if (!root) return [...checks, check('root in chain', false, 'the issuer chain has no root')];
  return [...checks, ...(await verifyInstalled(vault, mount, issuerId, cert, root))];
}

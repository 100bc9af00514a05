import path from 'node:path';
import fsp from 'node:fs/promises';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { caFacts } from '../pki/certs.js';
import { parseCertificates, certPem, fingerprint, samePublicKey } from '../pki/pem.js';
import { issuedBy } from '../pki/chain.js';
import { rootPaths } from '../paths.js';
import { ensureDir, sha256Hex, exists } from '../system/files.js';
import { OperatorError } from '../errors.js';
import { completeStep } from '../../state/transitions.js';
import { appendTranscript } from '../../state/transcript.js';
import { applyIntermediateSign, planIntermediateSign, readRoot } from './intermediate-sign.js';
import { applyCrossSignRequest, readOriginal } from './cross-sign-request.js';
import { applyCrossSignInstall, type CrossSignInstallResult } from './cross-sign-install.js';
import { noUnlock, unlockFacts, type RootUnlock } from './root-unlock.js';
import type { EnvSession, Reporter } from './context.js';

/**
 * cross-sign (one machine: lab, rehearsal) — request, offline signature by the second root (the
 * foundation's intermediate signer, called as is), install. Each part is skipped when done, so a
 * killed run resumes; a twin from this root already in the mount is only re-verified.
 */
export const SIGN_STEP_ID = 'cross-sign-sign';

export interface CrossSignPipelineInput {
  mount: string;
  rootDir: string;
  /** Where the twin certificate goes (default: the environment's artefacts). */
  outFile?: string | undefined;
}

export interface CrossSignPipelineResult extends CrossSignInstallResult {
  certFile: string;
  alreadyInstalled: boolean;
}

/** The profile the twin gets: the intermediate's pathlen and name constraints, never past either end. */
export function twinProfile(original: { cert: import('node:crypto').X509Certificate; pathLen: number | undefined; permittedDns: string[]; permittedIps: string[]; excludedDns: string[] }, root: import('node:crypto').X509Certificate, now = new Date()) {
  const end = Math.min(new Date(original.cert.validTo).getTime(), new Date(root.validTo).getTime());
  // A margin, because the signer measures "now" again and refuses a TTL past the root's end.
  const ttlSeconds = Math.floor((end - now.getTime()) / 1000) - 300;
  const rootPathLen = caFacts(root).pathLen;
  const pathLen = original.pathLen ?? (rootPathLen !== undefined ? Math.max(0, rootPathLen - 1) : 0);
  const some = (list: string[]) => (list.length ? list : undefined);
  return { ttlSeconds, pathLen, permittedDns: some(original.permittedDns), permittedIps: some(original.permittedIps), excludedDns: some(original.excludedDns) };
}

export async function runCrossSignPipeline(session: EnvSession, vault: VaultClient, input: CrossSignPipelineInput, getUnlock: () => Promise<RootUnlock>, report: Reporter): Promise<CrossSignPipelineResult> {
  const root = await readRoot(input.rootDir);
  const rootFile = rootPaths(input.rootDir).cert;
  await vault.assertReady();
  const original = await readOriginal(vault, input.mount);
  // Already there? Then only re-verify (and repair manual_chain), no passphrase needed.
  for (const id of await pki.listIssuers(vault, input.mount)) {
    const d = await pki.readIssuerDetail(vault, input.mount, id);
    if (!d) continue;
    const cert = parseCertificates(d.certificate, `${input.mount} issuer ${id}`)[0]!;
    if (cert.fingerprint256 !== original.cert.fingerprint256 && samePublicKey(cert, original.cert) && issuedBy(cert, root.cert)) {
      report.info(`${input.mount}/ already holds the intermediate as signed by ${root.cert.subject.replace(/\n/g, ', ')} (issuer ${id}); re-verifying.`);
      const result = await applyCrossSignInstall(session, vault, { mount: input.mount, certPem: certPem(cert), rootPem: root.pem, certFile: `${input.mount}/issuer/${id}`, rootFile }, report);
      return { ...result, certFile: input.outFile ? path.resolve(input.outFile) : `${input.mount}/issuer/${id}`, alreadyInstalled: true };
    }
  }
  const slug = `${input.mount.replace(/\//g, '_')}-cross-${root.cert.fingerprint256.replace(/:/g, '').slice(0, 12).toLowerCase()}`;
  await ensureDir(session.paths.artefacts, 0o700);
  const csrFile = path.join(session.paths.artefacts, `${slug}.csr`);
  const certFile = path.resolve(input.outFile ?? path.join(session.paths.artefacts, `${slug}.pem`));
  if (!(await exists(certFile))) await applyCrossSignRequest(session, vault, { mount: input.mount, csrOut: csrFile }, report);
  else if (!(await exists(csrFile))) throw new OperatorError(`${certFile} exists but its CSR ${csrFile} does not.`, 'Move the certificate away and run the command again, or install it with `certwright cross-sign install`.');
  const profile = twinProfile(original, root.cert);
  if (profile.ttlSeconds <= 0) throw new OperatorError(`The intermediate or the root ends within minutes; there is nothing left to cross-sign.`, 'Renew the intermediate (or the root) first.');
  if (original.pathLen === undefined) report.warn(`The intermediate has no path length limit; the twin gets pathlen ${profile.pathLen}.`);
  const signInput = { rootDir: input.rootDir, csrFile, outFile: certFile, ttlSeconds: profile.ttlSeconds, pathLen: profile.pathLen, permittedDns: profile.permittedDns, permittedIps: profile.permittedIps, excludedDns: profile.excludedDns };
  const signPlan = await planIntermediateSign(signInput);
  const unlock = signPlan.existing ? noUnlock() : await getUnlock();
  // The foundation's offline signer, unchanged; without a session so that it does not overwrite
  // the intermediate's own sign record. The cross-signature gets its own record and transcript line.
  let signed;
  try {
    signed = await applyIntermediateSign(signInput, unlock, report);
  } finally {
    unlock.passphrase.fill(0);
  }
  if (!signed.alreadySigned) {
    const csrSha256 = sha256Hex(await fsp.readFile(csrFile));
    session.commit(
      completeStep(session.state, SIGN_STEP_ID, input.mount, new Date(), [{ kind: 'cross-signed-intermediate', path: certFile, sha256: sha256Hex(await fsp.readFile(certFile, 'utf8')), fingerprint: signed.fingerprint }], {
        serial: signed.serial,
        notAfter: signed.notAfter,
        pathLen: profile.pathLen,
        csrSha256,
        rootFingerprint: fingerprint(root.cert),
      }),
    );
    appendTranscript(session.paths.transcript, 'cross-sign-sign', {
      env: session.env,
      mount: input.mount,
      subject: original.subject,
      csrSha256,
      serial: signed.serial,
      notAfter: signed.notAfter,
      pathLen: profile.pathLen,
      twinSha256Fingerprint: signed.fingerprint,
      rootSha256Fingerprint: fingerprint(root.cert),
      ...unlockFacts(unlock),
    });
  }
  const result = await applyCrossSignInstall(session, vault, { mount: input.mount, certPem: await fsp.readFile(certFile, 'utf8'), rootPem: root.pem, certFile, rootFile }, report);
  return { ...result, certFile, alreadyInstalled: false };
}

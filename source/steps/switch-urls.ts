import 'reflect-metadata';
import crypto, { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { VaultClient } from '../vault/client.js';
import * as pki from '../vault/pki.js';
import { fetchOverTls } from '../vault/tls-diagnosis.js';
import { parseCertificate, parseCertificates, fingerprint } from '../pki/pem.js';
import { verifyChain, allOk, failed, check, type Check } from '../pki/verify.js';
import { OperatorError, ExternalError, UsageError } from '../errors.js';
import { completeStep, setMount } from '../../state/transitions.js';
import type { EnvSession, Plan, Reporter } from './context.js';
import { emptyPlan } from './context.js';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

/**
 * switch-urls — the mount's issuing-certificate (AIA) and CRL URLs move to Vault's HTTPS address.
 * plan reads: the mount's default issuer and URLs; BASE/v1/MOUNT/ca and BASE/v1/MOUNT/crl fetched
 *   over TLS trusting only the environment's root (they must be this mount's CA, and a CRL it signed).
 * apply writes: MOUNT/config/urls (only the two fields), the mount's aiaBase and the step's record.
 * Certificates issued from then on carry the HTTPS URLs; older ones keep theirs.
 */
export const STEP_ID = 'switch-urls';

export { parseHttpsBase } from './inputs.js';

export interface SwitchUrlsInput {
  mount: string;
  base: string;
  /** PEM of the environment's root: the only trust for the HTTPS fetches. */
  ca: string;
  caFile: string;
}

interface Fetched {
  caCert: X509Certificate;
  crlThisUpdate: string;
  crlEntries: number;
  checks: Check[];
}

/** Fetches CA and CRL from the URLs that would be written, and checks they are the real thing. */
export async function checkHttpsEndpoint(vault: VaultClient, input: SwitchUrlsInput): Promise<Fetched> {
  const want = pki.aiaUrls(input.base, input.mount);
  const defaultId = await pki.readDefaultIssuer(vault, input.mount);
  if (!defaultId) throw new OperatorError(`${input.mount}/ in ${vault.addr} has no default issuer.`, 'Install the intermediate first (certwright intermediate).');
  const issuer = await pki.readIssuer(vault, input.mount, defaultId);
  const issuerCert = parseCertificate(issuer!.certificate, `${input.mount}/issuer/${defaultId}`);
  const caUrl = want.issuingCertificates[0]!;
  const crlUrl = want.crlDistributionPoints[0]!;
  const ca = await fetchOverTls(caUrl, input.ca, input.caFile);
  if (ca.status !== 200 || ca.body.length === 0) {
    throw new ExternalError(`${caUrl} answered ${ca.status}${ca.body.length === 0 ? ' with an empty body' : ''}, not the CA certificate.`, `Check that ${input.base} is the Vault that holds ${input.mount}/ (the --base and --vault-addr must be the same server).`);
  }
  let caCert: X509Certificate;
  try {
    caCert = new X509Certificate(ca.body);
  } catch {
    throw new ExternalError(`${caUrl} did not return a DER certificate (${ca.contentType}).`, `Check that ${input.base} is Vault and ${input.mount} is a PKI mount there.`);
  }
  const checks: Check[] = [check('CA over HTTPS is the mount\'s issuer', fingerprint(caCert) === fingerprint(issuerCert), `${caUrl}: ${fingerprint(caCert)}`)];
  const root = parseCertificates(input.ca, input.caFile).find((c) => c.checkIssued(c));
  if (root) checks.push(...verifyChain([caCert], root).map((c) => ({ ...c, name: `CA over HTTPS: ${c.name}` })));
  const crl = await fetchOverTls(crlUrl, input.ca, input.caFile);
  if (crl.status !== 200 || crl.body.length === 0) throw new ExternalError(`${crlUrl} answered ${crl.status}, not a CRL.`, `Check that CRLs are enabled on ${input.mount}/ (config/crl disable=false).`);
  let parsed: x509.X509Crl;
  try {
    parsed = new x509.X509Crl(new Uint8Array(crl.body));
  } catch {
    throw new ExternalError(`${crlUrl} did not return a DER CRL (${crl.contentType}).`, `Check that ${input.base} is Vault and ${input.mount} is a PKI mount there.`);
  }
  const signed = await parsed.verify({ publicKey: await new x509.X509Certificate(caCert.raw).publicKey.export() }).catch(() => false);
  checks.push(check('CRL over HTTPS is signed by the CA', signed, `${crlUrl}: ${parsed.entries.length} revoked, updated ${parsed.thisUpdate.toISOString()}`));
  if (!allOk(checks)) {
    throw new ExternalError(`The HTTPS endpoint ${input.base} does not serve ${input.mount}'s CA and CRL: ${failed(checks).map((c) => `${c.name} (${c.detail})`).join('; ')}. The URLs were not changed.`, `Pass the --base of the Vault that holds ${input.mount}/ (the one --vault-addr points at).`);
  }
  return { caCert, crlThisUpdate: parsed.thisUpdate.toISOString(), crlEntries: parsed.entries.length, checks };
}

export async function planSwitchUrls(vault: VaultClient, input: SwitchUrlsInput): Promise<Plan & { fetched: Fetched; current: pki.UrlConfig }> {
  await vault.assertReady();
  const mount = await pki.readMount(vault, input.mount);
  if (!mount || mount.type !== 'pki') throw new OperatorError(`There is no PKI mount at ${input.mount}/ in ${vault.addr}.`, 'Pass the intermediate\'s --mount.');
  const fetched = await checkHttpsEndpoint(vault, input);
  const current = await pki.readUrls(vault, input.mount);
  const want = pki.aiaUrls(input.base, input.mount);
  const plan = { ...emptyPlan(), fetched, current };
  plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Checked', `CA ${fingerprint(fetched.caCert)} and CRL (${fetched.crlEntries} revoked) fetched over HTTPS, trusting only ${input.caFile}`], ['Issuing certificates', `${current.issuingCertificates.join(', ') || '(none)'} -> ${want.issuingCertificates[0]}`], ['CRL distribution', `${current.crlDistributionPoints.join(', ') || '(none)'} -> ${want.crlDistributionPoints[0]}`]);
  if (JSON.stringify(current) !== JSON.stringify(want)) plan.actions.push(`Set ${input.mount}/config/urls to ${input.base}/v1/${input.mount}/{ca,crl}`);
  return plan;
}

export async function applySwitchUrls(session: EnvSession, vault: VaultClient, input: SwitchUrlsInput, report: Reporter): Promise<{ changed: boolean; urls: pki.UrlConfig; previous: pki.UrlConfig; checks: Check[] }> {
  const plan = await planSwitchUrls(vault, input);
  report.done(`The HTTPS endpoint serves ${input.mount}'s CA and CRL (verified with the environment's root)`);
  const want = pki.aiaUrls(input.base, input.mount);
  const changed = plan.actions.length > 0;
  if (changed) {
    await pki.writeUrls(vault, input.mount, want);
    report.done(`AIA and CRL URLs of ${input.mount}/ switched to ${input.base}`);
  } else {
    report.info(`The URLs of ${input.mount}/ already point at ${input.base}.`);
  }
  const after = await pki.readUrls(vault, input.mount);
  const checks = [...plan.fetched.checks, check('URLs recorded in Vault', JSON.stringify(after) === JSON.stringify(want), after.issuingCertificates.concat(after.crlDistributionPoints).join(', '))];
  if (!allOk(checks)) throw new ExternalError(`${input.mount}/config/urls does not read back as written: ${JSON.stringify(after)}.`);
  session.commit(setMount(session.state, input.mount, { aiaBase: input.base }, new Date()));
  session.commit(
    completeStep(session.state, STEP_ID, input.mount, new Date(), [], {
      base: input.base,
      issuingCertificates: want.issuingCertificates,
      crlDistributionPoints: want.crlDistributionPoints,
      previousIssuing: plan.current.issuingCertificates,
      caFingerprint: fingerprint(plan.fetched.caCert),
    }),
  );
  return { changed, urls: after, previous: plan.current, checks };
}

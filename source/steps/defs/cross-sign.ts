import { DEFAULT_MOUNT } from '../../defaults.js';
import path from 'node:path';
import { validateMountPath } from '../../paths.js';
import { readTextFile } from '../../system/files.js';
import { DriftError } from '../../errors.js';
import { failed } from '../../pki/checks.js';
import { defineStep } from '../step.js';
import { parseOutputFile } from '../inputs.js';
import { shareInput, unlockRoot } from '../root-unlock.js';
import { emptyPlan, type Plan } from '../context.js';
import type { CrossSignRequestInput, CrossSignRequestResult } from '../cross-sign-request.js';
import type { CrossSignInstallInput, CrossSignInstallResult } from '../cross-sign-install.js';
import type { CrossSignPipelineInput, CrossSignPipelineResult } from '../cross-sign-pipeline.js';

const requestImpl = () => import('../cross-sign-request.js');
const installImpl = () => import('../cross-sign-install.js');

/** The signer flags that repeat the intermediate's name constraints on the twin. */
function constraintFlags(r: { permittedDns: string[]; permittedIps: string[]; excludedDns: string[] }): string {
  return [r.permittedDns.length ? ` --permitted-dns ${r.permittedDns.join(',')}` : '', r.permittedIps.length ? ` --permitted-ip ${r.permittedIps.join(',')}` : '', r.excludedDns.length ? ` --excluded-dns ${r.excludedDns.join(',')}` : ''].join('');
}

export const crossSignRequest = defineStep<CrossSignRequestInput, Plan, CrossSignRequestResult>({
  id: 'cross-sign-request',
  command: 'cross-sign request',
  title: 'Cross-sign CSR',
  summary: 'Online: a CSR for the key the mount\'s intermediate already holds, with the same subject, for a second root to sign offline (Vault intermediate/cross-sign; no new key).',
  usage: 'cross-sign request --env E --mount PATH --csr-out FILE [--issuer REF]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
    { name: 'csr-out', type: 'string', value: 'FILE', description: 'where to write the CSR', required: true },
    { name: 'issuer', type: 'string', value: 'REF', description: 'the issuer to twin', defaultText: 'the default issuer' },
  ],
  parse: (run) => ({ mount: validateMountPath(run.flags.string('mount')!), csrOut: parseOutputFile(run.flags.require('csr-out'), '--csr-out'), issuerRef: run.flags.string('issuer') }),
  planTitle: (input) => `cross-sign request for ${input.mount}`,
  async plan(run, input) {
    return (await requestImpl()).planCrossSignRequest(run.vault(), input);
  },
  async apply(run, input) {
    return (await requestImpl()).applyCrossSignRequest(run.session, run.vault(), input, run.report);
  },
  present(result) {
    const ttl = Math.floor((new Date(result.notAfter).getTime() - Date.now()) / 1000) - 300;
    return [
      `CSR written: ${result.csrFile}${result.reused ? ' (reused)' : ''}`,
      `Subject: ${result.subject}`,
      `Key: ${result.keyId} (the intermediate's)`,
      `SHA-256 of the CSR file: ${result.csrSha256}`,
      'On the second root\'s offline machine:',
      `  certwright cross-sign sign --root-dir DIR --passphrase-file FILE --csr ${result.csrFile} --out twin.pem --path-len ${result.pathLen ?? 0} --ttl ${ttl}${constraintFlags(result)}`,
      'Then bring twin.pem and that root-ca.pem back: certwright cross-sign install --env E --mount PATH --cert twin.pem --root root-ca.pem',
    ].join('\n');
  },
});

export const crossSignInstall = defineStep<CrossSignInstallInput, Plan, CrossSignInstallResult>({
  id: 'cross-sign-install',
  command: 'cross-sign install',
  title: 'Cross-signed twin installed',
  summary: 'Online: imports the intermediate as signed by the second root as an additional issuer (the default issuer stays), after checking it carries the same public key and subject; makes issued certificates come with both paths.',
  usage: 'cross-sign install --env E --mount PATH --cert FILE --root FILE',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
    { name: 'cert', type: 'string', value: 'FILE', description: 'the cross-signed intermediate (from cross-sign sign)', required: true },
    { name: 'root', type: 'string', value: 'FILE', description: 'the second root\'s public certificate', required: true },
  ],
  async parse(run) {
    const certFile = path.resolve(run.flags.require('cert'));
    const rootFile = path.resolve(run.flags.require('root'));
    return { mount: validateMountPath(run.flags.string('mount')!), certFile, rootFile, certPem: await readTextFile(certFile, '--cert'), rootPem: await readTextFile(rootFile, '--root') };
  },
  planTitle: (input) => `install the cross-signed intermediate into ${input.mount}`,
  async plan(run, input) {
    return (await installImpl()).planCrossSignInstall(run.vault(), input);
  },
  async apply(run, input) {
    return (await installImpl()).applyCrossSignInstall(run.session, run.vault(), input, run.report);
  },
  present: (result, input) => `Twin ${result.imported ? 'installed' : 'was already installed'} in ${input.mount}/ as issuer ${result.issuerId} (${result.fingerprint}); default issuer ${result.defaultIssuerId} unchanged.`,
});

export const crossSign = defineStep<CrossSignPipelineInput, Plan, CrossSignPipelineResult>({
  id: 'cross-sign',
  command: 'cross-sign',
  title: 'Cross-signed twin',
  summary: 'Request, sign with a second offline root, and install a cross-signed twin of the mount\'s intermediate on one machine (lab, rehearsal). Resumable and idempotent.',
  usage: 'cross-sign --env E --mount PATH --root-dir DIR (--passphrase-file FILE | --share FILE ...) [--out FILE]',
  mutates: true,
  where: 'anywhere',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
    { name: 'root-dir', type: 'string', value: 'DIR', description: 'the second root\'s offline directory (root-ca.key, root-ca.pem)', required: true },
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding that root key\'s passphrase (mode 0600)' },
    shareInput,
    { name: 'out', type: 'string', value: 'FILE', description: 'where to write the cross-signed intermediate', defaultText: 'the environment\'s artefacts' },
  ],
  parse: (run) => {
    const out = run.flags.string('out');
    return { mount: validateMountPath(run.flags.string('mount')!), rootDir: path.resolve(run.flags.require('root-dir')), outFile: out ? path.resolve(out) : undefined };
  },
  planTitle: (input) => `cross-sign ${input.mount} with the root in ${input.rootDir}`,
  async plan(run, input) {
    const { verifyCompleted } = await import('../intermediate-pipeline.js');
    const vault = run.vault();
    const bad = failed(await verifyCompleted(run.session, vault, input.mount));
    if (bad.length > 0) throw new DriftError(`What was done before has changed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}.`, `Find out what changed before cross-signing: \`certwright state show --env ${run.session.env}\` lists what was recorded.`);
    await vault.assertReady();
    const plan = emptyPlan();
    plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Second root', input.rootDir]);
    plan.actions.push(`Request a CSR for ${input.mount}'s existing intermediate key (same subject, no new key), unless one is pending`, `Sign it with the root in ${input.rootDir}`, 'Import the twin as an extra issuer (the default issuer stays) and verify both paths');
    return plan;
  },
  async apply(run, input) {
    const { runCrossSignPipeline } = await import('../cross-sign-pipeline.js');
    return runCrossSignPipeline(run.session, run.vault(), input, () => unlockRoot(run.interact, input.rootDir), run.report);
  },
  present: (result, input) => `Cross-signed twin ${result.alreadyInstalled ? 'was already installed' : 'installed'} in ${input.mount}/: issuer ${result.issuerId} (${result.fingerprint}); default issuer ${result.defaultIssuerId} unchanged.\nCertificate: ${result.certFile}`,
});

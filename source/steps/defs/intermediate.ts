import fs from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { rootPaths } from '../../paths.js';
import { stepKey } from '../../../state/schema.js';
import { DriftError, OperatorError } from '../../errors.js';
import { failed } from '../../pki/checks.js';
import { parseAiaBase, mountSlug } from '../inputs.js';
import { defineStep } from '../step.js';
import { emptyPlan, type EnvSession, type Plan } from '../context.js';
import { requestInputs, parseRequestBase } from './intermediate-request.js';
import { signInputs, parseNameConstraints, parsePublishedUrls } from './intermediate-sign.js';
import { noUnlock, unlockRoot } from '../root-unlock.js';
import type { PipelineInput } from '../intermediate-pipeline.js';

const impl = () => import('../intermediate-pipeline.js');

export function intermediateArtefacts(session: EnvSession, mount: string): { csrFile: string; certFile: string } {
  const slug = mountSlug(mount);
  return { csrFile: path.join(session.paths.artefacts, `${slug}-intermediate.csr`), certFile: path.join(session.paths.artefacts, `${slug}-intermediate.pem`) };
}

/**
 * The way out of a drifted intermediate: what to look at, and how to redo it. A Vault that was
 * wiped or restored has lost the step's key or issuer; forgetting the records makes the step run
 * again (a pending key is reused by name, so a kill never leaves two).
 */
export function driftFix(env: string, failedChecks: string[], mount: string): string {
  const show = `Show what was recorded: certwright state show --env ${env}.`;
  // Never a second root over the first: a changed root is restored, not redone.
  if (failedChecks.some((n) => /root/.test(n))) return `${show} Restore root-ca.key and root-ca.pem from the ceremony backup; certwright never makes a new root over a recorded one.`;
  const records = [`intermediate-install@${mount}`, `intermediate-request@${mount}`];
  return `${show} Re-verify by opening the step again. If the change is expected (a wiped or restored Vault), redo it: ${records.map((r) => `certwright state forget --env ${env} --record ${r}`).join(' && ')}, then run it again (a pending key is reused).`;
}

interface OneGoResult {
  issuerId: string;
  fingerprint: string;
  alreadyInstalled: boolean;
}

/** request -> sign -> install on one machine (lab, rehearsal); resumable. */
export const intermediate = defineStep<Omit<PipelineInput, 'csrFile' | 'certFile'>, Plan, OneGoResult>({
  id: 'intermediate',
  command: 'intermediate',
  title: 'Intermediate in Vault',
  summary: 'Request, sign and install the intermediate on one machine (lab, rehearsal). Resumable: a killed run picks up where it stopped, reusing the pending key.',
  usage: 'intermediate --env E --mount PATH --cn NAME --root-dir DIR (--passphrase-file FILE | --share FILE ...) [--aia-base URL]',
  mutates: true,
  where: 'anywhere',
  session: 'required',
  inputs: [
    ...requestInputs,
    ...signInputs.filter((i) => i.name !== 'root-dir' && i.name !== 'allow-key-type'),
    { name: 'root-dir', type: 'string', value: 'DIR', description: 'the offline root directory (root-ca.key, root-ca.pem)', required: true, suggest: ({ state }) => (state?.steps['root-create']?.facts.rootDir as string | undefined) },
    { name: 'aia-base', type: 'string', value: 'URL', description: 'base URL for AIA/CRL URLs', defaultText: 'the Vault address' },
    { name: 'vault-tls-dir', type: 'string', value: 'DIR', description: 'copy the public root here' },
  ],
  parse(run) {
    const f = run.flags;
    const ttl = f.string('ttl');
    const rootDir = path.resolve(f.require('root-dir'));
    // The offline root must be there before the request makes a key in Vault.
    for (const [file, what] of [[rootPaths(rootDir).cert, 'root certificate'], [rootPaths(rootDir).key, 'root key']] as const) {
      if (!fs.existsSync(file)) throw new OperatorError(`No ${what} at ${file}.`, 'Point --root-dir at the directory `certwright root create` wrote (it holds root-ca.pem and root-ca.key).');
    }
    const tlsDir = f.string('vault-tls-dir');
    return {
      ...parseRequestBase(run),
      rootDir,
      rootFile: rootPaths(rootDir).cert,
      ttlSeconds: ttl ? parseDuration(ttl) : undefined,
      pathLen: f.int('path-len', { min: 0, max: 10 })!,
      ...parseNameConstraints(f),
      ...parsePublishedUrls(f),
      aiaBase: parseAiaBase(f.string('aia-base')),
      vaultTlsDir: tlsDir ? path.resolve(tlsDir) : undefined,
    };
  },
  planTitle: (input) => `intermediate for ${input.mount} (request, sign, install)`,
  async plan(run, input) {
    const session = run.session;
    const vault = run.vault();
    const { verifyCompleted } = await impl();
    const checks = await verifyCompleted(session, vault, input.mount);
    const bad = failed(checks);
    if (bad.length > 0) {
      throw new DriftError(`What was done before has changed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}.`, driftFix(session.env, bad.map((c) => c.name), input.mount));
    }
    if (checks.length > 0) run.report.done(`Re-verified ${checks.length} check(s) of completed steps`);
    await vault.assertReady();
    const plan = emptyPlan();
    plan.facts.push(['Vault', vault.addr], ['Mount', input.mount], ['Subject', `CN=${input.commonName}`], ['Root', input.rootFile]);
    if (session.state.steps[stepKey('intermediate-install', input.mount)]?.status === 'done') return plan;
    const { csrFile, certFile } = intermediateArtefacts(session, input.mount);
    if (session.state.steps[stepKey('intermediate-request', input.mount)]?.status === 'done' && fs.existsSync(csrFile)) {
      plan.actions.push(`Reuse the pending CSR ${csrFile} (no new key in Vault)`);
    } else {
      plan.actions.push(`Enable and tune ${input.mount}/ if needed (max TTL, audit-visible PKI fields, If-Modified-Since), generate the intermediate key (${input.keyType}) and CSR inside Vault`);
    }
    const nc = [input.permittedDns?.length ? `permitted DNS ${input.permittedDns.join(', ')}` : '', input.permittedIps?.length ? `permitted IP ${input.permittedIps.join(', ')}` : '', input.excludedDns?.length ? `excluded DNS ${input.excludedDns.join(', ')}` : ''].filter(Boolean);
    const requested = session.state.steps[stepKey('intermediate-request', input.mount)] !== undefined;
    if (!requested && (fs.existsSync(csrFile) || fs.existsSync(certFile))) plan.actions.push(`Keep the old CSR and certificate of a key no longer recorded aside (*.replaced-TIME in ${session.paths.artefacts})`);
    if (!requested || !fs.existsSync(certFile)) plan.actions.push(`Sign the CSR with the offline root in ${input.rootDir} (pathlen ${input.pathLen}${nc.length ? `; ${nc.join('; ')}` : ''})`);
    if (input.permittedDns?.length && !input.permittedIps?.length) plan.warnings.push('--permitted-dns limits DNS names only: without --permitted-ip the intermediate may still issue for any IP address.');
    plan.actions.push('Import intermediate + root, make it the default issuer, set AIA/CRL URLs; CRL auto-rebuild, auto-tidy every 12h and a first tidy', 'Verify the chain');
    return plan;
  },
  async apply(run, input) {
    const session = run.session;
    const { runIntermediatePipeline } = await impl();
    const files = intermediateArtefacts(session, input.mount);
    fs.mkdirSync(session.paths.artefacts, { recursive: true, mode: 0o700 });
    const installed = session.state.steps[stepKey('intermediate-install', input.mount)]?.status === 'done';
    // A request that is no longer recorded (state forget after a wiped Vault) makes a new key:
    // the public CSR and certificate of the old one are kept aside, never signed over.
    if (!installed && !session.state.steps[stepKey('intermediate-request', input.mount)]) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      for (const f of [files.csrFile, files.certFile]) {
        if (!fs.existsSync(f)) continue;
        fs.renameSync(f, `${f}.replaced-${stamp}`);
        run.report.info(`Kept the old ${path.basename(f)} aside as ${path.basename(f)}.replaced-${stamp} (it belongs to a key that is no longer recorded)`);
      }
    }
    const unlock = installed || fs.existsSync(files.certFile) ? noUnlock() : await unlockRoot(run.interact, input.rootDir);
    try {
      return await runIntermediatePipeline(session, run.vault(), { ...input, ...files }, unlock, run.report);
    } finally {
      unlock.passphrase.fill(0);
    }
  },
  async verify(run, input) {
    return (await impl()).verifyCompleted(run.session, run.vault(), input.mount);
  },
  present: (result, input) => `Intermediate ${result.alreadyInstalled ? 'was already installed' : 'installed'} in ${input.mount}/: issuer ${result.issuerId} (${result.fingerprint}).`,
});

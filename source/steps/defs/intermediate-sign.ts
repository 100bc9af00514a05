import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { validateEnvName } from '../../paths.js';
import { parseDomains, parseConstraintCidrs, parseHttpUrl } from '../inputs.js';
import { UsageError } from '../../errors.js';
import { defineStep, type StepDefinition, type StepInput } from '../step.js';
import { noUnlock, shareInput, unlockRoot } from '../root-unlock.js';
import type { IntermediateSignInput, SignPlan, SignResult } from '../intermediate-sign.js';

const impl = () => import('../intermediate-sign.js');

export const signInputs: StepInput[] = [
  { name: 'root-dir', type: 'string', value: 'DIR', description: 'the offline root directory (root-ca.key, root-ca.pem)', required: true },
  { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding the root key passphrase (mode 0600); typed when absent in a terminal' },
  shareInput,
  { name: 'path-len', type: 'string', value: 'N', description: 'pathlen of the intermediate', default: '0' },
  { name: 'permitted-dns', type: 'string', value: 'DOMAINS', description: 'comma-separated DNS names the intermediate may issue for, each with every name below it (critical name constraints)' },
  { name: 'permitted-ip', type: 'string', value: 'CIDRS', description: 'comma-separated IP blocks the intermediate may issue for (without it, any IP address)' },
  { name: 'excluded-dns', type: 'string', value: 'DOMAINS', description: 'comma-separated DNS names (and every name below) the intermediate may never issue for' },
  { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity', defaultText: '5y, cut to the root\'s end' },
  { name: 'crl-url', type: 'string', value: 'URL', description: 'where the root\'s CRL (certwright root crl) is published: written as the CRL distribution point' },
  { name: 'ca-issuers-url', type: 'string', value: 'URL', description: 'where the root certificate is published: written as AIA caIssuers' },
  // Widening what the offline root signs is asked for on the command line, each time.
  { name: 'allow-key-type', type: 'string', multiple: true, value: 'TYPE', description: 'also sign a CSR key of this type (rsa-1024, rsa-8192, ed25519, ec-p521 ...); repeatable; a flag only, no environment variable', defaultText: 'ec-p256, ec-p384, rsa-2048..rsa-4096 only', env: '' },
];

/** --permitted-dns, --permitted-ip, --excluded-dns (the one-machine flow parses them the same way). */
export function parseNameConstraints(f: { csv(name: string): string[] }) {
  return {
    permittedDns: parseDomains(f.csv('permitted-dns')),
    permittedIps: parseConstraintCidrs(f.csv('permitted-ip')),
    excludedDns: parseDomains(f.csv('excluded-dns'), '--excluded-dns'),
  };
}

/** --crl-url and --ca-issuers-url: http(s) URLs of the root's published CRL and certificate. */
export function parsePublishedUrls(f: { string(name: string): string | undefined }) {
  return { crlUrl: parseHttpUrl(f.string('crl-url'), '--crl-url', 'http://pki.example/root.crl'), caIssuersUrl: parseHttpUrl(f.string('ca-issuers-url'), '--ca-issuers-url', 'http://pki.example/root.crt') };
}

/** --allow-key-type values: a key type name as certwright spells it (the refusal prints it). */
export function parseAllowKeyTypes(values: string[]): string[] {
  for (const v of values) {
    if (!/^(rsa-\d{3,5}|ec-p(224|256|384|521)|ed25519|ed448)$/.test(v)) {
      throw new UsageError(`--allow-key-type "${v}" is not a key type.`, 'Pass the type the refusal named, e.g. --allow-key-type rsa-8192 (or ec-p521, ed25519); repeat it for more.');
    }
  }
  return values;
}

function signer(id: string, command: string, title: string, summary: string): StepDefinition<IntermediateSignInput, SignPlan, SignResult> {
  return defineStep<IntermediateSignInput, SignPlan, SignResult>({
    id,
    command,
    title,
    summary,
    usage: `${command} --root-dir DIR (--passphrase-file FILE | --share FILE ...) --csr FILE --out FILE [--ttl DURATION] [--path-len N] [--permitted-dns DOMAINS] [--permitted-ip CIDRS] [--excluded-dns DOMAINS] [--crl-url URL] [--ca-issuers-url URL] [--allow-key-type TYPE ...]`,
    mutates: true,
    where: 'offline',
    session: 'optional',
    inputs: [
      ...signInputs,
      { name: 'csr', type: 'string', value: 'FILE', description: id === 'intermediate-sign' ? 'the CSR from `intermediate request`' : 'the CSR from `cross-sign request`', required: true },
      { name: 'out', type: 'string', value: 'FILE', description: 'where to write the signed certificate', required: true },
    ],
    // The transcript belongs to the root's environment (ceremony.json), or to --env.
    async envFrom(run) {
      const rootDir = run.flags.string('root-dir');
      if (!rootDir) return undefined;
      const root = await (await impl()).readRoot(rootDir).catch(() => undefined);
      return root?.env ? validateEnvName(root.env) : undefined;
    },
    parse(run) {
      const f = run.flags;
      const ttl = f.string('ttl');
      return {
        rootDir: path.resolve(f.require('root-dir')),
        csrFile: path.resolve(f.require('csr')),
        outFile: path.resolve(f.require('out')),
        ttlSeconds: ttl ? parseDuration(ttl) : undefined,
        pathLen: f.int('path-len', { min: 0, max: 10 })!,
        ...parseNameConstraints(f),
        ...parsePublishedUrls(f),
        allowKeyTypes: parseAllowKeyTypes(f.csv('allow-key-type')),
      };
    },
    planTitle: () => (id === 'intermediate-sign' ? 'sign the intermediate with the offline root' : 'cross-sign with the second offline root'),
    async plan(_run, input) {
      return (await impl()).planIntermediateSign(input);
    },
    async apply(run, input, plan) {
      const unlock = plan.existing ? noUnlock() : await unlockRoot(run.interact, input.rootDir);
      try {
        const result = await (await impl()).applyIntermediateSign(input, unlock, run.report, run.hasSession ? run.session : undefined);
        if (!run.hasSession) run.report.warn('no environment is known for this root, so no transcript entry was written (pass --env).');
        return result;
      } finally {
        unlock.passphrase.fill(0);
      }
    },
    present: (result) =>
      [
        `${id === 'intermediate-sign' ? 'Intermediate' : 'Cross-signed'} certificate: ${result.certFile}${result.alreadySigned ? ' (already signed)' : ''}`,
        `SHA-256 fingerprint: ${result.fingerprint}`,
        `Serial: ${result.serial}`,
        `Valid until: ${result.notAfter}`,
        id === 'intermediate-sign' ? 'Carry this certificate and root-ca.pem back, then run `certwright intermediate install`.' : 'Carry it and this root-ca.pem back, then run `certwright cross-sign install`.',
      ].join('\n'),
  });
}

export const intermediateSign = signer('intermediate-sign', 'intermediate sign', 'Intermediate signed offline', 'Offline, no Vault: verifies the CSR signature, shows subject and key, signs it as a CA (pathlen 0 by default) and never lets it outlive the root.');

// The offline half of cross-signing is the intermediate signer itself: a CSR, a root, a pathlen.
export const crossSignSign = signer('cross-sign-sign', 'cross-sign sign', 'Cross-signed offline', 'Offline, no Vault: the second root signs the cross-sign CSR (the same signer as `intermediate sign`). Use the --path-len and --ttl that `cross-sign request` printed.');

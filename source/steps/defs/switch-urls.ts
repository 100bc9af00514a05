import { DEFAULT_MOUNT } from '../../defaults.js';
import fs from 'node:fs';
import { OperatorError } from '../../errors.js';
import { validateMountPath } from '../../paths.js';
import { resolveCaFile } from '../../vault/trust.js';
import { parseHttpsBase } from '../inputs.js';
import { defineStep } from '../step.js';
import type { Plan } from '../context.js';
import type { SwitchUrlsInput } from '../switch-urls.js';
import type { UrlConfig } from '../../vault/pki.js';
import type { Check } from '../../pki/checks.js';

const impl = () => import('../switch-urls.js');

export const switchUrls = defineStep<SwitchUrlsInput, Plan, { changed: boolean; urls: UrlConfig; previous: UrlConfig; checks: Check[] }>({
  id: 'switch-urls',
  command: 'switch-urls',
  title: 'AIA/CRL URLs over HTTPS',
  summary: 'Checks that the HTTPS endpoint really serves the mount\'s CA and CRL (fetched over TLS, trusting only the environment\'s root), then switches the issuing-certificate (AIA) and CRL URLs to it and records that in state.',
  usage: 'switch-urls --env E --mount PATH --base https://HOST:PORT',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount whose URLs switch', default: DEFAULT_MOUNT },
    { name: 'base', type: 'string', value: 'URL', description: 'the HTTPS origin clients reach Vault at', required: true, suggest: ({ state }) => (typeof state?.steps['vault-https']?.facts.apiAddr === 'string' ? String(state.steps['vault-https']!.facts.apiAddr) : undefined) },
  ],
  parse(run) {
    const mount = validateMountPath(run.flags.string('mount')!);
    const base = parseHttpsBase(run.flags.require('base'));
    const caFile = resolveCaFile(run.session.state, { vaultCa: run.flags.string('vault-ca') });
    if (!caFile) throw new OperatorError('No CA is known to check the HTTPS endpoint with.', 'Pass --vault-ca with the environment\'s root CA (root-ca.pem).');
    let ca: string;
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch {
      throw new OperatorError(`The CA file ${caFile} cannot be read.`, 'Pass --vault-ca with the environment\'s root-ca.pem.');
    }
    return { mount, base, ca, caFile };
  },
  planTitle: (input) => `switch ${input.mount}'s AIA/CRL URLs to ${input.base}`,
  async plan(run, input) {
    return (await impl()).planSwitchUrls(run.vault(), input);
  },
  async apply(run, input) {
    return (await impl()).applySwitchUrls(run.session, run.vault(), input, run.report);
  },
  present: (result, input) => `${input.mount}/ now publishes ${result.urls.issuingCertificates[0]} and ${result.urls.crlDistributionPoints[0]}.`,
});

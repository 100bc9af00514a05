import { DEFAULT_MOUNT } from '../../defaults.js';
import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { parseKeyType, INTERMEDIATE_KEY_TYPES } from '../../pki/keys.js';
import { validateMountPath } from '../../paths.js';
import { defineStep, type StepInput } from '../step.js';
import { parseCommonName, parseOutputFile } from '../inputs.js';
import type { Plan } from '../context.js';
import type { IntermediateRequestInput, IntermediateRequestResult } from '../intermediate-request.js';

const impl = () => import('../intermediate-request.js');

/** The inputs the one-go `intermediate` shares with `intermediate request`. */
export const requestInputs: StepInput[] = [
  { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
  { name: 'cn', type: 'string', value: 'NAME', description: 'the intermediate CA\'s common name', required: 'the intermediate CA name', suggest: ({ env }) => `${env} Intermediate CA` },
  { name: 'key-type', type: 'string', value: 'TYPE', description: `intermediate key: ${INTERMEDIATE_KEY_TYPES.join(', ')}`, default: 'ec-p256' },
  { name: 'max-ttl', type: 'string', value: 'DURATION', description: 'mount max lease TTL, set before any key is made', default: '43800h' },
];

export function parseRequestBase(run: { flags: import('../../flags.js').Flags }): Omit<IntermediateRequestInput, 'csrOut'> {
  const f = run.flags;
  return {
    mount: validateMountPath(f.string('mount')!),
    commonName: parseCommonName(f.require('cn', 'the intermediate CA name')),
    keyType: parseKeyType(f.string('key-type')!, INTERMEDIATE_KEY_TYPES),
    maxTtlSeconds: parseDuration(f.string('max-ttl')!, '--max-ttl'),
  };
}

export const intermediateRequest = defineStep<IntermediateRequestInput, Plan, IntermediateRequestResult>({
  id: 'intermediate-request',
  command: 'intermediate request',
  title: 'Intermediate CSR in Vault',
  summary: 'Online: enables and tunes the PKI mount, generates the intermediate key and CSR inside Vault, writes the CSR. A pending CSR is reused, never a second key.',
  usage: 'intermediate request --env E --mount PATH --cn NAME [--key-type ec-p256|ec-p384|rsa-2048|rsa-4096] --csr-out FILE',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [...requestInputs, { name: 'csr-out', type: 'string', value: 'FILE', description: 'where to write the CSR', required: true }],
  parse: (run) => ({ ...parseRequestBase(run), csrOut: parseOutputFile(run.flags.require('csr-out'), '--csr-out') }),
  planTitle: (input) => `intermediate request for ${input.mount}`,
  async plan(run, input) {
    return (await impl()).planIntermediateRequest(run.session, run.vault(), input);
  },
  async apply(run, input) {
    return (await impl()).applyIntermediateRequest(run.session, run.vault(), input, run.report);
  },
  async verify(run, input) {
    return (await impl()).verifyIntermediateRequest(run.session, run.vault(), input.mount);
  },
  present: (result) =>
    [
      `CSR written: ${result.csrFile}${result.reused ? ' (pending key reused)' : ''}`,
      `Subject: ${result.subject}`,
      `Key: ${result.key}`,
      `SHA-256 of the CSR file: ${result.csrSha256}`,
      'Carry the CSR to the offline machine and run `certwright intermediate sign` there.',
    ].join('\n'),
});

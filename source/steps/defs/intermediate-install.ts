import { DEFAULT_MOUNT } from '../../defaults.js';
import path from 'node:path';
import { validateMountPath } from '../../paths.js';
import { parseAiaBase } from '../inputs.js';
import { defineStep } from '../step.js';
import type { IntermediateInstallInput, InstallResult } from '../intermediate-install.js';
import type { Plan } from '../context.js';

const impl = () => import('../intermediate-install.js');

export const intermediateInstall = defineStep<IntermediateInstallInput, Plan, InstallResult>({
  id: 'intermediate-install',
  command: 'intermediate install',
  title: 'Intermediate installed in Vault',
  summary: 'Online: imports the signed intermediate and the root (so chains include the root), sets it as the default issuer, sets AIA/CRL URLs, copies the public root, verifies the chain.',
  usage: 'intermediate install --env E --mount PATH --cert FILE --root FILE [--aia-base URL] [--vault-tls-dir DIR]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate', default: DEFAULT_MOUNT },
    { name: 'cert', type: 'string', value: 'FILE', description: 'the signed intermediate certificate', required: true },
    { name: 'root', type: 'string', value: 'FILE', description: 'the public root certificate (root-ca.pem)', required: true },
    { name: 'aia-base', type: 'string', value: 'URL', description: 'base URL for issuing-certificate and CRL URLs', defaultText: 'the Vault address' },
    { name: 'vault-tls-dir', type: 'string', value: 'DIR', description: 'copy the public root here (Vault\'s TLS directory)' },
  ],
  parse: (run) => {
    const f = run.flags;
    const tlsDir = f.string('vault-tls-dir');
    return {
      mount: validateMountPath(f.string('mount')!),
      certFile: path.resolve(f.require('cert')),
      rootFile: path.resolve(f.require('root')),
      aiaBase: parseAiaBase(f.string('aia-base')),
      vaultTlsDir: tlsDir ? path.resolve(tlsDir) : undefined,
    };
  },
  planTitle: (input) => `install the intermediate into ${input.mount}`,
  async plan(run, input) {
    return (await impl()).planIntermediateInstall(run.session, run.vault(), input);
  },
  async apply(run, input) {
    return (await impl()).applyIntermediateInstall(run.session, run.vault(), input, run.report);
  },
  async verify(run, input) {
    return (await impl()).verifyIntermediateInstall(run.session, run.vault(), input.mount);
  },
  present: (result, input) => `Intermediate installed in ${input.mount}/ as default issuer ${result.issuerId} (${result.fingerprint}).`,
});

import type { CommandSpec } from '../command.js';
import { runCrossSignPipeline } from '../steps/cross-sign-pipeline.js';
import { verifyCompleted } from '../steps/intermediate-pipeline.js';
import { failed } from '../pki/checks.js';
import { DriftError } from '../errors.js';
import { cliReporter, printJson } from '../output.js';
import { obtainPassphrase, openSession, requireMount, vaultFor } from './common.js';

export const command: CommandSpec = {
  name: 'cross-sign',
  summary: 'Request, sign with a second offline root, and install a cross-signed twin of the mount\'s intermediate on one machine (lab, rehearsal). Resumable and idempotent.',
  usage: 'cross-sign --env E --mount PATH --root-dir DIR --passphrase-file FILE [--out FILE]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate' },
    { name: 'root-dir', type: 'string', value: 'DIR', description: 'the second root\'s offline directory (root-ca.key, root-ca.pem)' },
    { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'file holding that root key\'s passphrase (mode 0600)' },
    { name: 'out', type: 'string', value: 'FILE', description: 'where to write the cross-signed intermediate (default: the environment\'s artefacts)' },
  ],
  async run(ctx) {
    const mount = requireMount(ctx);
    const rootDir = ctx.flags.require('root-dir');
    const session = await openSession(ctx, 'cross-sign');
    try {
      const vault = vaultFor(ctx, session);
      const report = cliReporter({ quiet: ctx.flags.bool('json') });
      const checks = await verifyCompleted(session, vault, mount);
      const bad = failed(checks);
      if (bad.length > 0) {
        throw new DriftError(`What was done before has changed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}.`, 'Find out what changed before cross-signing; certwright will not paper over it.');
      }
      if (ctx.flags.bool('dry-run')) {
        process.stderr.write('Dry run: use `certwright cross-sign request --dry-run` and `cross-sign install --dry-run` to see each half\'s plan.\n');
        return 0;
      }
      const result = await runCrossSignPipeline(session, vault, { mount, rootDir, outFile: ctx.flags.string('out') }, () => obtainPassphrase(ctx, 'open'), report);
      if (ctx.flags.bool('json')) printJson(result);
      else process.stdout.write(`Cross-signed twin ${result.alreadyInstalled ? 'was already installed' : 'installed'} in ${mount}/: issuer ${result.issuerId} (${result.fingerprint}); default issuer ${result.defaultIssuerId} unchanged.\nCertificate: ${result.certFile}\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

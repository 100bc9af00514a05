import type { CommandSpec } from '../command.js';
import { applyCrossSignInstall, planCrossSignInstall } from '../steps/cross-sign-install.js';
import { readTextFile } from '../system/files.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';

export const command: CommandSpec = {
  name: 'cross-sign install',
  summary: 'Online: imports the intermediate as signed by the second root as an additional issuer (the default issuer stays), after checking it carries the same public key and subject; makes issued certificates come with both paths.',
  usage: 'cross-sign install --env E --mount PATH --cert FILE --root FILE',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate' },
    { name: 'cert', type: 'string', value: 'FILE', description: 'the cross-signed intermediate (from cross-sign sign)' },
    { name: 'root', type: 'string', value: 'FILE', description: 'the second root\'s public certificate' },
  ],
  async run(ctx) {
    const certFile = ctx.flags.require('cert');
    const rootFile = ctx.flags.require('root');
    const input = { mount: requireMount(ctx), certFile, rootFile, certPem: await readTextFile(certFile, '--cert'), rootPem: await readTextFile(rootFile, '--root') };
    const session = await openSession(ctx, 'cross-sign install');
    try {
      const vault = vaultFor(ctx, session);
      const plan = await planCrossSignInstall(vault, input);
      if (!(await showPlan(ctx, `install the cross-signed intermediate into ${input.mount}`, plan))) return 0;
      const result = await applyCrossSignInstall(session, vault, input, cliReporter({ quiet: ctx.flags.bool('json') }));
      if (ctx.flags.bool('json')) printJson(result);
      else process.stdout.write(`Twin ${result.imported ? 'installed' : 'was already installed'} in ${input.mount}/ as issuer ${result.issuerId} (${result.fingerprint}); default issuer ${result.defaultIssuerId} unchanged.\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

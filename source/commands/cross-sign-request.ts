import type { CommandSpec } from '../command.js';
import { applyCrossSignRequest, planCrossSignRequest } from '../steps/cross-sign-request.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';

export const command: CommandSpec = {
  name: 'cross-sign request',
  summary: 'Online: a CSR for the key the mount\'s intermediate already holds, with the same subject, for a second root to sign offline (Vault intermediate/cross-sign; no new key).',
  usage: 'cross-sign request --env E --mount PATH --csr-out FILE [--issuer REF]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate' },
    { name: 'csr-out', type: 'string', value: 'FILE', description: 'where to write the CSR' },
    { name: 'issuer', type: 'string', value: 'REF', description: 'the issuer to twin (default: the default issuer)' },
  ],
  async run(ctx) {
    const input = { mount: requireMount(ctx), csrOut: ctx.flags.require('csr-out'), issuerRef: ctx.flags.string('issuer') };
    const session = await openSession(ctx, 'cross-sign request');
    try {
      const vault = vaultFor(ctx, session);
      const plan = await planCrossSignRequest(vault, input);
      if (!(await showPlan(ctx, `cross-sign request for ${input.mount}`, plan))) return 0;
      const result = await applyCrossSignRequest(session, vault, input, cliReporter({ quiet: ctx.flags.bool('json') }));
      if (ctx.flags.bool('json')) printJson(result);
      else {
        const ttl = Math.floor((new Date(result.notAfter).getTime() - Date.now()) / 1000) - 300;
        process.stdout.write(`CSR written: ${result.csrFile}${result.reused ? ' (reused)' : ''}\nSubject: ${result.subject}\nKey: ${result.keyId} (the intermediate's)\nSHA-256 of the CSR file: ${result.csrSha256}\n`);
        process.stdout.write(`On the second root's offline machine:\n  certwright cross-sign sign --root-dir DIR --passphrase-file FILE --csr ${result.csrFile} --out twin.pem --path-len ${result.pathLen ?? 0} --ttl ${ttl}\n`);
        process.stdout.write('Then bring twin.pem and that root-ca.pem back: certwright cross-sign install --env E --mount PATH --cert twin.pem --root root-ca.pem\n');
      }
      return 0;
    } finally {
      session.close();
    }
  },
};

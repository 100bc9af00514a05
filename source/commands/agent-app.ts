import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { agentFlags, buildAgentInput, runAgentCommand } from './agent-common.js';

export const command: CommandSpec = {
  name: 'agent app',
  summary: 'Everything an app\'s agent host needs: a policy that may issue only on the app\'s own PKI role (exactly its names), an AppRole with a periodic token, role_id and a response-wrapped secret_id (0600, owned by SVCUSER), the agent config (AppRole auto_auth, HTTPS with ca_cert, pkiCert template, exec of `certwright hook`), a minimal systemd user unit, and the commands that install it.',
  usage: 'agent app --env E --mount PATH --name APP --common-name CN [--alt-names NAMES] [--ttl DURATION] --tls-dir DIR --out DIR [--user SVCUSER] [--vault-addr URL] [--ca-file FILE]',
  flags: [
    ...agentFlags,
    { name: 'common-name', type: 'string', value: 'CN', description: 'the leaf\'s main DNS name' },
    { name: 'alt-names', type: 'string', value: 'NAMES', description: 'more DNS names and IP addresses (comma-separated)' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'leaf lifetime (default 72h; the agent renews at about 90%)' },
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'where the hook swaps key + cert + chain (current/, previous/, versions/)' },
  ],
  async run(ctx) {
    const input = buildAgentInput(ctx, 'app', {
      commonName: ctx.flags.require('common-name'),
      altNames: ctx.flags.csv('alt-names'),
      ttlSeconds: parseDuration(ctx.flags.string('ttl') ?? '72h'),
      tlsDir: ctx.flags.require('tls-dir'),
    });
    return runAgentCommand(ctx, input);
  },
};

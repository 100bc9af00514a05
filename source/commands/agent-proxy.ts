import type { CommandSpec } from '../command.js';
import { agentFlags, buildAgentInput, runAgentCommand } from './agent-common.js';

export const command: CommandSpec = {
  name: 'agent proxy',
  summary: 'Like `agent app`, for a reverse proxy: the policy may only read the issuing CA chain, the template renders that chain, and the hook writes it to the proxy\'s trust file (--ca-out) and reloads its containers.',
  usage: 'agent proxy --env E --mount PATH --name NAME --ca-out FILE --out DIR [--user SVCUSER] [--vault-addr URL] [--ca-file FILE]',
  flags: [...agentFlags, { name: 'ca-out', type: 'string', value: 'FILE', description: 'where the proxy reads the CA chain (written by the hook)' }],
  async run(ctx) {
    const input = buildAgentInput(ctx, 'proxy', { caOut: ctx.flags.require('ca-out') });
    return runAgentCommand(ctx, input);
  },
};

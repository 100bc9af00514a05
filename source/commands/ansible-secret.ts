import path from 'node:path';
import type { CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { loadEstate } from '../estate/load.js';
import { hostAgents } from '../ansible/export.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { ensureHostAgentCredential } from '../ansible/credential.js';
import { parseDuration } from '../duration.js';

/**
 * ansible-secret --file ESTATE --agent KIND/NAME: the lookup the exported play runs on the
 * controller for an agent that is about to (re)start. Puts the agent's Vault side in place (the
 * AppRole mount, its policy, PKI role and AppRole, as `agent KIND` would) and prints
 * {"role_id", "wrapped_secret_id"} on stdout: a response-wrapped secret_id, single use, that only
 * the agent unwraps. Nothing is written to disk here; older secret_ids of the role are destroyed.
 */
export const command: CommandSpec = {
  name: 'ansible-secret',
  summary: 'For the exported Ansible play: puts one host agent\'s policy, PKI role and AppRole in Vault and prints its role_id and a fresh response-wrapped secret_id as JSON on stdout (writes no file).',
  usage: 'ansible-secret --file ESTATE.yaml --agent KIND/NAME [--wrap-ttl DURATION]',
  flags: [
    { name: 'file', type: 'string', value: 'FILE', description: 'the estate file', short: 'f' },
    { name: 'agent', type: 'string', value: 'KIND/NAME', description: 'the agent (app/web, proxy/edge) on a managed host' },
    { name: 'wrap-ttl', type: 'string', value: 'DURATION', description: 'how long the wrapped secret_id can be unwrapped (default 15m)' },
  ],
  async run(ctx) {
    const estate = loadEstate(ctx.flags.require('file', 'the estate file'));
    const id = ctx.flags.require('agent', 'the agent');
    const agent = hostAgents(estate).find((a) => a.id === id);
    if (!agent) throw new UsageError(`${estate.file} has no agent ${id} on a managed host.`, `Pass --agent KIND/NAME of an agent with host: (${hostAgents(estate).map((a) => a.id).join(', ') || 'none'}).`);
    const v = estate.spec.vault;
    const vault = new VaultClient(resolveConnection({ vaultAddr: v.address ?? (v.listen ? `https://${v.listen}` : undefined), vaultCa: v.ca ?? (v.listen ? path.join(estate.spec.root.dir, 'root-ca.pem') : undefined) }));
    const credential = await ensureHostAgentCredential(vault, agent, parseDuration(ctx.flags.string('wrap-ttl') ?? '15m', '--wrap-ttl'));
    process.stdout.write(`${JSON.stringify(credential)}\n`);
    return 0;
  },
};

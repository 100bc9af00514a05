import * as auth from '../vault/approle.js';
import * as pki from '../vault/pki.js';
import { diffRole } from '../vault/roles.js';
import { OperatorError } from '../errors.js';
import { desiredAppRole, desiredPkiRole, renderPolicy } from '../steps/agent-rollout.js';
import type { VaultClient } from '../vault/client.js';
import type { HostAgent } from './export.js';

/** The agent's token period, as `agent KIND` defaults it. */
const TOKEN_PERIOD_SECONDS = 24 * 3600;

/**
 * The Vault side of one host agent, in place (the same objects `agent KIND` writes: policy, PKI
 * role with exactly the agent's names and TTL, periodic AppRole), then its role_id and a new
 * response-wrapped secret_id; the role's older secret_ids are destroyed (a running agent keeps its
 * token: it logged in with the one it unwrapped).
 */
export async function ensureHostAgentCredential(vault: VaultClient, agent: HostAgent, wrapTtlSeconds: number): Promise<{ role_id: string; wrapped_secret_id: string }> {
  const s = agent.spec;
  await vault.assertReady();
  const mount = await pki.readMount(vault, s.mount);
  if (!mount || mount.type !== 'pki') throw new OperatorError(`There is no PKI mount at ${s.mount}/ in ${vault.addr}.`, 'Run `certwright apply --file ESTATE` first: it installs the intermediate.');
  const approleType = await auth.authMountType(vault, s.approleMount);
  if (approleType && approleType !== 'approle') throw new OperatorError(`auth/${s.approleMount} is a ${approleType} mount, not AppRole.`, 'Free the approle/ auth path.');
  if (!approleType) await auth.enableAppRole(vault, s.approleMount);
  const policy = s.approleRole;
  const policyText = renderPolicy(s.env, s.kind, s.name, s.mount);
  if ((await auth.readPolicy(vault, policy)) !== policyText) await auth.writePolicy(vault, policy, policyText);
  if (s.kind === 'app') {
    const ttlSeconds = Number(s.ttl.replace(/s$/, ''));
    const want = desiredPkiRole([s.commonName!, ...s.dnsNames], s.ipSans, ttlSeconds);
    if (diffRole(await pki.readRole(vault, s.mount, s.name), want).changes.length) await pki.writeRole(vault, s.mount, s.name, want);
  }
  await auth.writeAppRole(vault, s.approleMount, policy, desiredAppRole(policy, TOKEN_PERIOD_SECONDS));
  const roleId = await auth.readRoleId(vault, s.approleMount, policy);
  const before = await auth.listSecretIdAccessors(vault, s.approleMount, policy);
  const wrapped = await auth.createWrappedSecretId(vault, s.approleMount, policy, wrapTtlSeconds, { certwright: `${s.env}/${s.kind}/${s.name}`, host: agent.host.name });
  for (const a of before.filter((x) => x !== wrapped.accessor)) await auth.destroySecretIdAccessor(vault, s.approleMount, policy, a);
  return { role_id: roleId, wrapped_secret_id: wrapped.token };
}

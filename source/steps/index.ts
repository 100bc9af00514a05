import type { StepDefinition } from './step.js';

/**
 * The step registry: every pipeline step, in pipeline order, by id. The CLI builds its step
 * commands from it, the wizard takes titles and defaults from it, `apply --file` walks it, and a
 * test runs every mutating step here with --dry-run. A step that is not here cannot be run.
 *
 * Entries load their definition lazily (each definition is small; its implementation loads on
 * first plan), so `certwright <one command>` reads only the definition it needs.
 */
export interface RegistryEntry {
  id: string;
  command: string;
  load: () => Promise<StepDefinition>;
}

const entry = (id: string, command: string, load: () => Promise<StepDefinition>): RegistryEntry => ({ id, command, load });

export const STEPS: readonly RegistryEntry[] = [
  entry('root-create', 'root create', async () => (await import('./defs/root-create.js')).rootCreate),
  entry('root-crl', 'root crl', async () => (await import('./defs/root-crl.js')).rootCrl),
  entry('vault-server', 'vault-server', async () => (await import('./defs/vault-server.js')).vaultServer),
  entry('intermediate-request', 'intermediate request', async () => (await import('./defs/intermediate-request.js')).intermediateRequest),
  entry('intermediate-sign', 'intermediate sign', async () => (await import('./defs/intermediate-sign.js')).intermediateSign),
  entry('intermediate-install', 'intermediate install', async () => (await import('./defs/intermediate-install.js')).intermediateInstall),
  entry('intermediate', 'intermediate', async () => (await import('./defs/intermediate.js')).intermediate),
  entry('vault-cert', 'vault-cert', async () => (await import('./defs/vault-cert.js')).vaultCert),
  entry('vault-https', 'vault-https', async () => (await import('./defs/vault-https.js')).vaultHttps),
  entry('vault-init', 'vault-init', async () => (await import('./defs/vault-init.js')).vaultInit),
  entry('vault-unseal', 'vault-unseal', async () => (await import('./defs/vault-unseal.js')).vaultUnseal),
  entry('switch-urls', 'switch-urls', async () => (await import('./defs/switch-urls.js')).switchUrls),
  entry('agent-app', 'agent app', async () => (await import('./defs/agent.js')).agentApp),
  entry('agent-proxy', 'agent proxy', async () => (await import('./defs/agent.js')).agentProxy),
  entry('hook', 'hook', async () => (await import('./defs/tools.js')).hook),
  entry('distribute-ca', 'distribute-ca', async () => (await import('./defs/tools.js')).distributeCa),
  entry('build-role', 'build-role', async () => (await import('./defs/build.js')).buildRole),
  entry('build-cert', 'build-cert', async () => (await import('./defs/build.js')).buildCert),
  entry('cross-sign-request', 'cross-sign request', async () => (await import('./defs/cross-sign.js')).crossSignRequest),
  entry('cross-sign-sign', 'cross-sign sign', async () => (await import('./defs/intermediate-sign.js')).crossSignSign),
  entry('cross-sign-install', 'cross-sign install', async () => (await import('./defs/cross-sign.js')).crossSignInstall),
  entry('cross-sign', 'cross-sign', async () => (await import('./defs/cross-sign.js')).crossSign),
  entry('revoke', 'revoke', async () => (await import('./defs/tools.js')).revoke),
  entry('state-forget', 'state forget', async () => (await import('./defs/state-forget.js')).stateForget),
  entry('hashdir', 'hashdir', async () => (await import('./defs/tools.js')).hashdir),
];

export async function loadStep(id: string): Promise<StepDefinition> {
  const found = STEPS.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in the registry`);
  const step = await found.load();
  if (step.id !== id || step.command !== found.command) throw new Error(`registry entry ${id} loads step ${step.id} (${step.command})`);
  return step;
}

export async function loadAllSteps(): Promise<StepDefinition[]> {
  return Promise.all(STEPS.map((s) => loadStep(s.id)));
}

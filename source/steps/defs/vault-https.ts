import fs from 'node:fs';
import path from 'node:path';
import { UsageError, OperatorError } from '../../errors.js';
import { parseListen } from '../../system/ports.js';
import { parseOwner } from '../../system/ownership.js';
import { envPaths } from '../../paths.js';
import { resolveCaFile } from '../../vault/trust.js';
import { oneOf } from '../inputs.js';
import { defineStep } from '../step.js';
import { recordedCluster, nodeApiAddr } from '../../vault/cluster.js';
import type { Storage } from '../../vault/server-config.js';
import type { EnvState } from '../../../state/schema.js';
import type { Runtime, VaultHttpsInput, VaultHttpsPlan, VaultHttpsResult } from '../vault-https.js';

const impl = () => import('../vault-https.js');

/** What `vault-server` recorded about the Vault certwright runs for this environment. */
function managedFacts(state: EnvState | undefined): { outDir: string; listen: string; runtime: Runtime; container?: { image: string; name: string; network: 'bridge' | 'host'; user?: string; baoBinary?: string } } | undefined {
  const f = state?.steps['vault-server'];
  if (f?.status !== 'done' || typeof f.facts.outDir !== 'string') return undefined;
  const text = (key: string) => (typeof f.facts[key] === 'string' ? String(f.facts[key]) : undefined);
  if (f.facts.runtime !== 'podman') return { outDir: f.facts.outDir, listen: String(f.facts.listen), runtime: 'process' };
  return {
    outDir: f.facts.outDir,
    listen: String(f.facts.listen),
    runtime: 'podman',
    container: { image: text('image')!, name: text('containerName')!, network: text('network') === 'host' ? 'host' : 'bridge', user: text('user'), baoBinary: text('baoBinary') },
  };
}

import { DEFAULT_IMAGE } from '../../defaults.js';

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:' && /^https:\/\/[^/]+/.test(value);
  } catch {
    return false;
  }
}

export const vaultHttps = defineStep<VaultHttpsInput, VaultHttpsPlan, VaultHttpsResult>({
  id: 'vault-https',
  command: 'vault-https',
  title: 'Vault over HTTPS',
  summary: 'Renders Vault\'s HTTPS server config (tcp listener with the full chain, TLS 1.2+, api_addr over https, raft or file storage) and a Podman compose file (config and TLS read-only, data read-write, run as the files\' owner: no keep-id, no chown, no capabilities). --start starts it and waits until it answers over HTTPS, trusting only the environment\'s root. The Vault `vault-server` runs is moved, not started anew: its process restarted, or its container recreated (same image, name, user and data mount), on TLS, then unsealed over HTTPS.',
  usage: 'vault-https --env E --tls-dir DIR --out DIR [--listen ADDR] [--storage file|raft] [--image IMAGE] [--start [--runtime podman|process]]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'the directory vault-cert wrote (server.key, fullchain.pem, ca-chain.pem)', required: true, suggest: ({ env, home }) => path.join(envPaths(env, home).dir, 'vault-tls') },
    { name: 'out', type: 'string', value: 'DIR', description: 'where config/vault.hcl, vault-host.hcl, compose.yaml and data/ go', defaultText: 'the directory of the Vault `vault-server` runs; else required', suggest: ({ env, home, state }) => managedFacts(state)?.outDir ?? path.join(envPaths(env, home).dir, 'vault-server') },
    { name: 'listen', type: 'string', value: 'ADDR', description: 'listener HOST:PORT', defaultText: 'the vault-server address, else 127.0.0.1:8200' },
    { name: 'key-file', type: 'string', multiple: true, value: 'FILE', description: 'unseal key shares (the vault-server --keys-out file) for the restart on TLS; typed when absent in a terminal', env: '' },
    { name: 'storage', type: 'string', value: 'KIND', description: 'raft (single-node integrated storage) or file (Vault, OpenBao < 2.7), under OUT/data', default: 'raft' },
    { name: 'image', type: 'string', value: 'IMAGE', description: 'container image', default: DEFAULT_IMAGE },
    { name: 'bao-binary', type: 'string', value: 'FILE', description: 'bind-mount this bao binary into an image that has none (e.g. a minimal busybox image)' },
    { name: 'user', type: 'string', value: 'UID:GID', description: 'container user', defaultText: 'the owner of server.key, so nothing needs chown' },
    { name: 'name', type: 'string', value: 'NAME', description: 'container name', defaultText: 'certwright-vault-ENV' },
    { name: 'network', type: 'string', value: 'MODE', description: 'bridge (the port is published on the listen address) or host (the container shares the host network)', defaultText: 'bridge, or the network of the container vault-server runs' },
    { name: 'api-addr', type: 'string', value: 'URL', description: 'api_addr', defaultText: 'https://LISTEN-HOST:PORT' },
    { name: 'start', type: 'boolean', description: 'start Vault and wait until it answers over HTTPS' },
    { name: 'runtime', type: 'string', value: 'KIND', description: 'podman (podman-compose, or the equivalent podman run) or process (bao server on the host)', defaultText: 'the runtime of the Vault vault-server runs, else podman' },
    { name: 'wait', type: 'string', value: 'SECONDS', description: 'how long --start waits for HTTPS', default: '60' },
  ],
  async parse(run) {
    const f = run.flags;
    const tlsDir = path.resolve(f.require('tls-dir'));
    // The environment's own Vault (vault-server) is moved, not a second one started next to it.
    const managedServer = managedFacts(run.session.state);
    const outText = f.string('out') ?? managedServer?.outDir;
    if (!outText) f.require('out', 'where the server configuration goes; or run `certwright vault-server` first');
    const outDir = path.resolve(outText!);
    const managed = managedServer !== undefined && managedServer.outDir === outDir;
    const listen = parseListen(f.string('listen') ?? (managed ? managedServer.listen : '127.0.0.1:8200'));
    const storage = oneOf<Storage>(f.string('storage'), ['file', 'raft'], '--storage', 'raft');
    const runtime = oneOf<Runtime>(f.string('runtime'), ['podman', 'process'], '--runtime', managed ? managedServer.runtime : 'podman');
    if (managed && runtime !== managedServer.runtime) throw new UsageError(`The Vault in ${outDir} runs as ${managedServer.runtime === 'podman' ? `the Podman container ${managedServer.container!.name}` : 'a host process'} (vault-server); --runtime ${runtime} would start a second one with empty storage.`, `Drop --runtime (vault-https moves the same ${managedServer.runtime === 'podman' ? 'container' : 'process'} to TLS).`);
    // The environment's Vault in a container: vault-https recreates that container (same image, name, network, user, storage).
    const managedContainer = managed ? managedServer.container : undefined;
    const keyShares: string[] = [];
    if (managed) {
      const { readShares } = await import('../vault-unseal.js');
      for (const file of f.list('key-file')) keyShares.push(...(await readShares(file)));
    }
    const network = oneOf(f.string('network'), ['bridge', 'host'] as const, '--network', managedContainer?.network ?? 'bridge');
    const baoBinary = f.string('bao-binary') ?? managedContainer?.baoBinary;
    if (baoBinary && !fs.existsSync(baoBinary)) throw new OperatorError(`--bao-binary ${baoBinary} does not exist.`, 'Pass the path of a bao binary (e.g. .tools/bin/bao).');
    const imageGiven = run.flags.values.image !== undefined && run.flags.values.image !== DEFAULT_IMAGE;
    // The binary is bind-mounted into an image of the operator's: certwright names none it could not pull.
    if (f.string('bao-binary') && !imageGiven && !managedContainer && runtime !== 'process') throw new UsageError('--bao-binary is bind-mounted into an image, and no --image names one.', 'Pass --image with a local image to run it in (podman import or podman load makes one on an air-gapped host), or use --runtime process to run that bao on the host.');
    const apiAddr = f.string('api-addr');
    if (apiAddr !== undefined && !isHttpsUrl(apiAddr)) throw new UsageError(`--api-addr ${apiAddr} is not an https URL.`, 'Pass e.g. --api-addr https://vault.example:8200.');
    const session = run.session;
    const caFile = resolveCaFile(session.state, { vaultCa: f.string('vault-ca') });
    let ca: string;
    // The environment's root only: ca-chain.pem also holds the intermediates, which are no anchors.
    try {
      ca = caFile ? fs.readFileSync(caFile, 'utf8') : (await impl()).rootPemFromTlsDir(tlsDir);
    } catch {
      throw new OperatorError(`The CA file ${caFile ?? `${tlsDir}/ca-chain.pem`} cannot be read.`, 'Pass --vault-ca with the environment\'s root-ca.pem.');
    }
    // A raft cluster (vault-server --nodes): every node moves to (or starts on) TLS and joins.
    const cluster = managed ? recordedCluster(session.state.steps) : undefined;
    let token: string | undefined;
    if (cluster) {
      try {
        token = run.vault({ requireToken: false }).connection.token;
      } catch {
        token = undefined;
      }
    }
    const userText = f.string('user') ?? managedContainer?.user;
    return {
      tlsDir,
      outDir,
      listen,
      storage,
      image: managedContainer && !imageGiven ? managedContainer.image : f.string('image')!,
      baoBinary: baoBinary ? path.resolve(baoBinary) : undefined,
      user: userText ? parseOwner(userText, '--user') : undefined,
      containerName: f.string('name') ?? managedContainer?.name ?? `certwright-vault-${session.env}`,
      network,
      apiAddr,
      start: managed || f.bool('start'),
      runtime,
      managed: managed ? { keyShares, unsealShare: (status) => run.interact.unsealShare(status) } : undefined,
      waitSeconds: f.int('wait', { min: 1, max: 600 })!,
      ca,
      caFile,
      ...(cluster ? { cluster, token } : {}),
    };
  },
  planTitle: (input) => `Vault over HTTPS in ${input.outDir}`,
  async plan(run, input) {
    return (await impl()).planVaultHttps(run.session, input);
  },
  async apply(run, input) {
    return (await impl()).applyVaultHttps(run.session, input, run.report);
  },
  present(result, input, run) {
    if (input.cluster) {
      return [`Vault raft cluster over HTTPS, ${input.cluster.nodes.length} nodes: ${input.cluster.nodes.map((n) => `${n.id} ${nodeApiAddr(n)}`).join(', ')}.`, `Clients and certwright use whichever node answers; the state records all ${input.cluster.nodes.length}. A node that is down: run this same command again (it starts and unseals it, and it rejoins).`].join('\n');
    }
    const lines = [`Vault over HTTPS: ${result.apiAddr} (certificate ${result.fingerprint}).`];
    const files = result.files;
    if (!input.start) lines.push(`Start it: podman-compose -f ${files.find((f) => f.endsWith('compose.yaml')) ?? 'compose.yaml'} up -d   (or: bao server -config=${files.find((f) => f.endsWith('vault-host.hcl')) ?? 'vault-host.hcl'})`);
    else if (result.pid) lines.push(`bao server runs as PID ${result.pid}.`);
    else if (result.container) lines.push(`It runs in container ${result.container}.`);
    // The Vault vault-server runs was initialised there and is unsealed here: next is the URL switch.
    if (input.managed) lines.push(`It is the environment's own Vault, on its storage, unsealed over HTTPS. Next: certwright switch-urls --env ${run.session.env} --base ${result.apiAddr} (AIA/CRL URLs over HTTPS).`);
    else lines.push(`Then: certwright vault-init --env ${run.session.env} (trusts only ${input.caFile ?? 'the root in ca-chain.pem'}).`);
    return lines.join('\n');
  },
});

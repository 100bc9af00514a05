import path from 'node:path';
import { parseListen } from '../../system/ports.js';
import { findBaoReal } from '../../system/openbao.js';
import { envPaths } from '../../paths.js';
import { defineStep } from '../step.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_IMAGE } from '../../defaults.js';
import { oneOf } from '../inputs.js';
import { parseOwner } from '../../system/ownership.js';
import type { VaultServerInput, VaultServerPlan, VaultServerResult } from '../vault-server.js';

const impl = () => import('../vault-server.js');

/** vault-server — the environment's own Vault, run by certwright, before its certificate exists. */
export const vaultServer = defineStep<VaultServerInput, VaultServerPlan, VaultServerResult>({
  id: 'vault-server',
  command: 'vault-server',
  title: 'The environment\'s Vault',
  summary: 'Runs the environment\'s own Vault: a real OpenBao server (raft storage kept in DIR/data, not dev mode) as a host process or (--runtime podman) a Podman container with DIR/data bind-mounted, on a loopback address over plain HTTP until its certificate exists; initialises it (unseal keys and root token to --keys-out, a new 0600 file, or shown once) and unseals it. `vault-https` later moves this same server to TLS.',
  usage: 'vault-server --env E --out DIR [--listen 127.0.0.1:PORT] [--nodes N | --node-listen ADDR...] [--keys-out FILE] [--key-shares N] [--key-threshold M] [--bao PATH] [--runtime process|podman [--image IMAGE] [--name NAME] [--network bridge|host] [--user UID:GID]]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'out', type: 'string', value: 'DIR', description: 'the server directory: vault-bootstrap.hcl, data/ (raft storage, kept), vault.pid, vault.log; vault-https renders its TLS config here too', required: true, suggest: ({ env, home }) => path.join(envPaths(env, home).dir, 'vault-server') },
    { name: 'listen', type: 'string', value: 'ADDR', description: 'loopback HOST:PORT for plain HTTP until vault-https (raft uses PORT+1)', default: '127.0.0.1:8200' },
    { name: 'keys-out', type: 'string', value: 'FILE', description: 'write the unseal keys and root token here (new file, mode 0600) instead of showing them', env: '' },
    { name: 'key-shares', type: 'string', value: 'N', description: 'number of unseal key shares', default: '5' },
    { name: 'key-threshold', type: 'string', value: 'M', description: 'shares needed to unseal', defaultText: '3, or the number of shares when fewer' },
    { name: 'key-file', type: 'string', multiple: true, value: 'FILE', description: 'unseal key shares for a server restarted on storage initialised before (repeatable)', env: '' },
    { name: 'bao', type: 'string', value: 'PATH', description: 'the bao binary (with --runtime podman: bind-mounted into an image that has none)', defaultText: 'CERTWRIGHT_BAO, the pinned .tools/bin/bao, else bao on PATH; podman: the image\'s own' },
    { name: 'runtime', type: 'string', value: 'KIND', description: 'process (bao server on the host) or podman (the same server in a container, DIR/data bind-mounted, the API published on the loopback address only)', defaultText: 'process, or what this server was started with' },
    { name: 'image', type: 'string', value: 'IMAGE', description: 'container image for --runtime podman (pulled when it is not on this machine: the plan says so)', defaultText: `${DEFAULT_IMAGE}, or this server's` },
    { name: 'name', type: 'string', value: 'NAME', description: 'container name for --runtime podman', defaultText: 'certwright-vault-ENV' },
    { name: 'network', type: 'string', value: 'MODE', description: 'for --runtime podman: bridge (the port is published on the loopback address) or host', defaultText: 'bridge' },
    { name: 'user', type: 'string', value: 'UID:GID', description: 'container user for --runtime podman; vault-https keeps it (issue Vault\'s certificate for it: vault-cert --owner)', defaultText: 'you (rootless Podman: container root 0:0, which is you on the host)' },
    { name: 'wait', type: 'string', value: 'SECONDS', description: 'how long to wait for the server to answer', default: '60' },
    { name: 'nodes', type: 'string', value: 'N', description: 'a raft cluster of N nodes: node k listens on the --listen port + 2(k-1), its cluster port is the next one; this step starts and initialises node 1 (DIR/ENV-1), vault-https starts the others, which join over TLS', default: '1' },
    { name: 'node-listen', type: 'string', multiple: true, value: 'ADDR', description: 'a raft cluster with these nodes, in order (repeatable HOST:PORT; cluster port PORT+1 each), instead of --nodes', env: '' },
  ],
  async parse(run) {
    const f = run.flags;
    const shares = f.int('key-shares', { min: 1, max: 10 })!;
    const keysOut = f.string('keys-out');
    const keyShares: string[] = [];
    const { readShares } = await import('../vault-unseal.js');
    for (const file of f.list('key-file')) keyShares.push(...(await readShares(file)));
    const { nodesFromBase, nodesFromList } = await import('../../vault/cluster.js');
    const explicit = f.list('node-listen');
    const count = f.int('nodes', { min: 1, max: 9 })!;
    if (explicit.length > 0 && count > 1) throw new UsageError('--nodes and --node-listen are two ways to describe one cluster; pass one.', 'Use --nodes N with --listen BASE, or repeat --node-listen HOST:PORT per node.');
    const cluster = explicit.length > 0 ? nodesFromList(run.session.env, explicit) : count > 1 ? nodesFromBase(run.session.env, parseListen(f.string('listen')!), count) : undefined;
    const outDir = path.resolve(run.flags.require('out'));
    // A server already started from this directory keeps its runtime, image, name and network.
    const rec = run.session.state.steps['vault-server'];
    const recorded = rec?.status === 'done' && rec.facts.outDir === outDir ? rec.facts : undefined;
    const runtime = oneOf<'process' | 'podman'>(f.string('runtime'), ['process', 'podman'], '--runtime', recorded?.runtime === 'podman' ? 'podman' : 'process');
    if (recorded && recorded.runtime !== undefined && recorded.runtime !== runtime) throw new UsageError(`The Vault in ${outDir} was started with --runtime ${String(recorded.runtime)}; --runtime ${runtime} would start a second one on the same storage.`, `Drop --runtime (or pass --runtime ${String(recorded.runtime)}).`);
    if (runtime === 'podman' && cluster) throw new UsageError('A raft cluster (--nodes, --node-listen) runs as host processes in this version.', 'Drop --runtime podman, or run one server (no --nodes).');
    for (const flag of ['image', 'name', 'network', 'user']) if (runtime !== 'podman' && f.string(flag) !== undefined) throw new UsageError(`--${flag} is for --runtime podman.`, `Add --runtime podman, or drop --${flag}.`);
    const recordedText = (key: string) => (recorded && typeof recorded[key] === 'string' ? String(recorded[key]) : undefined);
    const bao = f.string('bao');
    const container =
      runtime === 'podman'
        ? {
            image: f.string('image') ?? recordedText('image') ?? DEFAULT_IMAGE,
            name: f.string('name') ?? recordedText('containerName') ?? `certwright-vault-${run.session.env}`,
            network: oneOf(f.string('network'), ['bridge', 'host'] as const, '--network', recordedText('network') === 'host' ? 'host' : 'bridge'),
            user: f.string('user') ? parseOwner(f.string('user')!, '--user') : recordedText('user') ? parseOwner(recordedText('user')!, 'the recorded user') : undefined,
            baoBinary: bao ? path.resolve(bao) : recordedText('baoBinary'),
          }
        : undefined;
    return {
      ...(cluster ? { cluster } : {}),
      outDir,
      listen: cluster ? cluster[0]!.listen : parseListen(f.string('listen')!),
      bao: path.resolve(bao ?? findBaoReal() ?? 'bao'),
      runtime,
      ...(container ? { container } : {}),
      shares,
      threshold: f.int('key-threshold', { min: 1, max: 10 }) ?? Math.min(3, shares),
      keysOut: keysOut ? path.resolve(keysOut) : undefined,
      keyShares,
      waitSeconds: f.int('wait', { min: 1, max: 600 })!,
    };
  },
  planTitle: (input) => `the environment's Vault in ${input.outDir}`,
  async plan(run, input) {
    return (await impl()).planVaultServer(run.session, input);
  },
  async apply(run, input) {
    return (await impl()).applyVaultServer(run.session, input, run.interact, run.report);
  },
  // A stopped server (a reboot, a kill between stopping its HTTP form and starting its TLS form) is started again by the plan.
  // A server on vault-https's TLS configuration that vault-https never recorded is started again on the loopback one.
  rerunOn: ['Vault server process runs', 'Vault server container runs', 'Vault cluster nodes run', 'Vault server runs its loopback-HTTP configuration'],
  async verify(run, input) {
    return (await impl()).verifyVaultServer(run.session, input);
  },
  json: (r) => ({ addr: r.addr, pid: r.pid, dir: r.dir, started: r.started, ...(r.container ? { container: r.container } : {}), ...(r.keysFile ? { keysFile: r.keysFile } : r.secrets ? { unseal_keys_b64: r.secrets.keysB64, root_token: r.secrets.rootToken } : {}) }),
  async present(r, input, run) {
    const lines = [`The environment's Vault runs at ${r.addr} (${r.container ? `container ${r.container}, ` : ''}PID ${r.pid}, ${r.dir}).`];
    if (input.cluster && input.cluster.length > 1) lines.push(`It is node 1 of ${input.cluster.length} (${input.cluster.map((n) => n.id).join(', ')}): vault-cert issues each node its certificate, and vault-https starts the others, which join over TLS.`);
    if (r.secrets) lines.push('', (await import('../vault-init.js')).formatSecrets(r.secrets).trimEnd());
    if (r.keysFile) lines.push(`Unseal keys and root token: ${r.keysFile} (0600) and nowhere else.`);
    lines.push('', `Next: certwright intermediate --env ${run.session.env} ... (installs the PKI into this Vault), then vault-cert and vault-https, which moves it to TLS.`);
    return lines.join('\n');
  },
});

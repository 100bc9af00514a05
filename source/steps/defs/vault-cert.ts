import { DEFAULT_MOUNT } from '../../defaults.js';
import path from 'node:path';
import { parseDuration } from '../../duration.js';
import { parseKeyType } from '../../pki/keys.js';
import { parseServerNames } from '../../pki/server-cert.js';
import { parseOwner } from '../../system/ownership.js';
import { validateMountPath, validateRoleName, envPaths } from '../../paths.js';
import { UsageError } from '../../errors.js';
import { defineStep } from '../step.js';
import { recordedCluster } from '../../vault/cluster.js';
import type { VaultCertInput, VaultCertPlan, VaultCertResult } from '../vault-cert.js';

const impl = () => import('../vault-cert.js');

export const SERVER_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'] as const;

export const vaultCert = defineStep<VaultCertInput, VaultCertPlan, VaultCertResult>({
  id: 'vault-cert',
  command: 'vault-cert',
  title: 'Vault\'s server certificate',
  summary: 'Issues Vault\'s own server certificate from the environment\'s PKI: creates or reuses a server-only role with exactly the names asked for, writes DIR/server.key (0600), server.crt, fullchain.pem (leaf then intermediates) and ca-chain.pem (intermediates + root), each with its final owner and mode before any byte. Re-running changes nothing while the certificate is valid, not near expiry and has the names; near expiry or with --renew it re-issues and can SIGHUP the server.',
  usage: 'vault-cert --env E --mount PATH --role NAME --dns NAMES --ip IPS --out DIR [--owner UID:GID] [--ttl DURATION] [--renew] [--reload-pid PID | --reload-container NAME]',
  mutates: true,
  where: 'online',
  session: 'required',
  inputs: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate that issues it', default: DEFAULT_MOUNT },
    { name: 'role', type: 'string', value: 'NAME', description: 'role to create or reuse (server flag only, exactly these names)', default: 'vault-server' },
    { name: 'dns', type: 'string', multiple: true, value: 'NAMES', description: 'DNS names, comma-separated (the first is the CN)', default: 'localhost' },
    { name: 'ip', type: 'string', multiple: true, value: 'IPS', description: 'IP addresses, comma-separated', default: '127.0.0.1' },
    { name: 'out', type: 'string', value: 'DIR', description: 'TLS directory for server.key, server.crt, fullchain.pem, ca-chain.pem', required: true, suggest: ({ env, home }) => path.join(envPaths(env, home).dir, 'vault-tls') },
    { name: 'owner', type: 'string', value: 'UID:GID', description: 'owner of the files: the uid:gid Vault\'s container runs as', defaultText: 'as recorded, else this user' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity', default: '90d' },
    { name: 'renew', type: 'boolean', description: 're-issue now, even if the current certificate is fine' },
    { name: 'renew-before', type: 'string', value: 'DURATION', description: 're-issue when less than this is left', defaultText: 'a third of the lifetime' },
    { name: 'key-type', type: 'string', value: 'TYPE', description: `server key: ${SERVER_KEY_TYPES.join(', ')}`, default: 'ec-p256' },
    { name: 'reload-pid', type: 'string', value: 'PID', description: 'after a re-issue, SIGHUP this bao/vault server process' },
    { name: 'reload-container', type: 'string', value: 'NAME', description: 'after a re-issue, SIGHUP this podman container (podman kill --signal HUP)' },
    { name: 'check-addr', type: 'string', value: 'URL', description: 'where to see the new certificate on the wire after the reload', defaultText: 'the address vault-https recorded' },
    { name: 'node', type: 'string', value: 'ID', description: 'a raft cluster (vault-server --nodes): only this node (ENV-k); after a re-issue only its server is sent SIGHUP', defaultText: 'every node, one after the other' },
  ],
  parse(run) {
    const f = run.flags;
    const pidText = f.string('reload-pid');
    if (pidText !== undefined && !/^\d+$/.test(pidText)) throw new UsageError(`--reload-pid "${pidText}" is not a PID.`, 'Pass the numeric PID of the bao server process.');
    const container = f.string('reload-container');
    if (pidText !== undefined && container !== undefined) throw new UsageError('--reload-pid and --reload-container are two ways to reach one server; pass one.', 'Use --reload-pid for a host process, --reload-container for podman.');
    const checkAddr = f.string('check-addr');
    if (checkAddr !== undefined && !/^https:\/\/[^/\s]+/.test(checkAddr)) throw new UsageError(`--check-addr ${checkAddr} is not an https URL.`, 'Pass the address Vault serves, e.g. --check-addr https://127.0.0.1:8200.');
    const renewBefore = f.string('renew-before');
    const recorded = run.session.state.steps['vault-cert']?.facts.owner;
    const ownerText = f.string('owner') ?? (typeof recorded === 'string' ? recorded : undefined);
    // The environment's Vault is a raft cluster: one certificate per node, each SIGHUPed alone.
    const cluster = recordedCluster(run.session.state.steps);
    const only = f.string('node');
    if (only !== undefined && !cluster) throw new UsageError(`--node ${only}: this environment's Vault is not a cluster (vault-server --nodes).`, 'Drop --node.');
    if (only !== undefined && !cluster!.nodes.some((n) => n.id === only)) throw new UsageError(`--node ${only} is not a node of this cluster (${cluster!.nodes.map((n) => n.id).join(', ')}).`, `Pass one of them, e.g. --node ${cluster!.nodes[0]!.id}.`);
    if (cluster && (pidText !== undefined || container !== undefined || checkAddr !== undefined)) throw new UsageError('In a cluster, vault-cert reloads each node\'s own server and checks it on the wire itself; --reload-pid, --reload-container and --check-addr name one server.', 'Drop them (use --node ID to renew one node).');
    return {
      ...(cluster ? { cluster: { dir: cluster.dir, nodes: cluster.nodes, only } } : {}),
      mount: validateMountPath(f.string('mount')!),
      role: validateRoleName(f.string('role')!),
      names: parseServerNames(f.csv('dns'), f.csv('ip')),
      outDir: path.resolve(f.require('out')),
      owner: ownerText ? parseOwner(ownerText) : undefined,
      ttlSeconds: parseDuration(f.string('ttl')!),
      renew: f.bool('renew'),
      renewBeforeSeconds: renewBefore ? parseDuration(renewBefore, '--renew-before') : undefined,
      keyType: parseKeyType(f.string('key-type')!, SERVER_KEY_TYPES),
      reload: pidText !== undefined ? { pid: Number(pidText) } : container !== undefined ? { container } : undefined,
      checkAddr: checkAddr ? new URL(checkAddr).origin : undefined,
    };
  },
  planTitle: (input) => `Vault server certificate in ${input.outDir}`,
  async plan(run, input) {
    return (await impl()).planVaultCert(run.session, run.vault(), input);
  },
  async apply(run, input) {
    return (await impl()).applyVaultCert(run.session, run.vault(), input, run.report);
  },
  present: (result) =>
    result.nodes
      ? result.nodes.map((r) => `${r.node}: ${r.issued ? 'issued' : 'kept'} ${r.fingerprint} (until ${r.notAfter}) in ${r.files.dir}${r.onWire ? '; the node presents it now' : ''}`).join('\n')
      : `${result.issued ? 'Issued' : 'Kept'} Vault's server certificate ${result.fingerprint} (until ${result.notAfter}) in ${result.files.dir}${result.onWire ? '; the server presents it now' : ''}.`,
});

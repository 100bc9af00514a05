import path from 'node:path';
import { formatListen, isWildcard, type ListenAddress } from '../system/ports.js';
import type { Owner } from '../system/ownership.js';
import { formatOwner } from '../system/ownership.js';

/**
 * Vault's server configuration and its Podman compose file, rendered from one model. Two HCL
 * files describe the same server: config/vault.hcl with the container's paths (mounted read-only
 * at /openbao/config) and vault-host.hcl with the host's paths (bao server -config=... on the host).
 *
 * The compose file is built so that the seed's container failures cannot happen:
 * - the container runs as the uid:gid that owns the TLS files and the data directory (`user:`),
 *   so nothing inside it needs to chown; SKIP_CHOWN tells the official entrypoint not to try;
 * - TLS and config are mounted read-only, the data directory read-write;
 * - no `userns_mode: keep-id`, no cap_add, no setcap (SKIP_SETCAP; disable_mlock = true).
 */

export type Storage = 'file' | 'raft';

export interface ServerModel {
  env: string;
  listen: ListenAddress;
  apiAddr: string;
  clusterAddr?: string | undefined;
  storage: Storage;
  /** Host directories. */
  outDir: string;
  tlsDir: string;
  dataDir: string;
  image: string;
  containerName: string;
  user: Owner;
  /** The host ids the container user maps to (rootless Podman); the same as user otherwise. */
  hostUser?: Owner | undefined;
  network: 'host' | 'bridge';
  /** Bind-mount this host bao binary into an image that has none (a minimal busybox image). */
  baoBinary?: string | undefined;
  /** Raft node id; default ENV-1 (the single server). */
  nodeId?: string | undefined;
  /** A cluster node's peers: retry_join over HTTPS, trusting only caFile (the environment root). */
  retryJoin?: RetryJoin[] | undefined;
  /** The file audit device of a Vault certwright runs (host path; see auditStanza). */
  auditLog?: string | undefined;
  /**
   * The Vault certwright runs in a container (vault-server --runtime podman): its audit log is
   * auditLog's directory, mounted read-write at CONTAINER.logs, and the container's configuration
   * declares the device there too (a configuration without the stanza would remove the device).
   */
  auditInContainer?: boolean | undefined;
}

export interface RetryJoin {
  apiAddr: string;
  /** A file holding only the environment's root: the intermediates are no trust anchors. */
  caFile: string;
}

function raftStanza(dataDir: string, nodeId: string, retryJoin: RetryJoin[] = []): string[] {
  const lines = ['storage "raft" {', `  path    = ${hclString(dataDir)}`, `  node_id = ${hclString(nodeId)}`];
  for (const j of retryJoin) {
    lines.push('  retry_join {', `    leader_api_addr     = ${hclString(j.apiAddr)}`, `    leader_ca_cert_file = ${hclString(j.caFile)}`, '  }');
  }
  lines.push('}');
  return lines;
}

/** The path of the file audit device certwright declares on the Vault it runs. */
export const AUDIT_DEVICE = 'certwright-file';

/**
 * The file audit device, declared in the server's configuration: OpenBao refuses to enable audit
 * devices through the API (CVE-2025-54997), and creates declared ones on the active node at
 * unseal, start and SIGHUP; a stanza that goes away removes its device, so every configuration of
 * the same server declares it. The log is Vault's own record of every request, the witness
 * `audit verify` holds certwright's records against (secrets in it are HMACed).
 */
function auditStanza(file: string): string[] {
  return [
    `audit "file" "${AUDIT_DEVICE}" {`,
    '  description = "certwright: Vault\'s own record of every request (audit verify)"',
    '  options {',
    `    file_path = ${hclString(file)}`,
    '    mode      = "0600"',
    '  }',
    '}',
    '',
  ];
}

export const CONTAINER = {
  config: '/openbao/config',
  data: '/openbao/file',
  tls: '/openbao/tls',
  bao: '/usr/local/bin/bao',
  logs: '/openbao/logs',
} as const;

/** The audit log's path inside the container (its directory is mounted at CONTAINER.logs). */
function containerAuditLog(hostLog: string): string {
  return `${CONTAINER.logs}/${path.basename(hostLog)}`;
}

export function serverPaths(outDir: string) {
  const d = path.resolve(outDir);
  return { dir: d, configDir: path.join(d, 'config'), config: path.join(d, 'config', 'vault.hcl'), hostConfig: path.join(d, 'vault-host.hcl'), bootstrapConfig: path.join(d, 'vault-bootstrap.hcl'), compose: path.join(d, 'compose.yaml'), data: path.join(d, 'data'), audit: path.join(d, 'audit.log'), containerAudit: path.join(d, 'audit', 'audit.log'), pidFile: path.join(d, 'vault.pid'), log: path.join(d, 'vault.log') };
}

function hclString(value: string): string {
  return JSON.stringify(value);
}

export function renderHcl(model: ServerModel, where: 'container' | 'host'): string {
  const tls = where === 'container' ? CONTAINER.tls : model.tlsDir;
  const data = where === 'container' ? CONTAINER.data : model.dataDir;
  // Inside a bridge-networked container Vault listens on all interfaces; the port is published.
  const address = where === 'container' && model.network === 'bridge' ? `0.0.0.0:${model.listen.port}` : formatListen(model.listen);
  const lines = [
    `# Vault/OpenBao server for environment "${model.env}", rendered by certwright (vault-https).`,
    `# ${where === 'container' ? 'Container paths: mounted from the host by compose.yaml.' : 'Host paths: bao server -config=<this file>.'}`,
    'ui            = false',
    '# OpenBao has no mlock (nothing to add); for HashiCorp Vault without IPC_LOCK add: disable_mlock = true',
    `api_addr      = ${hclString(model.apiAddr)}`,
  ];
  if (model.storage === 'raft' && model.clusterAddr) lines.push(`cluster_addr  = ${hclString(model.clusterAddr)}`);
  lines.push(
    '',
    'listener "tcp" {',
    `  address         = ${hclString(address)}`,
    '  # Leaf first, then the intermediate: clients that trust only the root can verify it.',
    `  tls_cert_file   = ${hclString(`${tls}/fullchain.pem`)}`,
    `  tls_key_file    = ${hclString(`${tls}/server.key`)}`,
    '  tls_min_version = "tls12"',
    '  # Both files are re-read on SIGHUP: certwright vault-cert --renew --reload-... rotates them.',
    '}',
    '',
  );
  if (model.storage === 'file') {
    // Vault and OpenBao before 2.7 only: OpenBao 2.7 removed the file backend (openbao#2846).
    lines.push('storage "file" {', `  path = ${hclString(data)}`, '}');
  } else {
    lines.push(...raftStanza(data, model.nodeId ?? `${model.env}-1`, model.retryJoin));
  }
  if (where === 'host' && model.auditLog) lines.push('', ...auditStanza(model.auditLog).slice(0, -1));
  if (where === 'container' && model.auditLog && model.auditInContainer) lines.push('', ...auditStanza(containerAuditLog(model.auditLog)).slice(0, -1));
  return `${lines.join('\n')}\n`;
}

/**
 * The first configuration of a Vault that certwright runs itself, before its own certificate
 * exists: plain HTTP on a loopback address only, the same raft storage and node id that
 * vault-https later serves over TLS. Refused for any non-loopback address by the vault-server step.
 */
export function renderBootstrapHcl(model: Pick<ServerModel, 'env' | 'listen' | 'dataDir' | 'nodeId' | 'auditLog'> & { container?: Pick<ServerModel, 'network'> | undefined }): string {
  const addr = formatListen(model.listen);
  // In a container the paths are the container's; on a bridge network Vault listens on all of the
  // container's interfaces and the port is published on the loopback address only.
  const bind = model.container?.network === 'bridge' ? `0.0.0.0:${model.listen.port}` : addr;
  const dataDir = model.container ? CONTAINER.data : model.dataDir;
  const auditLog = model.auditLog && model.container ? containerAuditLog(model.auditLog) : model.auditLog;
  return [
    `# Vault/OpenBao server for environment "${model.env}" before it has its own certificate,`,
    '# rendered by certwright (vault-server). Loopback HTTP only; `certwright vault-https` moves this',
    '# same server, with this same storage, to TLS and removes this listener.',
    'ui            = false',
    `api_addr      = ${hclString(`http://${addr}`)}`,
    `cluster_addr  = ${hclString(`https://${model.listen.host}:${model.listen.port + 1}`)}`,
    '',
    'listener "tcp" {',
    `  address     = ${hclString(bind)}`,
    '  tls_disable = true',
    '}',
    '',
    ...raftStanza(dataDir, model.nodeId ?? `${model.env}-1`),
    '',
    ...(auditLog ? auditStanza(auditLog) : []),
  ].join('\n');
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

export interface ContainerSpec {
  entrypoint?: string[] | undefined;
  command: string[];
  environment: Record<string, string>;
  volumes: string[];
  ports: string[];
}

/** What a container of the server needs; tlsDir is absent before the certificate exists (vault-server). */
export type ContainerModel = Pick<ServerModel, 'env' | 'listen' | 'outDir' | 'dataDir' | 'image' | 'containerName' | 'user' | 'network' | 'baoBinary' | 'auditLog' | 'auditInContainer'> & { tlsDir?: string | undefined };

/**
 * The configuration a container of the server was started with: the TLS one (OUT/config, mounted
 * as a directory) or vault-server's loopback-HTTP one (OUT/vault-bootstrap.hcl, mounted as the
 * one file of /openbao/config).
 */
export function containerConfigMount(model: Pick<ContainerModel, 'outDir' | 'tlsDir'>): { source: string; destination: string } {
  const p = serverPaths(model.outDir);
  return model.tlsDir ? { source: p.configDir, destination: CONTAINER.config } : { source: p.bootstrapConfig, destination: `${CONTAINER.config}/vault.hcl` };
}

/** Which of the server's configurations a container's mounts show: vault-server's, vault-https's, or another. */
export function configOfMounts(outDir: string, mounts: Map<string, string>): 'bootstrap' | 'tls' | 'other' {
  const p = serverPaths(outDir);
  if (mounts.get(`${CONTAINER.config}/vault.hcl`) === p.bootstrapConfig) return 'bootstrap';
  if (mounts.get(CONTAINER.config) === p.configDir) return 'tls';
  return 'other';
}

export function containerSpec(model: ContainerModel): ContainerSpec {
  const config = containerConfigMount(model);
  const volumes = [`${config.source}:${config.destination}:ro`, `${model.dataDir}:${CONTAINER.data}:rw`];
  if (model.tlsDir) volumes.push(`${model.tlsDir}:${CONTAINER.tls}:ro`);
  if (model.auditLog && model.auditInContainer) volumes.push(`${path.dirname(model.auditLog)}:${CONTAINER.logs}:rw`);
  if (model.baoBinary) volumes.push(`${model.baoBinary}:${CONTAINER.bao}:ro`);
  const h = model.listen.host;
  const hostPart = isWildcard(h) ? '' : h.includes(':') ? `[${h}]:` : `${h}:`;
  const ports = model.network === 'bridge' ? [`${hostPart}${model.listen.port}:${model.listen.port}`] : [];
  return {
    // The official image's entrypoint adds -config=/openbao/config itself; a plain image gets bao directly.
    ...(model.baoBinary ? { entrypoint: [CONTAINER.bao] } : {}),
    command: model.baoBinary ? ['server', `-config=${CONTAINER.config}`] : ['server'],
    environment: { SKIP_CHOWN: 'true', SKIP_SETCAP: 'true' },
    volumes,
    ports,
  };
}

export function renderCompose(model: ServerModel): string {
  const spec = containerSpec(model);
  const lines = [
    `# Vault/OpenBao over HTTPS for environment "${model.env}", rendered by certwright (vault-https).`,
    '# Runs as the owner of the TLS files and data directory: nothing in the container chowns.',
    '# No userns keep-id, no added capabilities, no setcap: see the README (Vault over HTTPS).',
    'services:',
    '  vault:',
    `    image: ${yamlString(model.image)}`,
    `    container_name: ${yamlString(model.containerName)}`,
    `    user: ${yamlString(formatOwner(model.user))}`,
  ];
  if (spec.entrypoint) lines.push(`    entrypoint: [${spec.entrypoint.map(yamlString).join(', ')}]`);
  lines.push(`    command: [${spec.command.map(yamlString).join(', ')}]`);
  if (model.network === 'host') lines.push('    network_mode: host');
  else lines.push('    ports:', ...spec.ports.map((p) => `      - ${yamlString(p)}`));
  lines.push('    environment:', ...Object.entries(spec.environment).map(([k, v]) => `      ${k}: ${yamlString(v)}`));
  lines.push('    volumes:', ...spec.volumes.map((v) => `      - ${yamlString(v)}`));
  lines.push('    labels:', `      certwright.env: ${yamlString(model.env)}`, '      certwright.role: "vault"');
  lines.push('    restart: unless-stopped');
  return `${lines.join('\n')}\n`;
}

/** The same container as `podman run` arguments, for machines without podman-compose. */
export function podmanRunArgs(model: ContainerModel): string[] {
  const spec = containerSpec(model);
  const args = ['run', '-d', '--name', model.containerName, '--user', formatOwner(model.user), '--label', `certwright.env=${model.env}`, '--label', 'certwright.role=vault', '--restart', 'unless-stopped'];
  if (model.network === 'host') args.push('--network', 'host');
  for (const p of spec.ports) args.push('-p', p);
  for (const [k, v] of Object.entries(spec.environment)) args.push('-e', `${k}=${v}`);
  for (const v of spec.volumes) args.push('-v', v);
  if (spec.entrypoint) args.push('--entrypoint', spec.entrypoint[0]!);
  args.push(model.image, ...spec.command);
  return args;
}

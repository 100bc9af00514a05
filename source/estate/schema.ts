/**
 * The estate file's JSON Schema: the one definition. docs/estate.schema.json is this object,
 * written out (a test checks the two are the same). Strict: additionalProperties is false at
 * every level, so a misspelt key is an error at its line and column, never silently ignored.
 * After a change, rewrite the file (test/estate.test.ts fails until then):
 *   npx tsc -p tsconfig.json && node --input-type=module -e "import {ESTATE_SCHEMA as s} from './build/source/estate/schema.js'; import fs from 'node:fs'; fs.writeFileSync('docs/estate.schema.json', JSON.stringify(s, null, 2) + '\n')"
 */

const str = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', minLength: 1, description, ...extra });
const strList = (description: string) => ({ type: 'array', items: { type: 'string', minLength: 1 }, description });
const duration = (description: string) => str(`${description} (10y, 90d, 72h, 30m or seconds)`, { pattern: '^[0-9]+(y|d|h|m|s)?$' });

export const ESTATE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://certwright.invalid/schemas/estate.schema.json',
  title: 'certwright estate file',
  description: 'One environment\'s desired TLS estate. Holds no secrets: passphrases, unseal keys and tokens come from flags, files or prompts. Relative paths resolve against the directory of the estate file.',
  type: 'object',
  additionalProperties: false,
  required: ['environment', 'root', 'vault', 'intermediate'],
  properties: {
    environment: str('the environment name (--env)', { pattern: '^[a-z0-9][a-z0-9_-]{0,40}$' }),
    root: {
      type: 'object',
      additionalProperties: false,
      required: ['dir', 'cn'],
      description: 'the offline root (root-create)',
      properties: {
        dir: str('the ceremony directory: root-ca.key (offline machine only) and root-ca.pem (--out)'),
        cn: str('the root CA\'s common name (--cn)'),
        key_type: { type: 'string', enum: ['ec-p384', 'ec-p256', 'rsa-4096', 'rsa-3072'], description: '--key-type' },
        ttl: duration('validity (--ttl)'),
        path_len: { type: ['integer', 'null'], minimum: 0, maximum: 10, description: 'pathlen constraint; null or absent for none (--path-len)' },
        custody: {
          type: 'object',
          additionalProperties: false,
          required: ['custodians', 'threshold', 'shares_out'],
          description: 'M-of-N custody of the root key instead of one passphrase: a random passphrase nobody sees, split into one share per custodian; apply then opens the root with --share',
          properties: {
            custodians: { type: 'integer', minimum: 2, maximum: 255, description: '--custodians' },
            threshold: { type: 'integer', minimum: 2, maximum: 255, description: '--threshold (at most custodians)' },
            names: strList('--custodian-names: one per custodian, each share file is NAME.share'),
            shares_out: str('--shares-out: where the share files are written (not root.dir)'),
          },
        },
      },
    },
    vault: {
      type: 'object',
      additionalProperties: false,
      description: 'the Vault server: address: for a Vault you run yourself, or listen: (one server) or nodes: (a raft cluster) for one certwright runs',
      properties: {
        address: str('the address of a Vault you run yourself (--vault-addr)', { pattern: '^https?://' }),
        ca: str('CA file trusted for that Vault\'s HTTPS (--vault-ca)'),
        allow_http: { type: 'boolean', description: 'address: is plain http (a throwaway lab only); agents are written with --allow-http' },
        listen: str('HOST:PORT of the Vault certwright runs (vault-https --listen)'),
        nodes: {
          description: 'a raft cluster certwright runs (vault-server --nodes / --node-listen): a node count with listen_base (node k listens on the base port + 2(k-1), its raft cluster port is the next one), or the nodes in order, each { listen: HOST:PORT } (cluster port PORT+1)',
          oneOf: [
            { type: 'integer', minimum: 1, maximum: 9 },
            {
              type: 'array',
              minItems: 1,
              maxItems: 9,
              items: { type: 'object', additionalProperties: false, required: ['listen'], properties: { listen: str('HOST:PORT of this node\'s API; its raft cluster port is PORT+1') } },
            },
          ],
        },
        cluster_address: str('a raft cluster: the one address agents are written with (an OpenBao agent has a single vault address): a DNS name or load balancer that reaches whichever node is up; the node certificates must carry its name (vault_cert.dns). Default: node 1\'s address', { pattern: '^https://' }),
        listen_base: str('with nodes: N, the first node\'s HOST:PORT (vault-server --listen)'),
        data_dir: str('where certwright keeps that server\'s config and raft storage (vault-https --out)'),
        runtime: { type: 'string', enum: ['process', 'podman'], description: 'how certwright runs that server (vault-server --runtime): process (bao server on the host, the default) or podman (the same server in a container, data_dir/data bind-mounted and kept; vault-https recreates that container on TLS)' },
        image: str('container image for the podman runtime (vault-server --image); pulled when absent, the plan says so'),
        container: str('container name for the podman runtime (vault-server --name; default certwright-vault-ENVIRONMENT)'),
        network: { type: 'string', enum: ['bridge', 'host'], description: 'the podman runtime\'s network (vault-server --network): bridge (default; the port published on the listen address only) or host (rootless Podman without slirp4netns)' },
        bao: str('the bao binary: for the process runtime the server\'s (vault-server --bao); for the podman runtime one bind-mounted into an image that has none (vault-https --bao-binary)'),
        key_shares: { type: 'integer', minimum: 1, maximum: 10, description: 'vault-init --key-shares' },
        key_threshold: { type: 'integer', minimum: 1, maximum: 10, description: 'vault-init --key-threshold' },
      },
    },
    intermediate: {
      type: 'object',
      additionalProperties: false,
      required: ['cn'],
      description: 'the intermediate and its mount (intermediate, or request / sign / install across the air gap)',
      properties: {
        mount: str('PKI mount (--mount)'),
        cn: str('the intermediate CA\'s common name (--cn)'),
        key_type: { type: 'string', enum: ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'], description: '--key-type' },
        max_ttl: duration('mount max lease TTL (--max-ttl)'),
        ttl: duration('validity of the intermediate (--ttl)'),
        path_len: { type: 'integer', minimum: 0, maximum: 10, description: '--path-len' },
        permitted_dns: strList('DNS name constraints (--permitted-dns)'),
      },
    },
    vault_cert: {
      type: 'object',
      additionalProperties: false,
      required: ['dir'],
      description: 'Vault\'s own server certificate (vault-cert)',
      properties: {
        role: str('--role'),
        dns: strList('--dns'),
        ip: strList('--ip'),
        dir: str('TLS directory (--out)'),
        ttl: duration('--ttl'),
        key_type: { type: 'string', enum: ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'], description: '--key-type' },
        owner: str('UID:GID owning the files (--owner)', { pattern: '^[0-9]+:[0-9]+$' }),
      },
    },
    urls: {
      type: 'object',
      additionalProperties: false,
      required: ['base'],
      description: 'the HTTPS origin the AIA/CRL URLs switch to (switch-urls)',
      properties: { base: str('switch-urls --base', { pattern: '^https://' }) },
    },
    agents: {
      type: 'array',
      description: 'app and proxy agents (agent app / agent proxy)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'name', 'out'],
        properties: {
          kind: { type: 'string', enum: ['app', 'proxy'] },
          name: str('--name', { pattern: '^[a-z0-9][a-z0-9_-]{0,40}$' }),
          common_name: str('app: --common-name'),
          alt_names: strList('app: --alt-names'),
          ttl: duration('app: leaf lifetime (--ttl)'),
          tls_dir: str('app: --tls-dir'),
          ca_out: str('proxy: --ca-out'),
          out: str('--out'),
          user: str('the service user (--user); apply installs and starts the agent in that user\'s systemd (--install)'),
          install: { type: 'boolean', description: 'with user: install and start the unit in the user\'s systemd (--install; default true); false only writes the files and the install commands' },
          host: str('the name of a hosts: entry: the agent runs on that managed host and is rolled out by `export ansible` (apply leaves it alone); needs user: and absolute paths', { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }),
        },
        allOf: [
          { if: { properties: { kind: { const: 'app' } } }, then: { required: ['common_name', 'tls_dir'] } },
          { if: { properties: { kind: { const: 'proxy' } } }, then: { required: ['ca_out'] } },
        ],
      },
    },
    hosts: {
      type: 'array',
      description: 'managed hosts for `certwright export ansible`: agents name their host with host:',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: str('the inventory hostname', { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }),
          address: str('how Ansible reaches it (ansible_host); default: name'),
          connection: str('ansible_connection (ssh, containers.podman.podman, local...); default: Ansible\'s own'),
          port: { type: 'integer', minimum: 1, maximum: 65535, description: 'ansible_port (the SSH port; default: Ansible\'s own, 22)' },
          certwright: strList('argv that runs certwright on that host, for the hook (default: [/usr/local/bin/certwright])'),
          bao: str('the bao binary on that host (default: /usr/local/bin/bao)'),
          vault_address: str('the Vault address as that host reaches it (default: vault.address / https://vault.listen)', { pattern: '^https?://' }),
        },
      },
    },
    distribute_ca: {
      type: 'object',
      additionalProperties: false,
      required: ['users'],
      description: 'copy the root into each service user\'s trust path (distribute-ca)',
      properties: {
        users: strList('--users'),
        ca: str('the CA file (--ca); default: root.dir/root-ca.pem'),
        path: str('path inside each home (--path)'),
      },
    },
    build_role: {
      type: 'object',
      additionalProperties: false,
      description: 'the client-only build role and its AppRole (build-role)',
      properties: {
        role: str('--role'),
        allowed_apps: strList('--allowed-apps'),
        ttl: duration('--ttl'),
        key_type: { type: 'string', enum: ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'], description: '--key-type' },
        approle: str('--approle'),
        token_ttl: duration('--token-ttl'),
        secret_id_ttl: duration('--secret-id-ttl'),
        bound_cidrs: strList('--bound-cidrs'),
        role_id_out: str('--role-id-out'),
        secret_id_out: str('--secret-id-out'),
      },
    },
    air_gap: {
      type: 'object',
      additionalProperties: false,
      description: 'what crosses the air gap',
      properties: { carry_dir: str('where the CSR and the signed intermediate are written for carrying (default: ./carry)') },
    },
  },
} as const;

export interface EstateFile {
  environment: string;
  root: { dir: string; cn: string; key_type?: string; ttl?: string; path_len?: number | null; custody?: { custodians: number; threshold: number; names?: string[]; shares_out: string } };
  vault: { address?: string; ca?: string; allow_http?: boolean; listen?: string; nodes?: number | Array<{ listen: string }>; listen_base?: string; cluster_address?: string; data_dir?: string; runtime?: 'process' | 'podman'; image?: string; container?: string; network?: 'bridge' | 'host'; bao?: string; key_shares?: number; key_threshold?: number };
  intermediate: { mount?: string; cn: string; key_type?: string; max_ttl?: string; ttl?: string; path_len?: number; permitted_dns?: string[] };
  vault_cert?: { role?: string; dns?: string[]; ip?: string[]; dir: string; ttl?: string; key_type?: string; owner?: string };
  urls?: { base: string };
  agents?: Array<{ kind: 'app' | 'proxy'; name: string; common_name?: string; alt_names?: string[]; ttl?: string; tls_dir?: string; ca_out?: string; out: string; user?: string; install?: boolean; host?: string }>;
  hosts?: Array<{ name: string; address?: string; connection?: string; port?: number; certwright?: string[]; bao?: string; vault_address?: string }>;
  distribute_ca?: { users: string[]; ca?: string; path?: string };
  build_role?: { role?: string; allowed_apps?: string[]; ttl?: string; key_type?: string; approle?: string; token_ttl?: string; secret_id_ttl?: string; bound_cidrs?: string[]; role_id_out?: string; secret_id_out?: string };
  air_gap?: { carry_dir?: string };
}

/** The estate's Vault is one certwright runs (listen:, or a raft cluster with nodes:). */
export function managedVault(vault: EstateFile['vault']): boolean {
  return vault.listen !== undefined || vault.nodes !== undefined;
}

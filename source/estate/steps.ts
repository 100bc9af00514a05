import fs from 'node:fs';
import path from 'node:path';
import type { FlagValues } from '../flags.js';
import { DEFAULT_MOUNT } from '../defaults.js';
import { mountSlug } from '../steps/inputs.js';
import type { Estate } from './load.js';
import { managedVault } from './schema.js';

/**
 * An estate file as registry steps, in pipeline order. Each field maps to the step input of the
 * same meaning (snake_case -> the kebab-case flag); what the file leaves out takes the step's own
 * default, the one place defaults are defined. Nothing here runs anything.
 */

export interface EstateStep {
  /** Unique within the estate ("agent-app web"); the registry id when there is one of it. */
  key: string;
  /** Registry step id. */
  id: string;
  /** The step's inputs, as flags would carry them, plus the global env / vault-addr / vault-ca. */
  values: FlagValues;
  /** State record that marks the step done in this environment, when the step keeps one. */
  record?: string;
  /** Files this step produces that the other side of the air gap needs. */
  carries: string[];
}

export interface MapOptions {
  /** Run the whole file on one machine: the one-go intermediate instead of request / sign / install. */
  oneMachine: boolean;
  passphraseFile?: string | undefined;
  /** --share files of the root's custodians, for the steps that open the root. */
  shares?: string[] | undefined;
  keysOut?: string | undefined;
}

const set = (values: FlagValues, name: string, value: string | number | boolean | string[] | null | undefined): void => {
  if (value === undefined || value === null) return;
  values[name] = typeof value === 'number' ? String(value) : value;
};

/** The files the split intermediate carries across the air gap. */
export function carryFiles(estate: Estate): { csr: string; cert: string } {
  const slug = mountSlug(estate.spec.intermediate.mount ?? DEFAULT_MOUNT);
  const dir = estate.spec.air_gap!.carry_dir!;
  return { csr: path.join(dir, `${slug}-intermediate.csr`), cert: path.join(dir, `${slug}-intermediate.pem`) };
}

export function estateSteps(estate: Estate, options: MapOptions): EstateStep[] {
  const s = estate.spec;
  const env = s.environment;
  const mount = s.intermediate.mount ?? DEFAULT_MOUNT;
  const rootCert = path.join(s.root.dir, 'root-ca.pem');
  const offline = (): FlagValues => ({ env });
  const online = (): FlagValues => {
    const v: FlagValues = { env };
    set(v, 'vault-addr', s.vault.address);
    // The Vault certwright runs is served from this environment's PKI: its root is the CA to trust,
    // also on an online machine whose state never saw the root ceremony (split at the air gap).
    set(v, 'vault-ca', s.vault.ca ?? (managedVault(s.vault) ? rootCert : undefined));
    return v;
  };
  const steps: EstateStep[] = [];

  const root = offline();
  set(root, 'out', s.root.dir);
  set(root, 'cn', s.root.cn);
  set(root, 'key-type', s.root.key_type);
  set(root, 'ttl', s.root.ttl);
  // path_len: null (or absent) is "no constraint", the step's empty default.
  set(root, 'path-len', s.root.path_len === null ? '' : s.root.path_len);
  if (s.root.custody) {
    set(root, 'custodians', s.root.custody.custodians);
    set(root, 'threshold', s.root.custody.threshold);
    set(root, 'custodian-names', s.root.custody.names?.join(','));
    set(root, 'shares-out', s.root.custody.shares_out);
  } else set(root, 'passphrase-file', options.passphraseFile);
  steps.push({ key: 'root-create', id: 'root-create', values: root, record: 'root-create', carries: [rootCert] });

  // A Vault certwright runs (listen:): vault-server starts it on loopback HTTP (initialised and
  // unsealed), the PKI goes into it, and vault-https later moves that same server to TLS.
  const managed = managedVault(s.vault);
  const serverDir = s.vault.data_dir ?? path.join(estate.dir, 'vault');
  if (managed) {
    const v: FlagValues = { env };
    set(v, 'out', serverDir);
    set(v, 'listen', s.vault.listen ?? s.vault.listen_base);
    // A raft cluster: vault-server starts node 1; vault-cert and vault-https find the nodes in state.
    if (typeof s.vault.nodes === 'number') set(v, 'nodes', s.vault.nodes);
    else if (s.vault.nodes) v['node-listen'] = s.vault.nodes.map((n) => n.listen);
    set(v, 'keys-out', options.keysOut);
    set(v, 'key-shares', s.vault.key_shares);
    set(v, 'key-threshold', s.vault.key_threshold);
    set(v, 'bao', s.vault.bao);
    // runtime: podman runs the same server in a container; vault-https finds it in state and moves that container.
    set(v, 'runtime', s.vault.runtime);
    if (s.vault.runtime === 'podman') {
      set(v, 'image', s.vault.image);
      set(v, 'name', s.vault.container);
      set(v, 'network', s.vault.network);
    }
    // The shares of a first run, for a server restarted on its storage (after a reboot, say).
    if (options.keysOut && fs.existsSync(options.keysOut)) v['key-file'] = [options.keysOut];
    steps.push({ key: 'vault-server', id: 'vault-server', values: v, record: 'vault-server', carries: [] });
  }

  const i = s.intermediate;
  const signValues = (v: FlagValues) => {
    set(v, 'path-len', i.path_len);
    set(v, 'ttl', i.ttl);
    set(v, 'permitted-dns', i.permitted_dns?.join(','));
    set(v, 'passphrase-file', options.passphraseFile);
    if (options.shares?.length) v.share = options.shares;
  };
  if (options.oneMachine) {
    const v = online();
    set(v, 'mount', mount);
    set(v, 'cn', i.cn);
    set(v, 'key-type', i.key_type);
    set(v, 'max-ttl', i.max_ttl);
    set(v, 'root-dir', s.root.dir);
    signValues(v);
    steps.push({ key: 'intermediate', id: 'intermediate', values: v, record: `intermediate-install@${mount}`, carries: [] });
  } else {
    const files = carryFiles(estate);
    const req = online();
    set(req, 'mount', mount);
    set(req, 'cn', i.cn);
    set(req, 'key-type', i.key_type);
    set(req, 'max-ttl', i.max_ttl);
    set(req, 'csr-out', files.csr);
    steps.push({ key: 'intermediate-request', id: 'intermediate-request', values: req, record: `intermediate-request@${mount}`, carries: [files.csr] });
    const sign = offline();
    set(sign, 'root-dir', s.root.dir);
    set(sign, 'csr', files.csr);
    set(sign, 'out', files.cert);
    signValues(sign);
    steps.push({ key: 'intermediate-sign', id: 'intermediate-sign', values: sign, carries: [files.cert] });
    const inst = online();
    set(inst, 'mount', mount);
    set(inst, 'cert', files.cert);
    set(inst, 'root', rootCert);
    steps.push({ key: 'intermediate-install', id: 'intermediate-install', values: inst, record: `intermediate-install@${mount}`, carries: [] });
  }

  if (s.vault_cert) {
    const c = s.vault_cert;
    const v = online();
    set(v, 'mount', mount);
    set(v, 'role', c.role);
    set(v, 'dns', c.dns);
    set(v, 'ip', c.ip);
    set(v, 'out', c.dir);
    set(v, 'ttl', c.ttl);
    set(v, 'key-type', c.key_type);
    set(v, 'owner', c.owner);
    steps.push({ key: 'vault-cert', id: 'vault-cert', values: v, carries: [] });
  }

  // The Vault certwright runs moves to HTTPS (the same process, the same storage) and is unsealed
  // there; it was initialised by vault-server. A Vault you run yourself (address:) is yours to
  // serve over HTTPS; these steps are not run for it.
  if (managed) {
    const h = online();
    set(h, 'tls-dir', s.vault_cert?.dir);
    set(h, 'out', serverDir);
    set(h, 'listen', s.vault.listen);
    set(h, 'bao-binary', s.vault.bao);
    if (options.keysOut) h['key-file'] = [options.keysOut];
    steps.push({ key: 'vault-https', id: 'vault-https', values: h, record: 'vault-https', carries: [] });
  }

  if (s.urls) {
    const v = online();
    set(v, 'mount', mount);
    set(v, 'base', s.urls.base);
    steps.push({ key: 'switch-urls', id: 'switch-urls', values: v, record: `switch-urls@${mount}`, carries: [] });
  }

  // Before the agents, not after: an agent with a service user trusts the CA distributed to that
  // user (~SVCUSER/.config/certwright/ca.pem) when there is one. Distributed after the agents, it
  // would change every such agent's CA on the next apply, and a second apply must change nothing.
  if (s.distribute_ca) {
    const v = online();
    set(v, 'ca', s.distribute_ca.ca ?? rootCert);
    set(v, 'users', s.distribute_ca.users.join(','));
    set(v, 'path', s.distribute_ca.path);
    steps.push({ key: 'distribute-ca', id: 'distribute-ca', values: v, carries: [] });
  }

  for (const a of s.agents ?? []) {
    // An agent on a managed host is rolled out there by `certwright export ansible`, not here.
    if (a.host !== undefined) continue;
    const v = online();
    set(v, 'mount', mount);
    set(v, 'name', a.name);
    set(v, 'out', a.out);
    set(v, 'user', a.user);
    // An agent with a service user runs as that user's systemd unit: apply puts it there.
    if (a.user && a.install !== false) v.install = true;
    if (a.kind === 'app') {
      set(v, 'common-name', a.common_name);
      set(v, 'alt-names', a.alt_names?.join(','));
      set(v, 'ttl', a.ttl);
      set(v, 'tls-dir', a.tls_dir);
    } else set(v, 'ca-out', a.ca_out);
    if (s.vault.allow_http) v['allow-http'] = true;
    // A cluster: an agent has one Vault address; cluster_address names what reaches any node.
    set(v, 'agent-vault-addr', s.vault.cluster_address);
    steps.push({ key: `agent-${a.kind} ${a.name}`, id: `agent-${a.kind}`, values: v, carries: [] });
  }

  if (s.build_role) {
    const b = s.build_role;
    const v = online();
    set(v, 'mount', mount);
    set(v, 'role', b.role);
    set(v, 'allowed-apps', b.allowed_apps?.join(','));
    set(v, 'ttl', b.ttl);
    set(v, 'key-type', b.key_type);
    set(v, 'approle', b.approle);
    set(v, 'token-ttl', b.token_ttl);
    set(v, 'secret-id-ttl', b.secret_id_ttl);
    set(v, 'bound-cidrs', b.bound_cidrs?.join(','));
    set(v, 'role-id-out', b.role_id_out);
    set(v, 'secret-id-out', b.secret_id_out);
    steps.push({ key: 'build-role', id: 'build-role', values: v, carries: [] });
  }
  return steps;
}

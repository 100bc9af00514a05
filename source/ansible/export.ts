import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { OperatorError } from '../errors.js';
import { DEFAULT_MOUNT, DEFAULT_TRUST_PATH } from '../defaults.js';
import { parseDuration } from '../duration.js';
import { splitNames, validateWorkloadName } from '../steps/inputs.js';
import { agentPaths, renderAgentHcl, renderTemplate, renderUnit, unitName, type AgentSpec } from '../agent/render.js';
import type { Estate } from '../estate/load.js';
import type { EstateFile } from '../estate/schema.js';
import { ROLE_FILES } from './roles.js';

/**
 * `certwright export ansible`: the estate's managed hosts as plain Ansible. Pure: reads the estate
 * and the root certificate (root.dir/root-ca.pem, and vault.ca), never Vault, and returns the
 * files of the export. The agent config, template and unit are rendered by the same functions
 * `agent app|proxy` uses, so a host configured by Ansible gets exactly what certwright would write.
 *
 * No secret is in the export. role_id and the response-wrapped secret_id are fetched at run time
 * by an `ansible.builtin.pipe` lookup of `certwright ansible-secret` on the controller, only for an
 * agent that is about to (re)start, and go from the lookup's stdout into the host's 0600 file
 * (no_log), never onto the controller's disk.
 */

export type EstateAgent = NonNullable<EstateFile['agents']>[number];
export type EstateHost = NonNullable<EstateFile['hosts']>[number];

export const DEFAULT_HOST_CERTWRIGHT = ['/usr/local/bin/certwright'];
export const DEFAULT_HOST_BAO = '/usr/local/bin/bao';
/** The user unit directory and its parents, under the home, each 0700 (the trust path's own are not repeated). */
const USER_UNIT_DIRS = ['.config', '.config/systemd', '.config/systemd/user'];
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HostAgent {
  agent: EstateAgent;
  host: EstateHost;
  spec: AgentSpec;
  /** `KIND/NAME`: how `ansible-secret --agent` names it. */
  id: string;
}

/** The Vault address an agent on this host uses. */
export function hostVaultAddress(estate: Estate, host: EstateHost): string {
  const v = estate.spec.vault;
  const addr = host.vault_address ?? v.address ?? (v.listen ? `https://${v.listen}` : undefined);
  if (!addr) throw new OperatorError(`No Vault address is known for host ${host.name}.`, 'Set vault.address (or vault_address: on the host) in the estate file.');
  if (addr.startsWith('http://') && !v.allow_http) throw new OperatorError(`Host ${host.name} would reach Vault over plain HTTP (${addr}).`, 'Give the host an https:// vault_address.');
  return addr.replace(/\/+$/, '');
}

/** The estate's agents that run on managed hosts, each with the spec certwright renders for it. */
export function hostAgents(estate: Estate): HostAgent[] {
  const s = estate.spec;
  const hosts = new Map((s.hosts ?? []).map((h) => [h.name, h]));
  const mount = s.intermediate.mount ?? DEFAULT_MOUNT;
  const out: HostAgent[] = [];
  for (const a of s.agents ?? []) {
    if (a.host === undefined) continue;
    const host = hosts.get(a.host)!;
    const name = validateWorkloadName(a.name);
    const names = a.kind === 'app' ? splitNames(a.common_name!, a.alt_names ?? []) : { dns: [], ips: [] };
    const p = agentPaths(a.out, a.kind, s.environment, name);
    const ttlSeconds = parseDuration(a.ttl ?? '72h', `agents[${name}].ttl`);
    const spec: AgentSpec = {
      kind: a.kind,
      env: s.environment,
      name,
      mount,
      outDir: p.dir,
      vaultAddr: hostVaultAddress(estate, host),
      caCertFile: p.vaultCa,
      approleMount: 'approle',
      approleRole: `certwright-${s.environment}-${a.kind}-${name}`,
      secretIdMode: 'wrapped',
      tokenSink: false,
      commonName: a.common_name?.trim().toLowerCase(),
      dnsNames: names.dns.slice(1),
      ipSans: names.ips,
      ttl: `${ttlSeconds}s`,
      tlsDir: a.tls_dir,
      caOut: a.ca_out,
      certwright: host.certwright ?? DEFAULT_HOST_CERTWRIGHT,
      baoPath: host.bao ?? DEFAULT_HOST_BAO,
      select: [],
      hookStateDir: undefined,
      user: undefined,
      pathEnv: HOST_PATH,
    };
    out.push({ agent: a, host, spec, id: `${a.kind}/${name}` });
  }
  return out;
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new OperatorError(`${what} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, 'Run `certwright apply --file ESTATE` (or root create) first, or fix the path in the estate file.');
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new OperatorError(`${what} ${file} holds no PEM certificate.`, 'Point the estate file at the PEM certificate.');
  return text;
}

export interface ExportOptions {
  /** The estate file as the controller's certwright reads it at play time. */
  estateFile: string;
  /** argv of certwright on the controller, for the secret lookup. */
  controllerCertwright: string[];
}

function shellWord(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Every file of the export, relative path -> content. */
export function renderAnsibleExport(estate: Estate, options: ExportOptions): Map<string, string> {
  const s = estate.spec;
  if (!s.hosts?.length) throw new OperatorError(`${estate.file} lists no hosts:, so there is nothing to export to Ansible.`, 'Add hosts: [{ name: HOST }] and host: HOST to the agents that run there.');
  const agents = hostAgents(estate);
  const root = readPem(path.join(s.root.dir, 'root-ca.pem'), 'The root certificate');
  const vaultCa = s.vault.ca ? readPem(s.vault.ca, 'The Vault CA file') : root;
  const trustPath = s.distribute_ca?.path ?? DEFAULT_TRUST_PATH;
  const files = new Map<string, string>();
  files.set('files/root-ca.pem', root);
  files.set('files/vault-ca.pem', vaultCa);

  const hosts: Record<string, Record<string, unknown>> = {};
  for (const h of s.hosts) {
    const mine = agents.filter((a) => a.host.name === h.name);
    const users = [...new Set(mine.map((a) => a.agent.user!))];
    // distribute_ca.users on a host: those of its service users the file names (the agents' own
    // users always get the root: their hook pins it).
    const trustUsers = [...new Set([...users, ...(s.distribute_ca?.users ?? []).filter((u) => users.includes(u))])];
    const vars: Record<string, unknown> = {};
    if (h.address) vars.ansible_host = h.address;
    if (h.connection) vars.ansible_connection = h.connection;
    if (h.port !== undefined) vars.ansible_port = h.port;
    vars.certwright_hook_command = h.certwright ?? DEFAULT_HOST_CERTWRIGHT;
    vars.certwright_bao = h.bao ?? DEFAULT_HOST_BAO;
    vars.certwright_service_users = users;
    const trustDirs = path.dirname(trustPath).split('/').filter(Boolean).map((_, i, all) => all.slice(0, i + 1).join('/'));
    vars.certwright_trust = trustUsers.map((u) => ({ user: u, path: trustPath, dirs: trustDirs }));
    vars.certwright_agents = mine.map((a) => {
      const p = agentPaths(a.spec.outDir, a.spec.kind, a.spec.env, a.spec.name);
      const dir = `files/${h.name}/${a.spec.kind}-${a.spec.name}`;
      files.set(`${dir}/${path.basename(p.hcl)}`, renderAgentHcl(a.spec));
      files.set(`${dir}/${path.basename(p.template)}`, renderTemplate(a.spec));
      files.set(`${dir}/${p.unitName}`, renderUnit(a.spec));
      return {
        id: a.id,
        kind: a.spec.kind,
        name: a.spec.name,
        user: a.agent.user,
        out: p.dir,
        ...(a.spec.tlsDir ? { tls_dir: a.spec.tlsDir, rendered: path.join(a.spec.tlsDir, 'current', 'cert.pem') } : {}),
        ...(a.spec.caOut ? { ca_out: a.spec.caOut, rendered: a.spec.caOut } : {}),
        ...(a.spec.commonName ? { common_name: a.spec.commonName, ttl: a.spec.ttl } : {}),
        unit: unitName(a.spec.kind, a.spec.env, a.spec.name),
        // absolute `path`, or `home`: relative to the user's home (read on the host)
        dirs: [
          { path: p.dir, mode: '0700' },
          ...(a.spec.tlsDir ? [{ path: a.spec.tlsDir, mode: '0750' }] : []),
          ...(a.spec.caOut ? [{ path: path.dirname(a.spec.caOut), mode: '0755' }] : []),
          ...USER_UNIT_DIRS.filter((d) => !trustDirs.includes(d)).map((d) => ({ home: d, mode: '0700' })),
        ],
        files: [
          { src: 'files/root-ca.pem', dest: p.trustRoot },
          { src: 'files/vault-ca.pem', dest: p.vaultCa },
          { src: `${dir}/${path.basename(p.hcl)}`, dest: p.hcl },
          { src: `${dir}/${path.basename(p.template)}`, dest: p.template },
          { src: `${dir}/${p.unitName}`, home: `.config/systemd/user/${p.unitName}` },
        ],
      };
    });
    hosts[h.name] = vars;
  }
  const inventory = {
    all: {
      children: {
        [`certwright_${s.environment.replace(/-/g, '_')}`]: { hosts },
      },
      vars: {
        certwright_environment: s.environment,
        certwright_estate_file: options.estateFile,
        certwright_controller: options.controllerCertwright.map(shellWord).join(' '),
      },
    },
  };
  const header = `# Written by \`certwright export ansible --file ${path.basename(estate.file)}\` from environment "${s.environment}".\n# Re-export to change it; edits here are overwritten. No secret is in this directory.\n`;
  files.set('inventory.yml', `${header}---\n${stringify(inventory, { lineWidth: 0 })}`);
  files.set('ansible.cfg', ['# Written by certwright export ansible.', '[defaults]', 'inventory = inventory.yml', 'roles_path = roles', 'interpreter_python = auto_silent', 'retry_files_enabled = false', '', '[connection]', 'pipelining = true', ''].join('\n'));
  // Hosts are independent: strategy free lets each run its include of the agent tasks at its own
  // pace (linear runs one host's include after the other's). ansible-lint's run-once[play] warns
  // about free for plays with run_once tasks; there are none, so .ansible-lint skips that rule.
  files.set(
    'site.yml',
    `${header}---\n${[
      `- name: ${JSON.stringify(`Certwright estate ${s.environment}: CA distribution, agents, lingering`)}`,
      '  hosts: all',
      '  gather_facts: false',
      '  strategy: free',
      '  roles:',
      '    - certwright_host',
      '    - certwright_agent',
      '',
    ].join('\n')}`,
  );
  files.set('.ansible-lint', ['# Written by certwright export ansible.', '# The play uses strategy: free on purpose (hosts are independent) and has no run_once task.', 'skip_list:', '  - run-once[play]', ''].join('\n'));
  for (const [rel, text] of Object.entries(ROLE_FILES)) files.set(rel, text);
  return files;
}

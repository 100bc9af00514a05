import path from 'node:path';
import { OperatorError } from '../errors.js';
import type { LocalUser } from '../system/users.js';

/**
 * Pure rendering of what an agent host needs: the agent HCL, the template, the systemd user unit
 * and the install commands. No I/O here, so the same text is planned, written and verified.
 */

export type AgentKind = 'app' | 'proxy';

export interface AgentSpec {
  kind: AgentKind;
  env: string;
  name: string;
  mount: string;
  outDir: string;
  vaultAddr: string;
  caCertFile?: string | undefined;
  approleMount: string;
  approleRole: string;
  secretIdMode: 'wrapped' | 'persistent';
  tokenSink: boolean;
  commonName?: string | undefined;
  dnsNames: string[];
  ipSans: string[];
  ttl: string;
  tlsDir?: string | undefined;
  caOut?: string | undefined;
  /** argv that runs certwright (e.g. [node, /path/bin/certwright.mjs]). */
  certwright: string[];
  baoPath: string;
  select: string[];
  hookStateDir?: string | undefined;
  user?: LocalUser | undefined;
  pathEnv: string;
}

export function agentPaths(outDir: string, kind: AgentKind, env: string, name: string) {
  const dir = path.resolve(outDir);
  return {
    dir,
    hcl: path.join(dir, 'agent.hcl'),
    template: path.join(dir, kind === 'app' ? 'leaf.ctmpl' : 'ca.ctmpl'),
    destination: path.join(dir, kind === 'app' ? 'leaf-cache.pem' : 'ca-payload.json'),
    payload: path.join(dir, kind === 'app' ? 'payload.json' : 'ca-payload.json'),
    roleId: path.join(dir, 'role_id'),
    secretId: path.join(dir, 'secret_id'),
    trustRoot: path.join(dir, 'trust-root.pem'),
    vaultCa: path.join(dir, 'vault-ca.pem'),
    token: path.join(dir, 'agent-token'),
    unitName: unitName(kind, env, name),
    unit: path.join(dir, unitName(kind, env, name)),
    install: path.join(dir, 'install.sh'),
  };
}

export function unitName(kind: AgentKind, env: string, name: string): string {
  return `bao-agent-${env}-${kind}-${name}.service`;
}

/** HCL and Go-template string literal: JSON escaping is valid in both. Interpolation markers are refused. */
export function quote(value: string, what: string): string {
  if (/[\u0000-\u001f]/.test(value) || value.includes('${') || value.includes('%{') || value.includes('{{') || value.includes('}}')) {
    throw new OperatorError(`${what} "${value}" contains characters that cannot go into the agent config.`, 'Use a path or name without control characters, "${", "%{", "{{" or "}}".');
  }
  return JSON.stringify(value);
}

export function hookArgv(spec: AgentSpec): string[] {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const args = [...spec.certwright, 'hook', '--env', spec.env, '--name', spec.name, '--payload', p.payload];
  if (spec.kind === 'app') args.push('--tls-dir', path.resolve(spec.tlsDir!));
  else args.push('--ca-out', path.resolve(spec.caOut!));
  args.push('--trust', p.trustRoot);
  for (const s of spec.select) args.push('--select', s);
  if (spec.hookStateDir) args.push('--state-dir', path.resolve(spec.hookStateDir));
  return args;
}

export function renderAgentHcl(spec: AgentSpec): string {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const wrapped = spec.secretIdMode === 'wrapped';
  const lines = [
    `# OpenBao agent for ${spec.kind} "${spec.name}" in environment "${spec.env}" (PKI mount ${spec.mount}).`,
    `# Written by \`certwright agent ${spec.kind}\`: re-run that command to change it; edits here are overwritten.`,
    '',
    'vault {',
    `  address = ${quote(spec.vaultAddr, 'The Vault address')}`,
    ...(spec.caCertFile ? [`  ca_cert = ${quote(spec.caCertFile, 'The CA file')}`] : []),
    '}',
    '',
    'auto_auth {',
    '  method "approle" {',
    `    mount_path  = ${quote(`auth/${spec.approleMount}`, 'The AppRole mount')}`,
    '    min_backoff = "1s"',
    '    max_backoff = "30s"',
    '    config = {',
    `      role_id_file_path   = ${quote(p.roleId, 'The role_id path')}`,
    `      secret_id_file_path = ${quote(p.secretId, 'The secret_id path')}`,
    ...(wrapped
      ? [
          '      # The file holds a single-use wrapping token: the agent unwraps it once (checking that it',
          '      # was made at this exact path), keeps the secret_id in memory and deletes the file.',
          '      remove_secret_id_file_after_reading = true',
          `      secret_id_response_wrapping_path    = ${quote(`auth/${spec.approleMount}/role/${spec.approleRole}/secret-id`, 'The wrapping path')}`,
        ]
      : ['      # --persistent-secret-id: the plain secret_id stays (mode 0600) so a restarted agent can log in.', '      remove_secret_id_file_after_reading = false']),
    '    }',
    '  }',
    ...(spec.tokenSink
      ? ['', '  # The token, for `bao token lookup` while debugging. mode is an HCL number (octal 0600), never a string.', '  sink "file" {', '    config = {', `      path = ${quote(p.token, 'The token sink path')}`, '      mode = 0600', '    }', '  }']
      : ['  # No token sink: templates need none (and a sink at /dev/null would fail its write check).']),
    '}',
    '',
    'template_config {',
    '  exit_on_retry_failure = false',
    '}',
    '',
    'template {',
    `  source      = ${quote(p.template, 'The template path')}`,
    `  destination = ${quote(p.destination, 'The destination path')}`,
    `  perms       = ${spec.kind === 'app' ? '"0600"' : '"0644"'}`,
    '  error_on_missing_key = true',
    '  exec {',
    `    command = [${hookArgv(spec).map((a) => quote(a, 'A hook argument')).join(', ')}]`,
    '    timeout = "120s"',
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

export function renderTemplate(spec: AgentSpec): string {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  if (spec.kind === 'proxy') {
    return [
      `{{- /* certwright: the issuing CA chain of ${spec.mount} for proxy "${spec.name}" (env ${spec.env}). Rendered as the hook's JSON payload. */ -}}`,
      `{{- with secret ${quote(`${spec.mount}/cert/ca_chain`, 'The chain path')} -}}`,
      '{"ca_chain":{{ .Data.ca_chain | toJSON }}}',
      '{{ end -}}',
      '',
    ].join('\n');
  }
  const args = [`common_name=${spec.commonName}`];
  if (spec.dnsNames.length) args.push(`alt_names=${spec.dnsNames.join(',')}`);
  if (spec.ipSans.length) args.push(`ip_sans=${spec.ipSans.join(',')}`);
  args.push(`ttl=${spec.ttl}`);
  return [
    `{{- /* certwright: the leaf of app "${spec.name}" (env ${spec.env}). The destination of this template is pkiCert's cache:`,
    '       at every start the agent re-reads certificate, CA and key from it and issues only when the certificate',
    '       is due, so all three stay in it. The JSON payload for `certwright hook` is written next to it. */ -}}',
    `{{- with pkiCert ${[`${spec.mount}/issue/${spec.name}`, ...args].map((a) => quote(a, 'A pkiCert argument')).join(' ')} -}}`,
    '{{ .Cert }}',
    '{{ .CA }}',
    '{{ .Key }}',
    `{{ printf "{\\"certificate\\":%s,\\"issuing_ca\\":%s,\\"private_key\\":%s}\\n" (.Cert | toJSON) (.CA | toJSON) (.Key | toJSON) | writeToFile ${quote(p.payload, 'The payload path')} "" "" "0600" }}`,
    '{{- end -}}',
    '',
  ].join('\n');
}

/**
 * One word of a unit line: quoted, with `%` specifiers escaped. In ExecStart= systemd also expands
 * `$VAR` and `${VAR}` (even inside quotes), so there a `$` is doubled; Environment= does not.
 */
function systemdQuote(arg: string, exec = false): string {
  const escaped = exec ? arg.replace(/\$/g, '$$$$') : arg;
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return escaped.replace(/%/g, '%%');
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/**
 * A minimal user unit. No CapabilityBoundingSet=, AmbientCapabilities=, SecureBits= or User=: a
 * user manager cannot apply them and the agent dies with 218/CAPABILITIES (213, 216, 217).
 */
export function renderUnit(spec: AgentSpec): string {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  return [
    '[Unit]',
    `Description=OpenBao Agent: ${spec.kind} ${spec.name} (certwright, env ${spec.env})`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[spec.baoPath, 'agent', `-config=${p.hcl}`].map((a) => systemdQuote(a, true)).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    `Environment=${systemdQuote(`PATH=${spec.pathEnv}`)}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function sh(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The exact commands that install and start the unit for the service user (run as root), or for oneself. */
export function installCommands(spec: AgentSpec): string[] {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  const u = spec.user;
  if (!u) {
    return [
      'loginctl enable-linger "$USER"',
      'mkdir -p ~/.config/systemd/user',
      `install -m 0644 ${sh(p.unit)} ~/.config/systemd/user/${p.unitName}`,
      'systemctl --user daemon-reload',
      `systemctl --user enable --now ${p.unitName}`,
      `systemctl --user status --no-pager ${p.unitName} || true`,
    ];
  }
  const unitDir = path.join(u.home, '.config', 'systemd', 'user');
  const dirs = [path.join(u.home, '.config'), path.join(u.home, '.config', 'systemd'), unitDir];
  return [
    `loginctl enable-linger ${sh(u.name)}`,
    ...dirs.map((d) => `[ -d ${sh(d)} ] || install -d -m 0700 -o ${sh(u.name)} -g ${u.gid} ${sh(d)}`),
    `install -m 0644 -o ${sh(u.name)} -g ${u.gid} ${sh(p.unit)} ${sh(path.join(unitDir, p.unitName))}`,
    `systemctl --user -M ${sh(u.name)}@ daemon-reload`,
    `systemctl --user -M ${sh(u.name)}@ enable --now ${p.unitName}`,
    `systemctl --user -M ${sh(u.name)}@ status --no-pager ${p.unitName} || true`,
  ];
}

export function renderInstallScript(spec: AgentSpec): string {
  const p = agentPaths(spec.outDir, spec.kind, spec.env, spec.name);
  return [
    '#!/bin/sh',
    `# Installs and starts ${p.unitName} ${spec.user ? `for ${spec.user.name} (run as root)` : 'for the current user'}.`,
    '# Written by certwright. Logs: journalctl --user -u UNIT (as that user).',
    'set -eu',
    ...installCommands(spec),
    '',
  ].join('\n');
}

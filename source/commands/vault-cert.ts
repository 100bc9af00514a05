import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { parseKeyType } from '../pki/keys.js';
import { parseServerNames } from '../pki/server-cert.js';
import { parseOwner } from '../system/ownership.js';
import { validateRoleName } from '../paths.js';
import { UsageError } from '../errors.js';
import { cliReporter, printJson } from '../output.js';
import { applyVaultCert, planVaultCert, STEP_ID, type VaultCertInput } from '../steps/vault-cert.js';
import { openSession, requireMount, showPlan, vaultFor } from './common.js';

export const SERVER_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'] as const;

export const command: CommandSpec = {
  name: 'vault-cert',
  summary: 'Issues Vault\'s own server certificate from the environment\'s PKI: creates or reuses a server-only role with exactly the names asked for, writes DIR/server.key (0600), server.crt, fullchain.pem (leaf then intermediates) and ca-chain.pem (intermediates + root), each with its final owner and mode before any byte. Re-running changes nothing while the certificate is valid, not near expiry and has the names; near expiry or with --renew it re-issues and can SIGHUP the server.',
  usage: 'vault-cert --env E --mount PATH --role NAME --dns NAMES --ip IPS --out DIR [--owner UID:GID] [--ttl DURATION] [--renew] [--reload-pid PID | --reload-container NAME]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediate that issues it' },
    { name: 'role', type: 'string', value: 'NAME', description: 'role to create or reuse (server flag only, exactly these names)' },
    { name: 'dns', type: 'string', multiple: true, value: 'NAMES', description: 'DNS names, comma-separated (the first is the CN)' },
    { name: 'ip', type: 'string', multiple: true, value: 'IPS', description: 'IP addresses, comma-separated' },
    { name: 'out', type: 'string', value: 'DIR', description: 'TLS directory for server.key, server.crt, fullchain.pem, ca-chain.pem' },
    { name: 'owner', type: 'string', value: 'UID:GID', description: 'owner of the files: the uid:gid Vault\'s container runs as (default: as recorded, else this user)' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'validity (default 90d)' },
    { name: 'renew', type: 'boolean', description: 're-issue now, even if the current certificate is fine' },
    { name: 'renew-before', type: 'string', value: 'DURATION', description: 're-issue when less than this is left (default: a third of the lifetime)' },
    { name: 'key-type', type: 'string', value: 'TYPE', description: `server key: ${SERVER_KEY_TYPES.join(', ')} (default ec-p256)` },
    { name: 'reload-pid', type: 'string', value: 'PID', description: 'after a re-issue, SIGHUP this bao/vault server process' },
    { name: 'reload-container', type: 'string', value: 'NAME', description: 'after a re-issue, SIGHUP this podman container (podman kill --signal HUP)' },
    { name: 'check-addr', type: 'string', value: 'URL', description: 'where to see the new certificate on the wire after the reload (default: the address vault-https recorded)' },
  ],
  async run(ctx) {
    const f = ctx.flags;
    const mount = requireMount(ctx);
    const role = validateRoleName(f.require('role'));
    const names = parseServerNames(f.csv('dns'), f.csv('ip'));
    const outDir = f.require('out');
    const ttlSeconds = parseDuration(f.string('ttl') ?? '90d');
    const renewBefore = f.string('renew-before');
    const pidText = f.string('reload-pid');
    if (pidText !== undefined && !/^\d+$/.test(pidText)) throw new UsageError(`--reload-pid "${pidText}" is not a PID.`, 'Pass the numeric PID of the bao server process.');
    const container = f.string('reload-container');
    if (pidText !== undefined && container !== undefined) throw new UsageError('--reload-pid and --reload-container are two ways to reach one server; pass one.', 'Use --reload-pid for a host process, --reload-container for podman.');
    const checkAddr = f.string('check-addr');
    if (checkAddr !== undefined && !/^https:\/\/[^/\s]+/.test(checkAddr)) throw new UsageError(`--check-addr ${checkAddr} is not an https URL.`, 'Pass the address Vault serves, e.g. --check-addr https://127.0.0.1:8200.');
    const session = await openSession(ctx, 'vault-cert');
    try {
      const recorded = session.state.steps[STEP_ID]?.facts.owner;
      const ownerText = f.string('owner') ?? (typeof recorded === 'string' ? recorded : undefined);
      const input: VaultCertInput = {
        mount,
        role,
        names,
        outDir,
        owner: ownerText ? parseOwner(ownerText) : undefined,
        ttlSeconds,
        renew: f.bool('renew'),
        renewBeforeSeconds: renewBefore ? parseDuration(renewBefore, '--renew-before') : undefined,
        keyType: parseKeyType(f.string('key-type') ?? 'ec-p256', SERVER_KEY_TYPES),
        reload: pidText !== undefined ? { pid: Number(pidText) } : container !== undefined ? { container } : undefined,
        checkAddr: checkAddr ? new URL(checkAddr).origin : undefined,
      };
      const vault = vaultFor(ctx, session);
      const plan = await planVaultCert(session, vault, input);
      if (!(await showPlan(ctx, `Vault server certificate in ${outDir}`, plan))) return 0;
      const result = await applyVaultCert(session, vault, input, cliReporter());
      if (f.bool('json')) printJson(result);
      else process.stdout.write(`${result.issued ? 'Issued' : 'Kept'} Vault's server certificate ${result.fingerprint} (until ${result.notAfter}) in ${result.files.dir}${result.onWire ? '; the server presents it now' : ''}.\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

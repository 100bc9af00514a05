import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { parseKeyType, INTERMEDIATE_KEY_TYPES } from '../pki/keys.js';
import { validateMountPath, validateRoleName } from '../paths.js';
import { UsageError } from '../errors.js';
import { applyBuildRole, planBuildRole, DEFAULT_BUILD_TTL, type BuildRoleInput } from '../steps/build-role.js';
import { validateAppName } from '../steps/build-cert.js';
import { cliReporter, printJson } from '../output.js';
import { openSession, showPlan, vaultFor } from './common.js';

function parseCidrs(values: string[]): string[] {
  for (const v of values) {
    if (!/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)(\/\d{1,3})?$/.test(v)) throw new UsageError(`--bound-cidrs "${v}" is not an IP address or CIDR block.`, 'Pass e.g. --bound-cidrs 10.0.4.0/24,127.0.0.1/32.');
  }
  return values;
}

export const command: CommandSpec = {
  name: 'build-role',
  summary: 'Online: a client-only PKI role for build certificates (names limited to the apps) and a least-privilege AppRole for the build server that may only issue on that role. Idempotent.',
  usage: 'build-role --env E --mount PATH --role NAME [--allowed-apps NAMES] [--ttl DURATION] [--role-id-out FILE] [--secret-id-out FILE]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the build intermediate' },
    { name: 'role', type: 'string', value: 'NAME', description: 'the PKI role to create or update' },
    { name: 'allowed-apps', type: 'string', value: 'NAMES', description: 'comma-separated app names allowed as CN (default: keep the role\'s)' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'build certificate lifetime (default 8760h, as in the seed)' },
    { name: 'key-type', type: 'string', value: 'TYPE', description: 'ec-p256 (default), ec-p384, rsa-2048, rsa-4096' },
    { name: 'approle', type: 'string', value: 'NAME', description: 'AppRole name (default build-MOUNT-ROLE)' },
    { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount (default approle; enabled when missing)' },
    { name: 'token-ttl', type: 'string', value: 'DURATION', description: 'lifetime of the build server\'s login token (default 10m)' },
    { name: 'secret-id-ttl', type: 'string', value: 'DURATION', description: 'lifetime of secret_ids (default: no expiry; rotate with --secret-id-out)' },
    { name: 'bound-cidrs', type: 'string', value: 'CIDRS', description: 'comma-separated source addresses the build server logs in from' },
    { name: 'role-id-out', type: 'string', value: 'FILE', description: 'write the AppRole role_id here (0600)' },
    { name: 'secret-id-out', type: 'string', value: 'FILE', description: 'write a secret_id here (0600); kept while the one in the file is still valid' },
  ],
  async run(ctx) {
    const appsFlag = ctx.flags.csv('allowed-apps');
    const tokenTtl = ctx.flags.string('token-ttl');
    const secretIdTtl = ctx.flags.string('secret-id-ttl');
    const approleName = ctx.flags.string('approle');
    const input: BuildRoleInput = {
      mount: validateMountPath(ctx.flags.require('mount')),
      role: validateRoleName(ctx.flags.require('role')),
      apps: appsFlag.length ? [...new Set(appsFlag.map((a) => validateAppName(a, '--allowed-apps')))] : undefined,
      ttlSeconds: parseDuration(ctx.flags.string('ttl') ?? `${DEFAULT_BUILD_TTL}`),
      keyType: parseKeyType(ctx.flags.string('key-type') ?? 'ec-p256', INTERMEDIATE_KEY_TYPES),
      approleMount: validateMountPath(ctx.flags.string('approle-mount') ?? 'approle'),
      approleName: approleName ? validateRoleName(approleName, '--approle') : undefined,
      tokenTtlSeconds: parseDuration(tokenTtl ?? '10m', '--token-ttl'),
      secretIdTtlSeconds: secretIdTtl ? parseDuration(secretIdTtl, '--secret-id-ttl') : 0,
      boundCidrs: parseCidrs(ctx.flags.csv('bound-cidrs')),
      roleIdOut: ctx.flags.string('role-id-out'),
      secretIdOut: ctx.flags.string('secret-id-out'),
    };
    const session = await openSession(ctx, 'build-role');
    try {
      const vault = vaultFor(ctx, session);
      const plan = await planBuildRole(vault, input);
      if (!(await showPlan(ctx, `build role ${input.mount}/roles/${input.role}`, plan))) return 0;
      const result = await applyBuildRole(session, vault, input, cliReporter({ quiet: ctx.flags.bool('json') }));
      if (ctx.flags.bool('json')) printJson(result);
      else {
        process.stdout.write(`Role ${input.mount}/roles/${result.role}: client-only, apps ${result.apps.join(', ')}\n`);
        process.stdout.write(`AppRole: auth/${result.approleMount}/role/${result.approle} (policy ${result.policy})\nrole_id: ${result.roleId}\n`);
        if (result.secretIdFile) process.stdout.write(`secret_id: in ${result.secretIdFile}${result.secretIdCreated ? ' (new)' : ' (still valid, kept)'}\n`);
        else process.stdout.write(`Give the build server a secret_id: certwright build-role ... --secret-id-out FILE\n`);
      }
      return 0;
    } finally {
      session.close();
    }
  },
};

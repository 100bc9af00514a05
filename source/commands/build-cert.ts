import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { validateMountPath, validateRoleName } from '../paths.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { applyBuildCert, authenticate, defaultAuditLog, parseTrustPaths, prepareBuildCert, validateAppName, validateEnvPrefix, type BuildCertInput } from '../steps/build-cert.js';
import { cliReporter, formatPlan, printJson } from '../output.js';

// A CI step: imports stay on the cheap side (no React, no state store, no @peculiar/x509).
export const command: CommandSpec = {
  name: 'build-cert',
  summary: 'CI: issues a fresh client certificate for one build (CN = app, the commit in a <sha>.git SAN) and writes key, certificate, chain, one bundle per trust path and a 12-factor env file, atomically; appends an audit line.',
  usage: 'build-cert --mount PATH --role NAME --app APP --git-sha SHA --out DIR [--ttl DURATION] [--trust-path NAME=CAFILE ...] [--env-file FILE] [--env-prefix PREFIX] [--role-id-file FILE --secret-id-file FILE]',
  flags: [
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the build intermediate' },
    { name: 'role', type: 'string', value: 'NAME', description: 'the client-only role (certwright build-role)' },
    { name: 'app', type: 'string', value: 'APP', description: 'the application: certificate CN and database user' },
    { name: 'git-sha', type: 'string', value: 'SHA', description: 'full commit hash of the build (git rev-parse HEAD)' },
    { name: 'out', type: 'string', value: 'DIR', description: 'where key.pem, cert.pem, chain.pem, NAME.bundle.pem and the env file go' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'certificate lifetime (default: the role\'s TTL)' },
    { name: 'trust-path', type: 'string', multiple: true, value: 'NAME=CAFILE', description: 'one bundle (certificate + the intermediate as signed by that root) per trusted root; repeatable' },
    { name: 'env-file', type: 'string', value: 'FILE', description: 'the env file of PREFIX_NAME=path lines (default: OUT/build-cert.env)' },
    { name: 'env-prefix', type: 'string', value: 'PREFIX', description: 'variable prefix in the env file (default: the app name in capitals)' },
    { name: 'install-dir', type: 'string', value: 'DIR', description: 'where the files will live on the target; the env file points there (default: --out)' },
    { name: 'role-id-file', type: 'string', value: 'FILE', description: 'AppRole role_id file (instead of VAULT_TOKEN)' },
    { name: 'secret-id-file', type: 'string', value: 'FILE', description: 'AppRole secret_id file (mode 0600)' },
    { name: 'approle-mount', type: 'string', value: 'PATH', description: 'AppRole auth mount (default approle)' },
    { name: 'audit-log', type: 'string', value: 'FILE', description: 'audit log to append to (default: CERTWRIGHT_HOME/audit/MOUNT.jsonl)' },
  ],
  async run(ctx) {
    const mount = validateMountPath(ctx.flags.require('mount'));
    const ttl = ctx.flags.string('ttl');
    const prefix = ctx.flags.string('env-prefix');
    const input: BuildCertInput = {
      mount,
      role: validateRoleName(ctx.flags.require('role')),
      app: validateAppName(ctx.flags.require('app')),
      gitSha: ctx.flags.require('git-sha', 'the full commit hash of the build'),
      outDir: ctx.flags.require('out'),
      ttlSeconds: ttl ? parseDuration(ttl) : undefined,
      trustPaths: parseTrustPaths(ctx.flags.list('trust-path')),
      envFile: ctx.flags.string('env-file'),
      envPrefix: prefix === undefined ? undefined : validateEnvPrefix(prefix),
      installDir: ctx.flags.string('install-dir'),
      auditLog: ctx.flags.string('audit-log') ?? defaultAuditLog(mount, ctx.home),
      auth: 'token',
    };
    const roleIdFile = ctx.flags.string('role-id-file');
    const secretIdFile = ctx.flags.string('secret-id-file');
    const appRole = Boolean(roleIdFile || secretIdFile);
    const base = new VaultClient(resolveConnection({ vaultAddr: ctx.flags.string('vault-addr'), vaultCa: ctx.flags.string('vault-ca'), requireToken: !appRole }));
    const { vault, auth } = await authenticate(base, { roleIdFile, secretIdFile, approleMount: ctx.flags.string('approle-mount') });
    input.auth = auth;
    const report = cliReporter({ quiet: ctx.flags.bool('json') });
    const prepared = await prepareBuildCert(vault, input);
    if (ctx.flags.bool('dry-run')) {
      process.stderr.write(`${formatPlan(`build certificate for ${input.app}`, prepared.plan)}\nDry run: nothing was issued or written.\n`);
      return 0;
    }
    const result = await applyBuildCert(vault, input, report, prepared);
    if (ctx.flags.bool('json')) printJson(result);
    else {
      process.stdout.write(`Serial: ${result.serial}\nExpires: ${result.notAfter}\nKey: ${result.files.key}\nCertificate: ${result.files.cert}\nChain: ${result.files.chain}\n`);
      for (const t of result.trustPaths) process.stdout.write(`Bundle ${t.name}: ${t.file} (to ${t.root})\n`);
      process.stdout.write(`Env file: ${result.files.envFile}\n`);
    }
    return 0;
  },
};

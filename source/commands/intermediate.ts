import path from 'node:path';
import type { CommandSpec } from '../command.js';
import { parseDuration } from '../duration.js';
import { parseKeyType, INTERMEDIATE_KEY_TYPES } from '../pki/keys.js';
import { rootPaths } from '../paths.js';
import { stepKey } from '../../state/schema.js';
import { ensureDir, exists } from '../system/files.js';
import { DriftError } from '../errors.js';
import { cliReporter, printJson } from '../output.js';
import { failed } from '../pki/checks.js';
import { runIntermediatePipeline, verifyCompleted } from '../steps/intermediate-pipeline.js';
import { openSession, requireMount, vaultFor, obtainPassphrase } from './common.js';
import { requestFlags, DEFAULT_MOUNT_MAX_TTL } from './intermediate-request.js';
import { signFlags, parseDomains } from './intermediate-sign.js';
import { parseAiaBase } from './intermediate-install.js';

export const command: CommandSpec = {
  name: 'intermediate',
  summary: 'Request, sign and install the intermediate on one machine (lab, rehearsal). Resumable: a killed run picks up where it stopped, reusing the pending key.',
  usage: 'intermediate --env E --mount PATH --cn NAME --root-dir DIR --passphrase-file FILE [--aia-base URL]',
  flags: [
    ...requestFlags,
    ...signFlags.filter((f) => f.name !== 'path-len'),
    { name: 'path-len', type: 'string', value: 'N', description: 'pathlen of the intermediate (default 0)' },
    { name: 'ttl', type: 'string', value: 'DURATION', description: 'intermediate validity (default 5y, cut to the root\'s end)' },
    { name: 'aia-base', type: 'string', value: 'URL', description: 'base URL for AIA/CRL URLs (default: the Vault address)' },
    { name: 'vault-tls-dir', type: 'string', value: 'DIR', description: 'copy the public root here' },
  ],
  async run(ctx) {
    const mount = requireMount(ctx);
    const rootDir = ctx.flags.require('root-dir');
    const ttl = ctx.flags.string('ttl');
    const session = await openSession(ctx, 'intermediate');
    try {
      const vault = vaultFor(ctx, session);
      const report = cliReporter();
      if (session.recoveredLock) report.warn(`Recovered the lock of a run that died (PID ${session.recoveredLock.pid}, "${session.recoveredLock.command}"); resuming.`);
      const checks = await verifyCompleted(session, vault, mount);
      const bad = failed(checks);
      if (bad.length > 0) {
        throw new DriftError(`What was done before has changed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}.`, 'Find out what changed (another operator, a restored backup, a wiped Vault) before going on; certwright will not paper over it.');
      }
      if (checks.length > 0) report.done(`Re-verified ${checks.length} check(s) of completed steps`);
      const slug = mount.replace(/\//g, '_');
      await ensureDir(session.paths.artefacts, 0o700);
      const needPassphrase = !(session.state.steps[stepKey('intermediate-install', mount)]?.status === 'done') && !(await exists(path.join(session.paths.artefacts, `${slug}-intermediate.pem`)));
      const passphrase = needPassphrase ? await obtainPassphrase(ctx, 'open') : Buffer.alloc(0);
      const result = await runIntermediatePipeline(session, vault, {
        mount,
        commonName: ctx.flags.require('cn'),
        keyType: parseKeyType(ctx.flags.string('key-type') ?? 'ec-p256', INTERMEDIATE_KEY_TYPES),
        maxTtlSeconds: parseDuration(ctx.flags.string('max-ttl') ?? DEFAULT_MOUNT_MAX_TTL, '--max-ttl'),
        rootDir,
        rootFile: rootPaths(rootDir).cert,
        csrFile: path.join(session.paths.artefacts, `${slug}-intermediate.csr`),
        certFile: path.join(session.paths.artefacts, `${slug}-intermediate.pem`),
        ttlSeconds: ttl ? parseDuration(ttl) : undefined,
        pathLen: ctx.flags.int('path-len', { min: 0, max: 10 }) ?? 0,
        permittedDns: parseDomains(ctx.flags.csv('permitted-dns')),
        aiaBase: parseAiaBase(ctx.flags.string('aia-base')),
        vaultTlsDir: ctx.flags.string('vault-tls-dir'),
      }, passphrase, report);
      passphrase.fill(0);
      if (ctx.flags.bool('json')) printJson(result);
      else process.stdout.write(`Intermediate ${result.alreadyInstalled ? 'was already installed' : 'installed'} in ${mount}/: issuer ${result.issuerId} (${result.fingerprint}).\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};

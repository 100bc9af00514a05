import type { CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { cliReporter, printJson, formatPlan } from '../output.js';
import { validateUserName } from '../system/users.js';
import { applyDistributeCa, planDistributeCa, validateRelPath, DEFAULT_TRUST_PATH } from '../steps/distribute-ca.js';

export const command: CommandSpec = {
  name: 'distribute-ca',
  summary: 'Copies a CA file into each service user\'s trust path (owned by that user, 0644 inside a 0700 directory). Identical content is not rewritten. Reports per user; exits non-zero when any user failed.',
  usage: 'distribute-ca --ca FILE --users U1,U2 [--path RELPATH]',
  flags: [
    { name: 'ca', type: 'string', value: 'FILE', description: 'the CA certificate(s) to distribute (PEM, no key)' },
    { name: 'users', type: 'string', value: 'U1,U2', description: 'the service users (comma-separated)' },
    { name: 'path', type: 'string', value: 'RELPATH', description: `path inside each home (default ${DEFAULT_TRUST_PATH}, which \`agent app|proxy --user\` picks up)` },
  ],
  async run(ctx) {
    const caFile = ctx.flags.require('ca');
    const users = ctx.flags.csv('users');
    if (users.length === 0) throw new UsageError('--users is required.', 'Pass --users U1,U2 (the accounts the agents run as).');
    users.forEach((u) => validateUserName(u, '--users'));
    const input = { caFile, users: [...new Set(users)], relPath: validateRelPath(ctx.flags.string('path') ?? DEFAULT_TRUST_PATH) };
    if (ctx.flags.bool('dry-run')) {
      const plan = await planDistributeCa(input);
      process.stderr.write(`${formatPlan('distribute the CA', plan)}\nDry run: nothing was changed.\n`);
      return 0;
    }
    const outcomes = await applyDistributeCa(input, cliReporter());
    if (ctx.flags.bool('json')) printJson(outcomes);
    else for (const o of outcomes) process.stdout.write(`${o.user}\t${o.status}\t${o.path || '-'}\t${o.detail}\n`);
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length) {
      process.stderr.write(`Error: the CA was not distributed to ${failed.map((o) => o.user).join(', ')}.\nFix: see each user's line above, then run the same command again (users already done are not rewritten).\n`);
      return 1;
    }
    return 0;
  },
};

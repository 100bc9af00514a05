import type { CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { validateEnvName, validateMountPath } from '../paths.js';
import { printJson } from '../output.js';
import { presets, evaluateTree, renderTree, remainingSteps, type PresetId } from '../wizard/ca-trees.js';
import { requireEnv } from './common.js';

export const command: CommandSpec = {
  name: 'tree',
  summary: 'Draws a CA-tree design from the certifying-builds seed with each node\'s state (exists, expires when, missing) and the steps that build what is missing.',
  usage: 'tree --env E --preset app-root|root-per-env|env-at-root|cross-signed [--mount PATH] [--app-env E] [--envs E1,E2] [--builders B1,B2] [--json]',
  flags: [
    { name: 'preset', type: 'string', value: 'NAME', description: 'app-root, root-per-env, env-at-root or cross-signed (default: list them)' },
    { name: 'mount', type: 'string', value: 'PATH', description: 'PKI mount of the intermediates (default pki_int)' },
    { name: 'app-env', type: 'string', value: 'ENV', description: 'environment holding the application root (default app)' },
    { name: 'envs', type: 'string', value: 'E1,E2', description: 'environments under an application root' },
    { name: 'builders', type: 'string', value: 'B1,B2', description: 'build servers (default b1)' },
  ],
  async run(ctx) {
    const env = requireEnv(ctx);
    const mount = validateMountPath(ctx.flags.string('mount') ?? 'pki_int');
    const envs = ctx.flags.csv('envs').map((e) => validateEnvName(e));
    const appEnv = ctx.flags.string('app-env');
    const all = presets({ env, mount, envs, builders: ctx.flags.csv('builders'), ...(appEnv ? { appEnv: validateEnvName(appEnv) } : {}) });
    const id = ctx.flags.string('preset') as PresetId | undefined;
    if (!id) {
      for (const p of all) process.stdout.write(`${p.id.padEnd(14)} ${p.title}\n${' '.repeat(15)}${p.summary}\n`);
      return 0;
    }
    const preset = all.find((p) => p.id === id);
    if (!preset) throw new UsageError(`--preset "${id}" is not a CA-tree design.`, `Use one of: ${all.map((p) => p.id).join(', ')}.`);
    const tree = evaluateTree(preset.tree, ctx.home);
    const steps = remainingSteps(tree);
    if (ctx.flags.bool('json')) {
      printJson({ preset: preset.id, title: preset.title, tree, remainingSteps: steps });
      return 0;
    }
    process.stdout.write(`${preset.title}\n\n${renderTree(tree).join('\n')}\n\n`);
    process.stdout.write(steps.length ? `To build what is missing:\n${steps.map((s) => `  ${s}`).join('\n')}\n` : 'Every node exists.\n');
    return 0;
  },
};

import type { CommandSpec } from '../command.js';
import { validateEnvName } from '../paths.js';
import { wizardDefaults, wizardFlags, runWizard, requireTerminal } from '../wizard/launch.js';
import { paintFirstFrame } from '../wizard/first-frame.js';
import { FILE_FLAG } from './estate-flags.js';

export const command: CommandSpec = {
  name: 'wizard',
  summary: 'The guided pipeline: each step with its status, resuming where the state left off; asks only what flags did not answer.',
  usage: '[wizard] [--env E] [--file ESTATE.yaml] [flags that pre-answer questions]',
  flags: [...wizardFlags, { ...FILE_FLAG, description: 'write the estate file of what the wizard runs, step by step, to FILE (an existing one of the same environment is updated), so the run can be reviewed (plan --file), rehearsed (lab --file) and replayed (apply --file)', env: '' }],
  async run(ctx) {
    requireTerminal(ctx);
    const env = ctx.flags.string('env');
    if (env) validateEnvName(env);
    // The first screen is on the terminal before the controller, React and Ink are loaded.
    const firstFrame = ctx.plain ? undefined : paintFirstFrame(env, ctx.home, true);
    let startLab = false;
    try {
      const { WizardController } = await import('../wizard/controller.js');
      const controller = new WizardController(ctx.home, { ...wizardDefaults(ctx), estateFile: ctx.flags.string('file') });
      // A --file of another environment is refused before the wizard takes input.
      await controller.openRecorder();
      if (ctx.plain) {
        const { runPlainWizard } = await import('../wizard/plain.js');
        return await runPlainWizard(controller, env);
      }
      await runWizard(controller, env, () => {
        startLab = true;
      }, firstFrame);
    } finally {
      firstFrame?.handOver();
    }
    if (startLab) {
      const { runLab } = await import('./lab.js');
      return runLab(ctx);
    }
    return 0;
  },
};

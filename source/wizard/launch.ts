import type { CommandSpec, CommandContext } from '../command.js';
import { Cancelled, UsageError } from '../errors.js';
import type { WizardController } from './controller.js';
import type { WizardDefaults } from './context.js';
import type { FirstFrame } from './first-frame.js';

/** What `certwright` (the wizard) and `certwright lab` share: the flags that pre-answer questions and the Ink mount. */
export const wizardFlags: CommandSpec['flags'] = [
  { name: 'out', type: 'string', value: 'DIR', description: 'root ceremony directory' },
  { name: 'cn', type: 'string', value: 'NAME', description: 'root CA name' },
  { name: 'key-type', type: 'string', value: 'TYPE', description: 'root key type' },
  { name: 'ttl', type: 'string', value: 'DURATION', description: 'root validity' },
  { name: 'path-len', type: 'string', value: 'N', description: 'root pathlen' },
  { name: 'passphrase-file', type: 'string', value: 'FILE', description: 'root key passphrase file (else typed, hidden)' },
  { name: 'share', type: 'string', multiple: true, value: 'FILE', env: '', description: 'a custodian\'s share file, for a root under M-of-N custody; repeatable (else each custodian types theirs, on its own screen, nothing shown)' },
  { name: 'custodians', type: 'string', value: 'N', description: 'root under M-of-N custody: N custodians, one share each (else one passphrase)' },
  { name: 'threshold', type: 'string', value: 'M', description: 'with --custodians: how many shares open the root' },
  { name: 'custodian-names', type: 'string', value: 'NAMES', description: 'with --custodians: comma-separated custodian names' },
  { name: 'shares-out', type: 'string', value: 'DIR', description: 'with --custodians: where the share files go' },
  { name: 'mount', type: 'string', value: 'PATH', description: 'intermediate PKI mount' },
  { name: 'intermediate-cn', type: 'string', value: 'NAME', description: 'intermediate CA name' },
  { name: 'root-dir', type: 'string', value: 'DIR', description: 'offline root directory for signing' },
];

export function wizardDefaults(ctx: CommandContext): WizardDefaults {
  const f = ctx.flags;
  return {
    env: f.string('env'),
    outDir: f.string('out'),
    commonName: f.string('cn'),
    keyType: f.string('key-type'),
    ttl: f.string('ttl'),
    pathLen: f.string('path-len'),
    passphraseFile: f.string('passphrase-file'),
    shareFiles: f.list('share'),
    custodians: f.string('custodians'),
    threshold: f.string('threshold'),
    custodianNames: f.string('custodian-names'),
    sharesOut: f.string('shares-out'),
    mount: f.string('mount'),
    intermediateCn: f.string('intermediate-cn'),
    rootDir: f.string('root-dir'),
    vaultAddr: f.string('vault-addr'),
    vaultCa: f.string('vault-ca'),
  };
}

/**
 * Renders the Ink wizard; the only path (with status) that loads React. Ink reads the terminal in
 * raw mode, so Ctrl-C arrives as a key, not as SIGINT: the wizard hands it back here, and once Ink
 * has restored the terminal the process interrupts itself, taking the same path as a Ctrl-C at any
 * other command (exit handlers clean up, exit code 130, the message says how to resume).
 */
export async function runWizard(controller: WizardController, env: string | undefined, onStartLab?: () => void, firstFrame?: FirstFrame): Promise<void> {
  const [{ render }, React, { App }] = await Promise.all([import('ink'), import('react'), import('../../screens/App.js')]);
  let interrupted = false;
  // The same screen, painted early without React (first-frame.ts), makes room for Ink's in the same tick.
  firstFrame?.handOver();
  const app = render(React.createElement(App, { controller, env, onStartLab, onInterrupt: () => (interrupted = true) }), { exitOnCtrlC: false });
  await app.waitUntilExit();
  if (interrupted) await interruptSelf();
}

/** Raises SIGINT at this process and waits for its handler (cli.ts) to end it with 130. */
export async function interruptSelf(): Promise<never> {
  if (process.listenerCount('SIGINT') === 0) throw new Cancelled('Interrupted (Ctrl-C).');
  process.kill(process.pid, 'SIGINT');
  // Node's signal watcher does not keep the event loop alive: with Ink gone and nothing else
  // pending, the process could end with 0 before the handler runs. A timer holds it until then.
  return new Promise<never>(() => {
    setTimeout(() => undefined, 30_000);
  });
}

export function requireTerminal(ctx: CommandContext): void {
  if (!ctx.tty) {
    throw new UsageError(
      'The wizard needs a terminal, and none is attached.',
      'Run the steps as commands instead, with every answer as a flag: certwright root create --env E --out DIR --cn NAME --passphrase-file FILE (see certwright --help).',
    );
  }
}


import { Cancelled, explainSystemError } from '../errors.js';
import { formatPlan, cliReporter } from '../output.js';
import { parsePassphrase, ROOT_KEY_TYPES, type KeyType } from '../pki/keys.js';
import type { WizardController, CustodyForm } from './controller.js';

/**
 * The line-by-line wizard (--plain): same controller and steps as the Ink screens, asked with
 * @inquirer/prompts for dumb terminals and screen readers. Ink is never mounted here.
 */
export async function runPlainWizard(controller: WizardController, initialEnv: string | undefined): Promise<number> {
  const prompts = await import('@inquirer/prompts');
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch {
      throw new Cancelled();
    }
  };
  let env = initialEnv;
  if (!env) {
    const envs = controller.listEnvs();
    env = await ask(
      envs.length > 0
        ? prompts.select({ message: 'Environment', choices: envs.map((e) => ({ name: e, value: e })) })
        : prompts.input({ message: 'No environment is configured yet. New environment name (or run `certwright lab` for a rehearsal):', validate: (v) => controller.validateEnv(v) ?? true }),
    );
  }
  for (;;) {
    const steps = await controller.overview(env);
    process.stdout.write(`\ncertwright · ${env}\n`);
    for (const s of steps) process.stdout.write(`  [${s.state}] ${s.title} — ${s.detail}\n`);
    const choice = await ask(
      prompts.select({
        message: 'Open a step',
        choices: [...steps.filter((s) => s.state !== 'unavailable').map((s) => ({ name: s.title, value: s.id })), { name: 'Quit', value: 'quit' }],
      }),
    );
    if (choice === 'quit') return 0;
    try {
      if (choice === 'root-create') await plainRoot(controller, env, prompts, ask);
      else if (choice === 'intermediate') await plainIntermediate(controller, env, prompts, ask);
      else process.stdout.write(`"${steps.find((s) => s.id === choice)?.title ?? choice}" is not in the line-by-line wizard yet. Run it as a command (certwright --help lists them) or without --plain.\n`);
    } catch (error) {
      if (error instanceof Cancelled) throw error;
      const e = explainSystemError(error) as { message: string; fix?: string };
      process.stdout.write(`Error: ${e.message}\n${e.fix ? `Fix: ${e.fix}\n` : ''}`);
    }
  }
}

type Prompts = typeof import('@inquirer/prompts');
type Ask = <T>(p: Promise<T>) => Promise<T>;

/** Who opens the root: one passphrase (undefined) or M-of-N custodians, each answer checked at once. */
async function plainCustody(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<CustodyForm | undefined> {
  const how = await ask(prompts.select({ message: 'Who opens the root key', choices: [{ name: 'One passphrase (typed twice)', value: 'passphrase' }, { name: 'Custodians: M of N open it (random passphrase, one share each)', value: 'custody' }] }));
  if (how === 'passphrase') return undefined;
  const d = controller.custodyDefaults(env);
  const custodians = await ask(prompts.input({ message: 'Number of custodians (one share each)', default: d.custodians, validate: (v) => controller.validateCustody({ ...d, custodians: v, threshold: '2', names: '' }) ?? true }));
  const threshold = await ask(prompts.input({ message: 'How many custodians together open the root', default: d.threshold, validate: (v) => controller.validateCustody({ ...d, custodians, threshold: v, names: '' }) ?? true }));
  const names = await ask(prompts.input({ message: 'Custodian names, comma-separated (empty: custodian-1, custodian-2, ...)', default: d.names, validate: (v) => controller.validateCustody({ ...d, custodians, threshold, names: v }) ?? true }));
  const sharesOut = await ask(prompts.input({ message: 'Directory for the share files (not the root\'s)', default: d.sharesOut }));
  const show = await ask(prompts.confirm({ message: 'Show each share once, custodian by custodian, for a paper copy?', default: false }));
  return { custodians, threshold, names, sharesOut, show };
}

async function plainRoot(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const d = controller.rootDefaults(env);
  const g = controller.defaults;
  const form = {
    commonName: g.commonName ?? (await ask(prompts.input({ message: 'Root CA name (CN)', default: d.commonName }))),
    outDir: g.outDir ?? (await ask(prompts.input({ message: 'Directory for root-ca.key and root-ca.pem', default: d.outDir }))),
    keyType: (g.keyType ?? (await ask(prompts.select({ message: 'Key type', choices: ROOT_KEY_TYPES.map((k) => ({ name: k, value: k })) })))) as KeyType,
    ttl: g.ttl ?? (await ask(prompts.input({ message: 'Validity', default: d.ttl }))),
    pathLen: g.pathLen ?? (await ask(prompts.input({ message: 'Path length (empty = unlimited)', default: d.pathLen }))),
    custody: d.custody ?? (g.passphraseFile !== undefined ? undefined : await plainCustody(controller, env, prompts, ask)),
  };
  const plan = await controller.planRoot(env, form);
  process.stdout.write(`${formatPlan('offline root', plan)}\n`);
  if (form.custody) {
    // Nobody types a passphrase: it is random and split; only the CA name is typed to confirm.
    const typed = await ask(prompts.input({ message: `Type the CA name "${form.commonName}" to create the root` }));
    if (typed !== form.commonName) throw new Cancelled(`The name typed does not match "${form.commonName}". Nothing was created.`);
    const { showShareInTerminal } = await import('../commands/step-command.js');
    const result = await controller.applyRoot(env, form, undefined, cliReporter(), showShareInTerminal);
    process.stdout.write(`Root CA created: ${result.certFile}\nSHA-256 fingerprint: ${result.fingerprint}\n`);
    for (const s of result.shares ?? []) process.stdout.write(`  share ${s.index} (${s.custodian}): ${s.file}\n`);
    return;
  }
  let passphrase = await controller.passphraseFromFile(12);
  if (!passphrase) {
    const first = await ask(prompts.password({ message: 'New passphrase for the root key (12+ characters)', mask: '*', validate: (v) => v.length >= 12 || 'At least 12 characters' }));
    const second = await ask(prompts.password({ message: 'Type it again', mask: '*' }));
    if (first !== second) throw new Cancelled('The two passphrases differ. Nothing was created.');
    passphrase = parsePassphrase(Buffer.from(first, 'utf8'), 'the typed passphrase', { minLength: 12 });
  }
  const typed = await ask(prompts.input({ message: `Type the CA name "${form.commonName}" to create the root` }));
  if (typed !== form.commonName) {
    passphrase.fill(0);
    throw new Cancelled(`The name typed does not match "${form.commonName}". Nothing was created.`);
  }
  const result = await controller.applyRoot(env, form, passphrase, cliReporter());
  process.stdout.write(`Root CA created: ${result.certFile}\nSHA-256 fingerprint: ${result.fingerprint}\n`);
}

async function plainIntermediate(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  // Checked before the first question: three answers are not asked for a step that cannot run.
  const problem = await controller.vaultConnectionProblem(env);
  if (problem) throw problem;
  const d = controller.intermediateDefaults(env);
  const g = controller.defaults;
  const form = {
    mount: g.mount ?? (await ask(prompts.input({ message: 'PKI mount for the intermediate', default: d.mount, validate: (v) => controller.validateMount(v) ?? true }))),
    commonName: g.intermediateCn ?? (await ask(prompts.input({ message: 'Intermediate CA name (CN)', default: d.commonName }))),
    rootDir: g.rootDir ?? (await ask(prompts.input({ message: 'Offline root directory', default: d.rootDir }))),
  };
  const plan = await controller.planIntermediate(env, form);
  process.stdout.write(`${formatPlan(`intermediate in ${form.mount}`, plan)}\n`);
  if (plan.actions.length === 0) return;
  if (!(await ask(prompts.confirm({ message: 'Apply?', default: true })))) return;
  let answer = await controller.rootSecretFromFlags(form.rootDir);
  const custody = controller.rootCustody(form.rootDir);
  if (!answer && custody) {
    // One custodian at a time, nothing echoed; a refused share is named and typed again.
    const shares: Array<{ text: string; source: string }> = [];
    while (shares.length < custody.threshold) {
      let who = '';
      const text = await ask(
        prompts.password({
          message: `Share ${shares.length + 1} of ${custody.threshold} (${custody.threshold} of ${custody.custodians} custodians open the root): custodian, type your share's groups (nothing is shown)`,
          validate: async (v) => {
            const r = await controller.checkShare(form.rootDir, v, shares);
            if ('error' in r) return r.error;
            who = `share ${r.index} (${r.custodian})`;
            return true;
          },
        }),
      );
      shares.push({ text, source: `the share typed for custodian ${shares.length + 1}` });
      process.stdout.write(`Accepted ${who}.\n`);
    }
    answer = { shares };
  }
  answer ??= { passphrase: Buffer.from(await ask(prompts.password({ message: 'Root key passphrase', mask: '*' })), 'utf8') };
  const result = await controller.applyIntermediate(env, form, answer, cliReporter());
  process.stdout.write(`Intermediate ${result.alreadyInstalled ? 'already installed' : 'installed'}: issuer ${result.issuerId}\n`);
}

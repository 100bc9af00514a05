import { Cancelled, explainSystemError } from '../errors.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { formatPlan, cliReporter, columnsOf } from '../output.js';
import { wrapCommand, wrapText } from '../text-wrap.js';
import { parsePassphrase, ROOT_KEY_TYPES, type KeyType } from '../pki/keys.js';
import { unsealVerdict, type WizardController, type CustodyForm, type VaultServerForm } from './controller.js';
import { AGENT_FIELDS, AGENT_HINTS, AGENT_LABELS, type AgentForm } from './agent-rollout.js';

/**
 * The line-by-line wizard (--plain): same controller and steps as the Ink screens, asked with
 * @inquirer/prompts for dumb terminals and screen readers. Ink is never mounted here.
 */
export async function runPlainWizard(controller: WizardController, initialEnv: string | undefined): Promise<number> {
  const prompts = await import('@inquirer/prompts');
  const restoreEcho = () => stty('echo');
  process.once('exit', restoreEcho);
  // Esc cancels the question on screen: the step is left for the step list (readline, which the
  // prompts read through, names a lone Esc 'escape'). Ctrl-C still ends the wizard with 130.
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    const onKey = (_text: string, key: { name?: string } | undefined) => {
      if (key?.name === 'escape') (p as Promise<T> & { cancel?: () => void }).cancel?.();
    };
    process.stdin.on('keypress', onKey);
    try {
      return await p;
    } catch (error) {
      if ((error as Error).name === 'CancelPromptError') throw new BackToSteps();
      throw new Cancelled();
    } finally {
      process.stdin.off('keypress', onKey);
      // Keys typed while a step works wait unechoed for the next prompt (a share typed early is never shown).
      stty('-echo');
    }
  };
  let env = initialEnv;
  while (!env) {
    const envs = controller.listEnvs();
    env = await ask(
      envs.length > 0
        ? prompts.select({ message: 'Environment', choices: envs.map((e) => ({ name: e, value: e })) })
        : prompts.input({ message: 'No environment is configured yet. New environment name (or run `certwright lab` for a rehearsal):', validate: (v) => controller.validateEnv(v) ?? true }),
    ).catch((error: unknown) => {
      if (!(error instanceof BackToSteps)) throw error;
      say('This is the first question: there is nothing to go back to. Ctrl-C quits.');
      return undefined;
    });
  }
  for (;;) {
    const steps = await controller.overview(env);
    process.stdout.write(`\ncertwright · ${env}\n`);
    for (const s of steps) say(`[${s.state}] ${s.title} — ${s.detail}`, '  ', '    ');
    const choice = await ask(
      prompts.select({
        message: 'Open a step',
        choices: [...steps.filter((s) => s.state !== 'unavailable').map((s) => ({ name: s.title, value: s.id })), { name: 'CA distribution to service users', value: DISTRIBUTE }, { name: 'Quit', value: 'quit' }],
      }),
    ).catch((error: unknown) => {
      if (!(error instanceof BackToSteps)) throw error;
      say('This is the step list. Choose Quit to leave; Ctrl-C interrupts.');
      return undefined;
    });
    if (choice === undefined) continue;
    if (choice === 'quit') return 0;
    try {
      if (choice === 'root-create') await plainRoot(controller, env, prompts, ask);
      else if (choice === 'intermediate') await plainIntermediate(controller, env, prompts, ask);
      else if (choice === 'vault-https') await plainVaultHttps(controller, env, prompts, ask);
      else if (choice === 'vault-init') await plainVaultInit(controller, env, prompts, ask);
      else if (choice === 'switch-urls') await plainSwitchUrls(controller, env, prompts, ask);
      else if (choice === 'agents') await plainAgents(controller, env, prompts, ask);
      else if (choice === DISTRIBUTE) await plainDistributeCa(controller, env, prompts, ask);
      else if (choice === 'ca-tree') await plainCaTree(controller, env, prompts, ask);
      else process.stdout.write(`"${steps.find((s) => s.id === choice)?.title ?? choice}" is not in the line-by-line wizard yet. Run it as a command (certwright --help lists them) or without --plain.\n`);
    } catch (error) {
      if (error instanceof Cancelled) throw error;
      if (error instanceof BackToSteps) {
        say('Esc: back to the steps.');
        continue;
      }
      const e = explainSystemError(error) as { message: string; fix?: string };
      say(`Error: ${e.message}`, '', '  ');
      if (e.fix) say(`Fix: ${e.fix}`, '', '  ');
    }
    // The step's result stays on the screen until read: the steps printed again would push it off 24 rows.
    await ask(prompts.input({ message: 'Enter: back to the steps' })).catch((error: unknown) => {
      if (!(error instanceof BackToSteps)) throw error;
    });
  }
}

/** Esc on a question: the step is left, nothing of it run, and the step list comes back. */
class BackToSteps extends Error {
  constructor() {
    super('Esc: back to the steps');
    this.name = 'BackToSteps';
  }
}

/**
 * Between two prompts the terminal does not echo: each prompt leaves the line discipline as it
 * found it (echo on), so without this a share or passphrase typed before its prompt appears would
 * be shown. `stty` keeps Ctrl-C a signal (raw mode would not) while a step runs. Echo is restored on exit.
 */
function stty(mode: 'echo' | '-echo'): void {
  if (process.stdin.isTTY) spawnSync('stty', [mode], { stdio: ['inherit', 'ignore', 'ignore'] });
}

type Prompts = typeof import('@inquirer/prompts');
type Ask = <T>(p: Promise<T>) => Promise<T>;

/** distribute-ca has no row of its own in the pipeline overview; the line wizard offers it after the steps. */
const DISTRIBUTE = 'distribute-ca';

/** A line for the operator, wrapped to the terminal (nothing cut); whole when stdout is not a terminal. */
function say(text: string, first = '', rest = first): void {
  const columns = columnsOf(process.stdout);
  process.stdout.write(`${columns === undefined ? `${first}${text}` : wrapText(text, columns, first, rest).join('\n')}\n`);
}

/** A command to copy, whole: wrapped with continuation backslashes on a terminal. */
function sayCommand(command: string, indent = '  '): void {
  const columns = columnsOf(process.stdout);
  process.stdout.write(`${columns === undefined ? `${indent}${command}` : wrapCommand(command, columns, indent).join('\n')}\n`);
}

function showPlan(title: string, plan: Parameters<typeof formatPlan>[1]): void {
  process.stdout.write(`${formatPlan(title, plan, columnsOf(process.stdout))}\n`);
}

/** Shows the plan and asks before anything changes; false when there is nothing to do or the answer is no. */
async function confirmPlan(title: string, plan: Parameters<typeof formatPlan>[1], prompts: Prompts, ask: Ask, question = 'Apply?'): Promise<boolean> {
  showPlan(title, plan);
  if (plan.actions.length === 0) return false;
  return ask(prompts.confirm({ message: question, default: true }));
}

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
  showPlan('offline root', plan);
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
  if (!(await confirmPlan(`intermediate in ${form.mount}`, plan, prompts, ask))) return;
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

/** Vault over HTTPS: its certificate (vault-cert), then config and start (vault-https). The container user is asked only for a container. */
async function plainVaultHttps(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const problem = await controller.vaultConnectionProblem(env);
  if (problem) throw problem;
  const d = controller.vaultServerDefaults(env);
  const form: VaultServerForm = {
    ...d,
    dns: await ask(prompts.input({ message: "DNS names on Vault's certificate (comma-separated; the first is the common name)", default: d.dns })),
    ip: await ask(prompts.input({ message: 'IP addresses on the certificate (comma-separated, or empty)', default: d.ip })),
    listen: await ask(prompts.input({ message: 'Listen on (HOST:PORT)', default: d.listen })),
  };
  if (d.runtime !== 'process') form.owner = await ask(prompts.input({ message: 'Container user UID:GID (owns the TLS files; empty: you)', default: d.owner }));
  const plan = await controller.planVaultServer(env, form);
  if (!(await confirmPlan(`Vault over HTTPS (${form.runtime})`, plan, prompts, ask))) return;
  const result = await controller.applyVaultServer(env, form, cliReporter());
  say(`Vault answers over HTTPS at ${result.apiAddr}`);
  say(`Certificate SHA-256 ${result.fingerprint}`);
  say('Next: initialise and unseal.');
}

/**
 * Initialise (its plan first, then a question) and unseal. The keys go to a new 0600 file, or are
 * shown once here; shares are typed hidden, and every share Vault refuses or does not count is said.
 */
async function plainVaultInit(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  let seal: Awaited<ReturnType<WizardController['sealStatus']>> | undefined;
  try {
    seal = await controller.sealStatus(env);
  } catch (error) {
    if (!/not initialised/.test((error as Error).message)) throw error;
  }
  if (!seal) {
    const sharesText = await ask(prompts.input({ message: 'Unseal key shares (how many holders get one: 1 to 10)', default: String(controller.initSharesDefault()), validate: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 10) || `"${v}" is not a number of shares: give a whole number from 1 to 10.` }));
    const shares = Number(sharesText);
    const thresholdText = await ask(prompts.input({ message: `Shares needed to unseal (${shares > 1 ? 2 : 1} to ${shares}; empty: the step's default)`, validate: (v) => v === '' || (/^\d+$/.test(v) && Number(v) <= shares && Number(v) >= (shares > 1 ? 2 : 1)) || `"${v}" does not fit: with ${shares} shares, give a number from ${shares > 1 ? 2 : 1} to ${shares}.` }));
    const threshold = thresholdText === '' ? undefined : Number(thresholdText);
    const keysOut = (await ask(prompts.input({ message: 'New file for the unseal keys and root token (mode 0600; empty: show them here once)', validate: (v) => v === '' || !fs.existsSync(path.resolve(v)) || `${v} exists, and certwright never overwrites unseal keys: name a new file, or leave it empty to see them here once.` }))) || undefined;
    const plan = await controller.planVaultInit(env, shares, threshold, keysOut);
    if (!(await confirmPlan('initialise Vault', plan, prompts, ask, 'Initialise now?'))) return;
    const result = await controller.initVault(env, shares, threshold, cliReporter(), keysOut);
    if (result.keysFile) say(`Vault at ${result.addr} initialised. Its unseal keys and root token are in ${result.keysFile} (0600) and nowhere else.`);
    else if (result.secrets) {
      say('Shown once, stored nowhere. Give each key to a different holder now.');
      result.secrets.keysB64.forEach((k, i) => say(`Unseal key ${i + 1}: ${k}`));
      say(`Root token: ${result.secrets.rootToken}`);
      await ask(prompts.confirm({ message: 'Copied them?', default: true }));
    }
    seal = await controller.sealStatus(env);
  }
  const round = new Set<string>();
  while (seal.sealed) {
    say(`Vault is sealed: ${seal.progress} of ${seal.t} key shares given.`);
    const share = (await ask(prompts.password({ message: 'Unseal key share (nothing is shown; empty: back to the steps)' }))).trim();
    if (share === '') return;
    const digest = createHash('sha256').update(share).digest('hex');
    if (round.has(digest)) {
      say(`That share was already given in this round (${seal.progress} of ${seal.t}). Give another holder's share.`);
      continue;
    }
    const before = { given: seal.progress, needed: seal.t };
    try {
      seal = await controller.unsealShare(env, share, cliReporter());
      if (seal.progress === 0) round.clear();
      else if (seal.progress > before.given) round.add(digest);
      say(unsealVerdict(before, { given: seal.progress, needed: seal.t, sealed: seal.sealed }).text);
    } catch (error) {
      round.clear();
      const message = (error as Error).message;
      say(/rejected/.test(message) ? `Vault refused that share and discarded the ${before.given + 1} given in this round: ${message.replace(/^Vault rejected the unseal key shares of this round: /, '')}` : message);
      seal = await controller.sealStatus(env);
    }
  }
  say('Vault is initialised and unsealed.');
}

async function plainSwitchUrls(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const d = controller.switchUrlsDefaults(env);
  const mount = await ask(prompts.input({ message: 'PKI mount', default: d.mount, validate: (v) => controller.validateMount(v) ?? true }));
  const base = await ask(prompts.input({ message: 'HTTPS base URL (the https://HOST:PORT clients reach Vault at)', default: d.base }));
  const plan = await controller.planSwitchUrls(env, mount, base);
  if (!(await confirmPlan(`AIA/CRL URLs of ${mount}`, plan, prompts, ask))) return;
  const result = await controller.applySwitchUrls(env, mount, base, cliReporter());
  say(result.changed ? `The AIA and CRL URLs of ${mount} are under ${base}.` : `The AIA and CRL URLs of ${mount} were already under ${base}.`);
}

/** Agents: one app or proxy at a time, the same questions and rules as the screen, its plan, then apply. */
async function plainAgents(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const agents = controller.agents;
  for (const a of agents.list(env)) say(`[done] ${a.kind} ${a.name} · ${a.detail} · ${a.unit}`, '  ', '    ');
  const kind = await ask(prompts.select({ message: 'Add an agent', choices: [{ name: 'An app (rotating leaf certificate)', value: 'app' as const }, { name: 'A proxy (CA chain only)', value: 'proxy' as const }, { name: 'Back to the steps', value: 'back' as const }] }));
  if (kind === 'back') return;
  let form: AgentForm = agents.defaults(env, kind);
  for (const field of AGENT_FIELDS[kind]) {
    const current = form;
    const value = await ask(prompts.input({ message: `${AGENT_LABELS[field]} (${AGENT_HINTS[field]})`, default: (current[field] as string) || undefined, validate: (v) => agents.checkAnswer(current, field, v) ?? true }));
    form = { ...form, [field]: value };
    if (field === 'name') form = agents.withNameDefaults(env, form);
  }
  const [planned] = await agents.plan(env, [form]);
  if (planned!.error) throw Object.assign(new Error(planned!.error.message), planned!.error.fix ? { fix: planned!.error.fix } : {});
  if (!(await confirmPlan(`agent for ${form.kind} ${form.name}`, planned!.plan!, prompts, ask))) return;
  const [applied] = await agents.apply(env, [form], cliReporter());
  if (applied!.error) throw Object.assign(new Error(applied!.error.message), applied!.error.fix ? { fix: applied!.error.fix } : {});
  const r = applied!.result!;
  say(`${form.kind} ${form.name}: ${r.changed.length ? 'written' : 'already up to date'} in ${r.outDir} (secret_id ${r.secretId})`);
  say('Install its systemd user unit (each command whole; copy it as shown):');
  sayCommand(r.installScript);
  for (const c of r.installCommands) sayCommand(c, '    ');
}

/** distribute-ca from the registry: its inputs asked with the step's own defaults, its plan, then apply. */
async function plainDistributeCa(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const d = await controller.distributeDefaults(env);
  const ca = await ask(prompts.input({ message: 'CA file to distribute (PEM, no key)', default: d.ca }));
  const users = await ask(prompts.input({ message: 'Service users (comma-separated; the accounts the agents run as)', default: d.users, validate: (v) => v.trim() !== '' || 'Give at least one user name, e.g. svc-web.' }));
  const relPath = await ask(prompts.input({ message: 'Path inside each home (which agent app|proxy --user picks up)', default: d.path }));
  const values = { ca, users, path: relPath };
  const plan = await controller.planDistributeCa(env, values);
  if (!(await confirmPlan('distribute the CA', plan, prompts, ask))) return;
  const outcomes = await controller.applyDistributeCa(env, values, cliReporter());
  for (const o of outcomes) say(`${o.user}: ${o.status}${o.path ? ` ${o.path}` : ''} — ${o.detail}`, '  ', '    ');
  const bad = outcomes.filter((o) => o.status === 'failed');
  if (bad.length) say(`The CA was not distributed to ${bad.map((o) => o.user).join(', ')}: see each user's line above, then run it again (users already done are not rewritten).`);
}

/** The CA-tree designs, read-only: a preset's tree with what exists, and the steps that remain. */
async function plainCaTree(controller: WizardController, env: string, prompts: Prompts, ask: Ask): Promise<void> {
  const id = await ask(prompts.select({ message: 'CA-tree design', choices: [...controller.caTreePresets(env).map((p) => ({ name: p.title, value: p.id })), { name: 'Back to the steps', value: '' }] }));
  if (!id) return;
  const tree = controller.caTree(env, id);
  say(tree.title);
  say(tree.summary);
  for (const line of tree.lines) say(line, '  ', '    ');
  if (tree.steps.length) say('Steps that remain:');
  for (const step of tree.steps) {
    if (step.startsWith('certwright ')) sayCommand(step, '  ');
    else say(step, '  ', '    ');
  }
}

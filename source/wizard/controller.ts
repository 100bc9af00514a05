import fs from 'node:fs';
import path from 'node:path';
import { envPaths, validateEnvName, validateMountPath, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { stepKey } from '../../state/schema.js';
import { EnvSession, type Plan, type Reporter } from '../steps/context.js';
import type { RootCreateResult } from '../steps/root-create.js';
import { parsePassphrase, type KeyType } from '../pki/keys.js';
import { emptyPlan } from '../steps/context.js';
import { readPrivateFile } from '../system/secrets.js';
import { failed } from '../pki/checks.js';
import { presets, evaluateTree, renderTree, remainingSteps } from './ca-trees.js';
import { defaultOf, defaultsFor } from '../steps/step.js';
import { rootCreate } from '../steps/defs/root-create.js';
import { intermediate } from '../steps/defs/intermediate.js';
import { vaultCert } from '../steps/defs/vault-cert.js';
import { vaultHttps } from '../steps/defs/vault-https.js';
import { vaultInit } from '../steps/defs/vault-init.js';
import { vaultUnseal } from '../steps/defs/vault-unseal.js';
import { switchUrls } from '../steps/defs/switch-urls.js';
import { DEFAULT_MOUNT } from '../defaults.js';
import type { Runtime } from '../steps/vault-https.js';
import type { InitSecrets } from '../steps/vault-init.js';
import type { SealStatus } from '../vault/pki.js';
import { AgentRolloutController } from './agent-rollout.js';
import { WizardHost, noQuestions, withPassphrase, withRootSecret, type Drift, type PipelineStep, type RootSecretAnswer, type WizardDefaults } from './context.js';
import { stateForget } from '../steps/defs/state-forget.js';
import { listEnvNames } from './first-frame.js';
import { readCustody, checkShareFor } from '../steps/root-unlock.js';
import { custodianNames, validateCustody } from '../pki/shares.js';
import type { Interaction } from '../steps/step.js';
import { parseListen } from '../system/ports.js';

export type { Drift, PipelineStep, StepState, WizardDefaults } from './context.js';

/**
 * Step implementations are loaded when a screen first needs them, not when the wizard starts:
 * they pull in the certificate libraries, and the first frame should not wait for those.
 */
const load = {
  rootCreate: () => import('../steps/root-create.js'),
  pipeline: () => import('../steps/intermediate-pipeline.js'),
  vaultCert: () => import('../steps/vault-cert.js'),
  vaultUnseal: () => import('../steps/vault-unseal.js'),
  trust: () => import('../vault/trust.js'),
};

const VAULT_CERT = 'vault-cert';

export interface RootForm {
  outDir: string;
  commonName: string;
  keyType: KeyType;
  ttl: string;
  pathLen: string;
  /** M-of-N custody instead of one passphrase (root create --custodians ...). */
  custody?: CustodyForm | undefined;
}

export interface CustodyForm {
  custodians: string;
  threshold: string;
  /** Comma-separated; empty: custodian-1, custodian-2, ... */
  names: string;
  sharesOut: string;
  /** Show each share once, on its own screen, for a paper copy. */
  show: boolean;
}

/** One new share shown to its custodian (the screen resolves when they have written it down). */
export type ShowShare = Interaction['showShare'];

export interface IntermediateForm {
  mount: string;
  commonName: string;
  rootDir: string;
}

export interface VaultServerForm {
  mount: string;
  dns: string;
  ip: string;
  tlsDir: string;
  /** uid:gid of the container user, '' for this user. */
  owner: string;
  outDir: string;
  listen: string;
  runtime: Runtime;
}

/** What the wizard says after a share (screen and --plain): every refusal in words, never a silent Enter. */
export function unsealVerdict(before: { given: number; needed: number }, after: { given: number; needed: number; sealed: boolean }): { text: string; refused: boolean } {
  if (!after.sealed) return { text: 'Vault is unsealed.', refused: false };
  if (after.given > before.given) return { text: `Share accepted: ${after.given} of ${after.needed} given.`, refused: false };
  if (after.given === 0 && before.given > 0) {
    return { text: `Vault discarded this round's ${before.given + 1} shares: together they do not open this Vault (one is mistyped or belongs to another Vault). Give the shares again, from the first.`, refused: true };
  }
  return { text: `Vault did not count that share: it already has it in this round (${after.given} of ${after.needed}). Give another holder's share.`, refused: true };
}

/**
 * Everything the wizard screens may do, as plain async functions: the screens never touch Vault,
 * processes or files themselves. Each call runs a step of the registry, the same as the CLI.
 */
export class WizardController extends WizardHost {
  constructor(home: HomeOptions, defaults: WizardDefaults, lab?: { addr: string; workspace: string }) {
    super(home, defaults, lab);
  }

  private agentController?: AgentRolloutController;
  /** The agent-rollout screens' calls (issue 4). */
  get agents(): AgentRolloutController {
    this.agentController ??= new AgentRolloutController(this);
    return this.agentController;
  }

  listEnvs(): string[] {
    return listEnvNames(this.home);
  }

  validateEnv(name: string): string | undefined {
    try {
      validateEnvName(name);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  validateMount(mount: string): string | undefined {
    try {
      validateMountPath(mount);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private async withSession<T>(env: string, command: string, fn: (s: EnvSession) => Promise<T>): Promise<T> {
    const session = await EnvSession.open(env, this.home, command);
    try {
      return await fn(session);
    } finally {
      session.close();
    }
  }

  /** The pipeline with each step's status, re-verified from the world (resume shows drift). */
  async overview(env: string): Promise<PipelineStep[]> {
    const paths = envPaths(env, this.home);
    const store = new StateStore(env, paths.stateFile);
    const state = store.read();
    const mount = this.defaults.mount ?? Object.keys(state.mounts)[0] ?? DEFAULT_MOUNT;
    const steps: PipelineStep[] = [];
    const root = state.steps['root-create'];
    if (root?.status === 'done') {
      const { verifyRootCreate } = await load.rootCreate();
      const checks = await this.withSession(env, 'wizard', (s) => verifyRootCreate(s));
      const bad = failed(checks);
      steps.push({
        id: 'root-create',
        title: 'Offline root CA',
        state: bad.length ? 'drift' : 'done',
        detail: bad.length ? `changed: ${bad.map((c) => c.detail).join('; ')} (open it for what to do)` : `${root.facts.commonName} · until ${String(root.facts.notAfter).slice(0, 10)}`,
        drift: bad.length ? { changed: bad.map((c) => ({ name: c.name, detail: c.detail })), records: ['root-create'], redo: false, advice: `Restore root-ca.key and root-ca.pem in ${String(root.facts.rootDir ?? 'the root directory')} from the ceremony backup, then re-verify. certwright never makes a new root over a recorded one: every certificate it signed chains to that root.` } : undefined,
      });
    } else {
      steps.push({ id: 'root-create', title: 'Offline root CA', state: 'todo', detail: 'not created yet' });
    }
    const install = state.steps[stepKey('intermediate-install', mount)];
    const request = state.steps[stepKey('intermediate-request', mount)];
    if (install?.status === 'done') {
      // Re-verified against Vault, not taken from state: a wiped or restored Vault shows as drift.
      const verdict = await this.reverifyIntermediate(env, mount);
      const rootChanged = verdict.changed.some((c) => /root/.test(c.name));
      steps.push({
        id: 'intermediate',
        title: `Intermediate in Vault (${mount})`,
        state: verdict.state,
        detail: verdict.state === 'done' ? `issuer ${String(install.facts.issuerId).slice(0, 8)} · until ${String(install.facts.notAfter).slice(0, 10)}` : verdict.detail,
        drift:
          verdict.state === 'drift'
            ? {
                changed: verdict.changed,
                records: [stepKey('intermediate-install', mount), stepKey('intermediate-request', mount)],
                redo: !rootChanged,
                advice: rootChanged
                  ? 'The root it was signed by changed: restore the root from the ceremony backup, then re-verify; redoing the intermediate would not help.'
                  : `If the change is expected (a wiped or restored Vault), redo the step: its records are forgotten and it runs again with a new key in ${mount}/; the old key's CSR and certificate are kept aside in the artefacts.`,
              }
            : undefined,
      });
    } else if (request) {
      steps.push({ id: 'intermediate', title: `Intermediate in Vault (${mount})`, state: 'pending', detail: 'CSR pending: sign and install' });
    } else {
      steps.push({ id: 'intermediate', title: `Intermediate in Vault (${mount})`, state: 'todo', detail: 'not requested yet' });
    }
    steps.push(...(await this.reverifyVault(env, this.vaultSteps(state), state)));
    steps.push(this.agents.overviewStep(env));
    steps.push({ id: 'ca-tree', title: 'CA-tree designs', state: 'todo', detail: 'presets from the certifying-builds seed, with what exists' });
    return steps;
  }

  /**
   * What stops a step that talks to Vault before any of its questions is asked: no address known
   * (flag, VAULT_ADDR or state), no token, an unreadable CA file. Undefined when nothing does.
   */
  async vaultConnectionProblem(env: string): Promise<Error | undefined> {
    const { resolveConnection } = await import('../vault/connection.js');
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    try {
      resolveConnection({ vaultAddr: this.defaults.vaultAddr, vaultCa: this.defaults.vaultCa, stateAddr: state.vault?.addr, stateCa: state.vault?.caFile });
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  /** The root ceremony's questions, pre-filled with the step's own defaults (or the flags given). */
  private async reverifyIntermediate(env: string, mount: string): Promise<{ state: 'done' | 'drift' | 'unavailable'; detail: string; changed: Array<{ name: string; detail: string }> }> {
    try {
      const [{ verifyCompleted }, { VaultClient }, { resolveConnection }] = await Promise.all([load.pipeline(), import('../vault/client.js'), import('../vault/connection.js')]);
      const bad = failed(
        await this.withSession(env, 'wizard: re-verify', (s) => verifyCompleted(s, new VaultClient(resolveConnection({ vaultAddr: this.defaults.vaultAddr, vaultCa: this.defaults.vaultCa, stateAddr: s.state.vault?.addr, stateCa: s.state.vault?.caFile })), mount)),
      );
      const changed = bad.map((c) => ({ name: c.name, detail: c.detail }));
      return bad.length ? { state: 'drift', detail: `changed: ${bad.map((c) => c.detail).join('; ')} (open it for what to do)`, changed } : { state: 'done', detail: '', changed };
    } catch (error) {
      // Evidence that cannot be read is "not checked", never a tick.
      return { state: 'unavailable', detail: `not checked: ${(error as Error).message}`, changed: [] };
    }
  }

  /**
   * The Vault rows re-verified from the world, not taken from state: Vault over HTTPS must present
   * the certificate in its TLS directory with a chain to the root; the switched URLs must still be
   * the HTTPS ones in the mount's config/urls. Evidence that cannot be read is "not checked".
   */
  private async reverifyVault(env: string, rows: PipelineStep[], state: ReturnType<StateStore['read']>): Promise<PipelineStep[]> {
    const rootDir = state.steps['root-create']?.facts.rootDir;
    const rootFile = typeof rootDir === 'string' ? path.join(rootDir, 'root-ca.pem') : state.vault?.caFile;
    const out: PipelineStep[] = [];
    for (const row of rows) {
      if (row.state !== 'done' || (row.id !== 'vault-https' && row.id !== 'switch-urls')) {
        out.push(row);
        continue;
      }
      try {
        const changed = row.id === 'vault-https' ? await this.httpsChanges(state, rootFile) : await this.urlChanges(env, state);
        if (changed.length === 0) out.push(row);
        else {
          const switched = Object.values(state.steps).find((x) => x.id === 'switch-urls' && x.status === 'done');
          const records = row.id === 'vault-https' ? ['vault-https'] : [stepKey('switch-urls', switched?.mount ?? DEFAULT_MOUNT)];
          out.push({ ...row, state: 'drift', detail: `changed: ${changed.map((c) => c.detail).join('; ')} (open it for what to do)`, drift: { changed, records, redo: true, advice: row.id === 'vault-https' ? 'If Vault was moved or its certificate replaced by hand, redo the step: its record is forgotten and "Vault over HTTPS" runs again (a certificate that still fits is kept).' : 'If the URLs were changed by hand, redo the step: its record is forgotten and the URL switch runs again.' } });
        }
      } catch (error) {
        out.push({ ...row, state: 'unavailable', detail: `not checked: ${(error as Error).message}` });
      }
    }
    return out;
  }

  private async httpsChanges(state: ReturnType<StateStore['read']>, rootFile: string | undefined): Promise<Array<{ name: string; detail: string }>> {
    const facts = state.steps['vault-https']!.facts;
    const [{ probeTls }, { tlsPaths }, { parseCertificate, fingerprint }] = await Promise.all([import('../vault/tls-diagnosis.js'), load.vaultCert(), import('../pki/pem.js')]);
    if (!rootFile) throw new Error('no root certificate is recorded to check Vault\'s chain against');
    const ca = fs.readFileSync(rootFile, 'utf8');
    const certFile = tlsPaths(String(facts.tlsDir)).cert;
    const want = fingerprint(parseCertificate(fs.readFileSync(certFile, 'utf8'), certFile));
    const probe = await probeTls(String(facts.apiAddr), ca, 3000);
    const changed: Array<{ name: string; detail: string }> = [];
    if (!probe.authorized) changed.push({ name: 'chain to the root', detail: `${String(facts.apiAddr)} presents a certificate that does not verify to ${rootFile} (${probe.error ?? 'unknown'})` });
    if (probe.fingerprint !== want) changed.push({ name: 'served certificate', detail: `${String(facts.apiAddr)} serves ${probe.fingerprint}, not the certificate in ${certFile}` });
    return changed;
  }

  private async urlChanges(env: string, state: ReturnType<StateStore['read']>): Promise<Array<{ name: string; detail: string }>> {
    const switched = Object.values(state.steps).find((x) => x.id === 'switch-urls' && x.status === 'done')!;
    const mount = switched.mount ?? DEFAULT_MOUNT;
    const [{ VaultClient }, { resolveConnection }, { readUrls }] = await Promise.all([import('../vault/client.js'), import('../vault/connection.js'), import('../vault/pki.js')]);
    const addr = (await this.httpsAddrOf(env)) ?? state.vault?.addr;
    const vault = new VaultClient({ ...resolveConnection({ vaultAddr: addr, vaultCa: this.defaults.vaultCa, stateAddr: state.vault?.addr, stateCa: state.vault?.caFile }), timeoutMs: 3000 });
    const urls = await readUrls(vault, mount);
    const base = String(switched.facts.base);
    const all = [...urls.issuingCertificates, ...urls.crlDistributionPoints];
    const off = all.filter((u) => !u.startsWith(`${base}/`));
    if (all.length === 0) return [{ name: 'AIA/CRL URLs', detail: `${mount}/config/urls is empty` }];
    return off.length ? [{ name: 'AIA/CRL URLs', detail: `${mount}/config/urls has ${off.join(', ')}, not under ${base}` }] : [];
  }

  /** What state records say of a step, as `state show` prints them (facts only: state holds no secret). */
  recorded(env: string, records: string[]): Array<[string, string]> {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const out: Array<[string, string]> = [];
    for (const r of records) {
      const rec = state.steps[r];
      if (!rec) continue;
      out.push([r, `${rec.status}${rec.completedAt ? `, ${rec.completedAt}` : ''}`]);
      for (const [k, v] of Object.entries(rec.facts ?? {})) out.push([`  ${k}`, Array.isArray(v) ? v.join(', ') : String(v)]);
    }
    return out;
  }

  /** The commands a drifted step's actions run, whole, for the operator to copy. */
  driftCommands(env: string, drift: Drift): { show: string; forget: string } {
    return { show: `certwright state show --env ${env}`, forget: drift.records.map((r) => `certwright state forget --env ${env} --record ${r}`).join(' && ') };
  }

  /** Redo, first half: the step's records are forgotten (the registry's state-forget, transcript entry and all). */
  async forget(env: string, drift: Drift, report: Reporter): Promise<void> {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    for (const record of drift.records) if (state.steps[record]) await this.runStep(stateForget, env, { record }, report);
  }

  rootDefaults(env: string): RootForm {
    const d = defaultsFor(rootCreate, { env, home: this.home });
    return {
      outDir: this.defaults.outDir ?? d.out!,
      commonName: this.defaults.commonName ?? d.cn!,
      keyType: (this.defaults.keyType ?? d['key-type']) as KeyType,
      ttl: this.defaults.ttl ?? d.ttl!,
      pathLen: this.defaults.pathLen ?? d['path-len'] ?? '',
      custody: this.defaults.custodians !== undefined ? this.custodyDefaults(env) : undefined,
    };
  }

  private rootValues(form: RootForm) {
    const c = form.custody;
    return {
      out: form.outDir,
      cn: form.commonName,
      'key-type': form.keyType,
      ttl: form.ttl,
      'path-len': form.pathLen,
      ...(c ? { custodians: c.custodians, threshold: c.threshold, 'custodian-names': c.names, 'shares-out': c.sharesOut, 'show-shares': c.show } : {}),
    };
  }

  /** The custody questions' defaults: the flags given, else 3 custodians, 2 to open, shares beside the environment. */
  custodyDefaults(env: string): CustodyForm {
    const g = this.defaults;
    return { custodians: g.custodians ?? '3', threshold: g.threshold ?? '2', names: g.custodianNames ?? '', sharesOut: g.sharesOut ?? path.join(envPaths(env, this.home).dir, 'root-shares'), show: false };
  }

  /** Why a custody answer cannot work (the step's own checks), or undefined. */
  validateCustody(form: CustodyForm): string | undefined {
    try {
      const n = Number(form.custodians);
      const m = Number(form.threshold);
      validateCustody(n, m);
      custodianNames(form.names.split(',').map((v) => v.trim()).filter(Boolean), n);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async planRoot(env: string, form: RootForm): Promise<Plan> {
    return this.planStep(rootCreate, env, this.rootValues(form));
  }

  /** The passphrase from --passphrase-file, when one was given; else the screen asks. */
  async passphraseFromFile(minLength: number): Promise<Buffer | undefined> {
    if (!this.defaults.passphraseFile) return undefined;
    return parsePassphrase(await readPrivateFile(this.defaults.passphraseFile, '--passphrase-file'), this.defaults.passphraseFile, { minLength });
  }

  /** The root ceremony: with the passphrase the screen asked, or (custody) none, showing shares through `show`. */
  async applyRoot(env: string, form: RootForm, passphrase: Buffer | undefined, report: Reporter, show?: ShowShare): Promise<RootCreateResult> {
    try {
      const interact = passphrase ? withPassphrase(passphrase) : { ...noQuestions, ...(show ? { showShare: show } : {}) };
      return await this.runStep(rootCreate, env, this.rootValues(form), report, interact);
    } finally {
      passphrase?.fill(0);
    }
  }

  intermediateDefaults(env: string): IntermediateForm {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const d = defaultsFor(intermediate, { env, home: this.home, state });
    const rootDir = this.defaults.rootDir ?? d['root-dir'] ?? defaultsFor(rootCreate, { env, home: this.home }).out!;
    return { mount: this.defaults.mount ?? d.mount!, commonName: this.defaults.intermediateCn ?? d.cn!, rootDir };
  }

  private intermediateValues(form: IntermediateForm) {
    return { mount: form.mount, cn: form.commonName, 'root-dir': form.rootDir };
  }

  async planIntermediate(env: string, form: IntermediateForm): Promise<Plan> {
    return this.planStep(intermediate, env, this.intermediateValues(form));
  }

  async applyIntermediate(env: string, form: IntermediateForm, answer: RootSecretAnswer, report: Reporter) {
    try {
      return await this.runStep(intermediate, env, this.intermediateValues(form), report, withRootSecret(answer));
    } finally {
      if ('passphrase' in answer) answer.passphrase.fill(0);
    }
  }

  /** The custody of the root in rootDir (M, N, custodian names), or undefined for a passphrase root. */
  rootCustody(rootDir: string): { threshold: number; custodians: number; names: string[] } | undefined {
    const c = readCustody(path.resolve(rootDir));
    return c ? { threshold: c.threshold, custodians: c.custodians, names: c.names } : undefined;
  }

  /** One custodian's typed share, checked before the next is asked: who it is, or why it is refused. */
  async checkShare(rootDir: string, text: string, given: Array<{ text: string; source: string }>): Promise<{ index: number; custodian: string } | { error: string }> {
    try {
      return await checkShareFor(path.resolve(rootDir), text, `the share typed for custodian ${given.length + 1}`, given);
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  /** What opens the root from the start-up flags (--share files or --passphrase-file), else undefined: the screen asks. */
  async rootSecretFromFlags(rootDir: string): Promise<RootSecretAnswer | undefined> {
    if (this.rootCustody(rootDir)) {
      const files = this.defaults.shareFiles ?? [];
      if (files.length === 0) return undefined;
      const shares: Array<{ text: string; source: string }> = [];
      for (const file of files) {
        const bytes = await readPrivateFile(file, '--share');
        shares.push({ text: bytes.toString('utf8'), source: file });
        bytes.fill(0);
      }
      return { shares };
    }
    const passphrase = await this.passphraseFromFile(1);
    return passphrase ? { passphrase } : undefined;
  }

  caTreePresets(env: string): Array<{ id: string; title: string }> {
    return presets({ env, mount: this.defaults.mount ?? DEFAULT_MOUNT }).map((p) => ({ id: p.id, title: p.title }));
  }

  caTree(env: string, id: string): { title: string; summary: string; lines: string[]; steps: string[] } {
    const preset = presets({ env, mount: this.defaults.mount ?? DEFAULT_MOUNT }).find((p) => p.id === id)!;
    const tree = evaluateTree(preset.tree, this.home);
    return { title: preset.title, summary: preset.summary, lines: renderTree(tree), steps: remainingSteps(tree) };
  }

  /** Vault over HTTPS: server certificate + config + start, init + unseal, URL switch. */
  private vaultSteps(state: ReturnType<StateStore['read']>): PipelineStep[] {
    const cert = state.steps[VAULT_CERT];
    const server = state.steps['vault-https'];
    const init = state.steps['vault-init'];
    const unseal = state.steps['vault-unseal'];
    const switched = Object.values(state.steps).find((s) => s.id === 'switch-urls' && s.status === 'done');
    const steps: PipelineStep[] = [];
    if (server?.status === 'done' && cert?.status === 'done') steps.push({ id: 'vault-https', title: 'Vault over HTTPS', state: 'done', detail: `${server.facts.apiAddr} · certificate until ${String(cert.facts.notAfter).slice(0, 10)}` });
    else if (cert?.status === 'done') steps.push({ id: 'vault-https', title: 'Vault over HTTPS', state: 'pending', detail: 'certificate issued: render and start the server' });
    else steps.push({ id: 'vault-https', title: 'Vault over HTTPS', state: 'todo', detail: 'server certificate, config, compose, start' });
    const managed = state.steps['vault-server']?.status === 'done';
    if (managed && server?.status === 'done') steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: 'done', detail: `initialised by vault-server (${state.steps['vault-server']!.facts.shares} share(s)), unsealed over HTTPS` });
    else if (init?.status === 'done' && unseal?.status === 'done') steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: 'done', detail: `${init.facts.shares} shares, threshold ${init.facts.threshold}` });
    else if (init?.status === 'done') steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: 'pending', detail: 'initialised: unseal it' });
    else steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: server ? 'todo' : 'unavailable', detail: server ? 'over HTTPS, trusting only the root' : 'serve Vault over HTTPS first' });
    steps.push(switched ? { id: 'switch-urls', title: 'AIA/CRL URLs over HTTPS', state: 'done', detail: `${switched.mount} -> ${switched.facts.base}` } : { id: 'switch-urls', title: 'AIA/CRL URLs over HTTPS', state: server ? 'todo' : 'unavailable', detail: server ? 'check CA and CRL over HTTPS, then switch' : 'serve Vault over HTTPS first' });
    return steps;
  }

  vaultServerDefaults(env: string): VaultServerForm {
    const paths = envPaths(env, this.home);
    const state = new StateStore(env, paths.stateFile).read();
    const cert = state.steps[VAULT_CERT]?.facts;
    const https = state.steps['vault-https']?.facts;
    const dc = defaultsFor(vaultCert, { env, home: this.home, state });
    const dh = defaultsFor(vaultHttps, { env, home: this.home, state });
    const mount = this.defaults.mount ?? (typeof cert?.mount === 'string' ? cert.mount : Object.keys(state.mounts)[0] ?? dc.mount!);
    return {
      mount,
      dns: Array.isArray(cert?.dns) ? cert.dns.join(',') : dc.dns!,
      ip: Array.isArray(cert?.ips) ? cert.ips.join(',') : dc.ip!,
      tlsDir: typeof cert?.outDir === 'string' ? cert.outDir : dc.out!,
      owner: typeof cert?.owner === 'string' ? cert.owner : '',
      outDir: typeof https?.outDir === 'string' ? String(https.outDir) : dh.out!,
      listen: typeof https?.listen === 'string' ? String(https.listen) : typeof state.steps['vault-server']?.facts.listen === 'string' ? String(state.steps['vault-server']!.facts.listen) : '127.0.0.1:8200',
      runtime: this.lab ? 'process' : (dh.runtime as Runtime),
    };
  }

  private certValues(form: VaultServerForm) {
    return { mount: form.mount, dns: form.dns.split(','), ip: form.ip.split(',').filter((x) => x.trim()), out: form.tlsDir, ...(form.owner ? { owner: form.owner } : {}) };
  }

  private httpsValues(form: VaultServerForm) {
    return { 'tls-dir': form.tlsDir, out: form.outDir, listen: form.listen, runtime: form.runtime, start: true, ...(this.defaults.keyFile ? { 'key-file': [this.defaults.keyFile] } : {}) };
  }

  /** Plan of the server certificate, and of the config + start when the certificate exists. */
  async planVaultServer(env: string, form: VaultServerForm): Promise<Plan> {
    // The listener is checked before anything: a bad one must not surface after the certificate.
    parseListen(form.listen);
    const certPlan = await this.planStep(vaultCert, env, this.certValues(form));
    const plan = { ...emptyPlan(), facts: [...certPlan.facts], actions: [...certPlan.actions], warnings: [...certPlan.warnings] };
    const { tlsPaths } = await load.vaultCert();
    if (fs.existsSync(tlsPaths(form.tlsDir).fullchain) && !certPlan.issue) {
      const https = await this.planStep(vaultHttps, env, this.httpsValues(form));
      plan.facts.push(...https.facts.filter(([k]) => k !== 'Certificate'));
      plan.actions.push(...https.actions);
      plan.warnings.push(...https.warnings);
    } else {
      plan.actions.push(`Render ${form.outDir}/config/vault.hcl and compose.yaml, start Vault (${form.runtime}) on ${form.listen} and wait until it answers over HTTPS`);
    }
    return plan;
  }

  async applyVaultServer(env: string, form: VaultServerForm, report: Reporter): Promise<{ apiAddr: string; fingerprint: string }> {
    // Validate what vault-https will need before vault-cert issues anything.
    parseListen(form.listen);
    await this.runStep(vaultCert, env, this.certValues(form), report);
    const result = await this.runStep(vaultHttps, env, this.httpsValues(form), report);
    return { apiAddr: result.apiAddr, fingerprint: result.fingerprint };
  }

  /** What vault-init would do, shown before the wizard asks to initialise. */
  async planVaultInit(env: string, shares: number, threshold: number | undefined, keysOut?: string): Promise<Plan> {
    return this.planStep(vaultInit, env, await this.initValues(env, shares, threshold, keysOut));
  }

  /** vault-init's inputs; a threshold not given is the step's own default, a keys file keeps the secrets off the terminal. */
  private async initValues(env: string, shares: number, threshold: number | undefined, keysOut?: string) {
    const addr = await this.httpsAddrOf(env);
    return { 'key-shares': String(shares), ...(threshold !== undefined ? { 'key-threshold': String(threshold) } : {}), ...(keysOut ? { 'keys-out': keysOut } : {}), ...(addr ? { 'vault-addr': addr } : {}) };
  }

  /** vault-init's default number of shares (the step definition's). */
  initSharesDefault(): number {
    return Number(defaultOf(vaultInit, 'key-shares'));
  }

  /** Initialises over HTTPS; the secrets go to the screen, which shows them once. */
  async initVault(env: string, shares: number, threshold: number | undefined, report: Reporter, keysOut?: string): Promise<{ secrets?: InitSecrets; addr: string; keysFile?: string }> {
    const result = await this.runStep(vaultInit, env, await this.initValues(env, shares, threshold, keysOut), report);
    return { ...(result.secrets ? { secrets: result.secrets } : {}), addr: result.addr, ...(result.keysFile ? { keysFile: result.keysFile } : {}) };
  }

  async sealStatus(env: string): Promise<SealStatus> {
    const [{ httpsVault }, { currentSeal }] = await Promise.all([load.trust(), load.vaultUnseal()]);
    const addr = await this.httpsAddrOf(env);
    return this.withSession(env, 'wizard: seal status', async (session) => currentSeal(httpsVault(session.state, { vaultAddr: addr, vaultCa: this.defaults.vaultCa }).vault));
  }

  /** One share, typed hidden on the screen; records the unseal in state when it completes. */
  async unsealShare(env: string, share: string, report: Reporter): Promise<SealStatus> {
    const addr = await this.httpsAddrOf(env);
    let given = false;
    const interact = { ...withPassphrase(Buffer.alloc(0)), unsealShare: async () => (given ? undefined : ((given = true), share)) };
    try {
      await this.runStep(vaultUnseal, env, addr ? { 'vault-addr': addr } : {}, report, interact);
    } catch (error) {
      // "still sealed: N of T given" after one share is progress, not a failure, for the screen.
      // A refused share's message also says "still sealed"; that one must reach the screen.
      if (!(error instanceof Error && /is still sealed: \d+ of \d+ key shares given/.test(error.message))) throw error;
    }
    return this.sealStatus(env);
  }

  switchUrlsDefaults(env: string): { mount: string; base: string } {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const d = defaultsFor(switchUrls, { env, home: this.home, state });
    return { mount: this.defaults.mount ?? Object.keys(state.mounts)[0] ?? d.mount!, base: d.base ?? state.vault?.addr ?? 'https://127.0.0.1:8200' };
  }

  async planSwitchUrls(env: string, mount: string, base: string): Promise<Plan> {
    validateMountPath(mount);
    return this.planStep(switchUrls, env, { mount, base });
  }

  async applySwitchUrls(env: string, mount: string, base: string, report: Reporter): Promise<{ changed: boolean }> {
    return this.runStep(switchUrls, env, { mount, base }, report);
  }

  /** distribute-ca's questions pre-filled from its definition (the environment's root, the agents' users). */
  async distributeDefaults(env: string): Promise<{ ca: string; users: string; path: string }> {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const d = defaultsFor(await this.distributeStep(), { env, home: this.home, state });
    return { ca: d.ca ?? '', users: d.users ?? '', path: d.path ?? '' };
  }

  private async distributeStep() {
    const { loadStep } = await import('../steps/index.js');
    return (await loadStep('distribute-ca')) as typeof import('../steps/defs/tools.js').distributeCa;
  }

  async planDistributeCa(env: string, values: { ca: string; users: string; path: string }): Promise<Plan> {
    return this.planStep(await this.distributeStep(), env, values);
  }

  async applyDistributeCa(env: string, values: { ca: string; users: string; path: string }, report: Reporter) {
    return this.runStep(await this.distributeStep(), env, values, report);
  }

  private async httpsAddrOf(env: string): Promise<string | undefined> {
    if (this.defaults.vaultAddr?.startsWith('https:')) return this.defaults.vaultAddr;
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const api = state.steps['vault-https']?.facts.apiAddr;
    return typeof api === 'string' ? api : undefined;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { envPaths, envsDir, rootPaths, validateEnvName, validateMountPath, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { stepKey } from '../../state/schema.js';
import { EnvSession, type Plan, type Reporter } from '../steps/context.js';
import type { RootCreateInput, RootCreateResult } from '../steps/root-create.js';
import { parsePassphrase, type KeyType } from '../pki/keys.js';
import { parseDuration } from '../duration.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { emptyPlan } from '../steps/context.js';
import { readPrivateFile } from '../system/secrets.js';
import { failed } from '../pki/checks.js';
import { presets, evaluateTree, renderTree, remainingSteps } from './ca-trees.js';
import { DriftError, OperatorError } from '../errors.js';
import type { VaultCertInput } from '../steps/vault-cert.js';
import type { VaultHttpsInput, Runtime } from '../steps/vault-https.js';
import type { InitSecrets } from '../steps/vault-init.js';
import type { SealStatus } from '../vault/pki.js';
import { AgentRolloutController } from './agent-rollout.js';

/**
 * Step modules are loaded when a screen first needs them, not when the wizard starts: they pull in
 * the certificate libraries, and the first frame should not wait for those.
 */
const load = {
  rootCreate: () => import('../steps/root-create.js'),
  pipeline: () => import('../steps/intermediate-pipeline.js'),
  sign: () => import('../steps/intermediate-sign.js'),
  vaultCert: () => import('../steps/vault-cert.js'),
  vaultHttps: () => import('../steps/vault-https.js'),
  vaultInit: () => import('../steps/vault-init.js'),
  vaultUnseal: () => import('../steps/vault-unseal.js'),
  switchUrls: () => import('../steps/switch-urls.js'),
  serverCert: () => import('../pki/server-cert.js'),
  ownership: () => import('../system/ownership.js'),
  ports: () => import('../system/ports.js'),
  trust: () => import('../vault/trust.js'),
};

const VAULT_CERT = 'vault-cert';

/**
 * Everything the wizard screens may do, as plain async functions: the screens never touch Vault,
 * processes or files themselves. Each call runs the same step code as the subcommands.
 */
export type StepState = 'done' | 'pending' | 'todo' | 'drift' | 'unavailable';

export interface PipelineStep {
  id: string;
  title: string;
  state: StepState;
  detail: string;
}

export interface WizardDefaults {
  env?: string | undefined;
  outDir?: string | undefined;
  commonName?: string | undefined;
  keyType?: string | undefined;
  ttl?: string | undefined;
  pathLen?: string | undefined;
  passphraseFile?: string | undefined;
  mount?: string | undefined;
  intermediateCn?: string | undefined;
  rootDir?: string | undefined;
  vaultAddr?: string | undefined;
  vaultCa?: string | undefined;
}

export interface RootForm {
  outDir: string;
  commonName: string;
  keyType: KeyType;
  ttl: string;
  pathLen: string;
}

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

export class WizardController {
  constructor(
    readonly home: HomeOptions,
    readonly defaults: WizardDefaults,
    readonly lab?: { addr: string; workspace: string },
  ) {}

  private agentController?: AgentRolloutController;
  /** The agent-rollout screens' calls (issue 4). */
  get agents(): AgentRolloutController {
    this.agentController ??= new AgentRolloutController(this);
    return this.agentController;
  }

  listEnvs(): string[] {
    try {
      return fs.readdirSync(envsDir(this.home)).filter((name) => fs.existsSync(path.join(envsDir(this.home), name, 'state.json')));
    } catch {
      return [];
    }
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

  private vault(session?: EnvSession): VaultClient {
    return new VaultClient(resolveConnection({ vaultAddr: this.defaults.vaultAddr, vaultCa: this.defaults.vaultCa, stateAddr: session?.state.vault?.addr, stateCa: session?.state.vault?.caFile }));
  }

  /** The pipeline with each step's status, re-verified from the world (resume shows drift). */
  async overview(env: string): Promise<PipelineStep[]> {
    const paths = envPaths(env, this.home);
    const store = new StateStore(env, paths.stateFile);
    const state = store.read();
    const mount = this.defaults.mount ?? Object.keys(state.mounts)[0] ?? 'pki_int';
    const steps: PipelineStep[] = [];
    const root = state.steps['root-create'];
    if (root?.status === 'done') {
      const { verifyRootCreate } = await load.rootCreate();
      const checks = await this.withSession(env, 'wizard', (s) => verifyRootCreate(s));
      const bad = failed(checks);
      steps.push({ id: 'root-create', title: 'Offline root CA', state: bad.length ? 'drift' : 'done', detail: bad.length ? bad.map((c) => c.detail).join('; ') : `${root.facts.commonName} · until ${String(root.facts.notAfter).slice(0, 10)}` });
    } else {
      steps.push({ id: 'root-create', title: 'Offline root CA', state: 'todo', detail: 'not created yet' });
    }
    const install = state.steps[stepKey('intermediate-install', mount)];
    const request = state.steps[stepKey('intermediate-request', mount)];
    if (install?.status === 'done') {
      steps.push({ id: 'intermediate', title: `Intermediate in Vault (${mount})`, state: 'done', detail: `issuer ${String(install.facts.issuerId).slice(0, 8)} · until ${String(install.facts.notAfter).slice(0, 10)}` });
    } else if (request) {
      steps.push({ id: 'intermediate', title: `Intermediate in Vault (${mount})`, state: 'pending', detail: 'CSR pending: sign and install' });
    } else {
      steps.push({ id: 'intermediate', title: `Intermediate in Vault (${mount})`, state: 'todo', detail: 'not requested yet' });
    }
    steps.push(...this.vaultSteps(state));
    steps.push(this.agents.overviewStep(env));
    steps.push({ id: 'ca-tree', title: 'CA-tree designs', state: 'todo', detail: 'presets from the certifying-builds seed, with what exists' });
    return steps;
  }

  rootDefaults(env: string): RootForm {
    return {
      outDir: this.defaults.outDir ?? path.join(envPaths(env, this.home).dir, 'offline-root'),
      commonName: this.defaults.commonName ?? `${env} Root CA`,
      keyType: (this.defaults.keyType as KeyType | undefined) ?? 'ec-p384',
      ttl: this.defaults.ttl ?? '10y',
      pathLen: this.defaults.pathLen ?? '1',
    };
  }

  private rootInput(form: RootForm): RootCreateInput {
    const pathLen = form.pathLen.trim() === '' ? undefined : Number(form.pathLen);
    return { outDir: form.outDir, commonName: form.commonName, keyType: form.keyType, ttlSeconds: parseDuration(form.ttl), pathLen };
  }

  async planRoot(form: RootForm): Promise<Plan> {
    fs.mkdirSync(form.outDir, { recursive: true, mode: 0o700 });
    const { planRootCreate } = await load.rootCreate();
    return planRootCreate(this.rootInput(form));
  }

  /** The passphrase from --passphrase-file, when one was given; else the screen asks. */
  async passphraseFromFile(minLength: number): Promise<Buffer | undefined> {
    if (!this.defaults.passphraseFile) return undefined;
    return parsePassphrase(await readPrivateFile(this.defaults.passphraseFile, '--passphrase-file'), this.defaults.passphraseFile, { minLength });
  }

  async applyRoot(env: string, form: RootForm, passphrase: Buffer, report: Reporter): Promise<RootCreateResult> {
    try {
      const { applyRootCreate } = await load.rootCreate();
      return await this.withSession(env, 'wizard: root create', (s) => applyRootCreate(s, this.rootInput(form), passphrase, report));
    } finally {
      passphrase.fill(0);
    }
  }

  intermediateDefaults(env: string): IntermediateForm {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const rootDir = this.defaults.rootDir ?? (state.steps['root-create']?.facts.rootDir as string | undefined) ?? path.join(envPaths(env, this.home).dir, 'offline-root');
    return { mount: this.defaults.mount ?? 'pki_int', commonName: this.defaults.intermediateCn ?? `${env} Intermediate CA`, rootDir };
  }

  async planIntermediate(env: string, form: IntermediateForm): Promise<Plan> {
    return this.withSession(env, 'wizard: plan intermediate', async (session) => {
      const vault = this.vault(session);
      const { verifyCompleted } = await load.pipeline();
      const checks = await verifyCompleted(session, vault, form.mount);
      const bad = failed(checks);
      if (bad.length) throw new DriftError(`What was done before has changed: ${bad.map((c) => c.detail).join('; ')}.`, 'Find out what changed before going on.');
      await vault.assertReady();
      const plan = emptyPlan();
      plan.facts.push(['Vault', vault.addr], ['Mount', form.mount], ['Subject', `CN=${form.commonName}`], ['Root', rootPaths(form.rootDir).cert]);
      const slug = form.mount.replace(/\//g, '_');
      const csrFile = path.join(session.paths.artefacts, `${slug}-intermediate.csr`);
      if (session.state.steps[stepKey('intermediate-install', form.mount)]?.status === 'done') {
        return plan;
      }
      if (session.state.steps[stepKey('intermediate-request', form.mount)]?.status === 'done' && fs.existsSync(csrFile)) {
        const { planIntermediateSign } = await load.sign();
        const sign = await planIntermediateSign({ rootDir: form.rootDir, csrFile, outFile: path.join(session.paths.artefacts, `${slug}-intermediate.pem`), pathLen: 0 });
        plan.facts.push(...sign.facts.filter(([k]) => k === 'Key' || k === 'Valid'));
        plan.actions.push('Reuse the pending CSR (no new key in Vault)');
      } else {
        plan.actions.push(`Enable and tune ${form.mount}/ if needed, generate the intermediate key and CSR inside Vault`);
      }
      plan.actions.push('Sign the CSR with the offline root (pathlen 0)', 'Import intermediate + root, make it the default issuer, set AIA/CRL URLs', 'Verify the chain');
      return plan;
    });
  }

  async applyIntermediate(env: string, form: IntermediateForm, passphrase: Buffer, report: Reporter) {
    try {
      return await this.withSession(env, 'wizard: intermediate', async (session) => {
        const vault = this.vault(session);
        const slug = form.mount.replace(/\//g, '_');
        fs.mkdirSync(session.paths.artefacts, { recursive: true, mode: 0o700 });
        const { runIntermediatePipeline } = await load.pipeline();
        return runIntermediatePipeline(session, vault, {
          mount: form.mount,
          commonName: form.commonName,
          keyType: 'ec-p256',
          maxTtlSeconds: parseDuration('43800h'),
          rootDir: form.rootDir,
          rootFile: rootPaths(form.rootDir).cert,
          csrFile: path.join(session.paths.artefacts, `${slug}-intermediate.csr`),
          certFile: path.join(session.paths.artefacts, `${slug}-intermediate.pem`),
          pathLen: 0,
        }, passphrase, report);
      });
    } finally {
      passphrase.fill(0);
    }
  }

  caTreePresets(env: string): Array<{ id: string; title: string }> {
    return presets({ env, mount: this.defaults.mount ?? 'pki_int' }).map((p) => ({ id: p.id, title: p.title }));
  }

  caTree(env: string, id: string): { title: string; summary: string; lines: string[]; steps: string[] } {
    const preset = presets({ env, mount: this.defaults.mount ?? 'pki_int' }).find((p) => p.id === id)!;
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
    if (init?.status === 'done' && unseal?.status === 'done') steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: 'done', detail: `${init.facts.shares} shares, threshold ${init.facts.threshold}` });
    else if (init?.status === 'done') steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: 'pending', detail: 'initialised: unseal it' });
    else steps.push({ id: 'vault-init', title: 'Initialise and unseal', state: server ? 'todo' : 'unavailable', detail: server ? 'over HTTPS, trusting only the root' : 'serve Vault over HTTPS first' });
    steps.push(switched ? { id: 'switch-urls', title: 'AIA/CRL URLs over HTTPS', state: 'done', detail: `${switched.mount} -> ${switched.facts.base}` } : { id: 'switch-urls', title: 'AIA/CRL URLs over HTTPS', state: server ? 'todo' : 'unavailable', detail: server ? 'check CA and CRL over HTTPS, then switch' : 'serve Vault over HTTPS first' });
    return steps;
  }

  vaultServerDefaults(env: string): VaultServerForm {
    const paths = envPaths(env, this.home);
    const state = new StateStore(env, paths.stateFile).read();
    const cert = state.steps[VAULT_CERT]?.facts;
    const mount = this.defaults.mount ?? (typeof cert?.mount === 'string' ? cert.mount : Object.keys(state.mounts)[0] ?? 'pki_int');
    return {
      mount,
      dns: Array.isArray(cert?.dns) ? cert.dns.join(',') : 'localhost',
      ip: Array.isArray(cert?.ips) ? cert.ips.join(',') : '127.0.0.1',
      tlsDir: typeof cert?.outDir === 'string' ? cert.outDir : path.join(paths.dir, 'vault-tls'),
      owner: typeof cert?.owner === 'string' ? cert.owner : '',
      outDir: typeof state.steps['vault-https']?.facts.outDir === 'string' ? String(state.steps['vault-https']!.facts.outDir) : path.join(paths.dir, 'vault-server'),
      listen: typeof state.steps['vault-https']?.facts.listen === 'string' ? String(state.steps['vault-https']!.facts.listen) : '127.0.0.1:8200',
      runtime: this.lab ? 'process' : 'podman',
    };
  }

  private async certInput(form: VaultServerForm): Promise<VaultCertInput> {
    const [{ parseServerNames }, { parseOwner }] = await Promise.all([load.serverCert(), load.ownership()]);
    return { mount: validateMountPath(form.mount), role: 'vault-server', names: parseServerNames(form.dns.split(','), form.ip.split(',').filter((x) => x.trim())), outDir: form.tlsDir, owner: form.owner ? parseOwner(form.owner) : undefined, ttlSeconds: parseDuration('90d'), renew: false, keyType: 'ec-p256' };
  }

  private async httpsInput(session: EnvSession, form: VaultServerForm): Promise<VaultHttpsInput> {
    const [{ resolveCaFile }, { rootPemFromTlsDir, DEFAULT_IMAGE }, { parseListen }] = await Promise.all([load.trust(), load.vaultHttps(), load.ports()]);
    const caFile = resolveCaFile(session.state, { vaultCa: this.defaults.vaultCa });
    const ca = caFile ? fs.readFileSync(caFile, 'utf8') : rootPemFromTlsDir(form.tlsDir);
    return { tlsDir: form.tlsDir, outDir: form.outDir, listen: parseListen(form.listen), storage: 'raft', image: DEFAULT_IMAGE, containerName: `certwright-vault-${session.env}`, network: 'bridge', start: true, runtime: form.runtime, waitSeconds: 60, ca, caFile };
  }

  /** Plan of the server certificate, and of the config + start when the certificate exists. */
  async planVaultServer(env: string, form: VaultServerForm): Promise<Plan> {
    const [{ planVaultCert, tlsPaths }, { planVaultHttps }] = await Promise.all([load.vaultCert(), load.vaultHttps()]);
    return this.withSession(env, 'wizard: plan vault-https', async (session) => {
      const certPlan = await planVaultCert(session, this.vault(session), await this.certInput(form));
      const plan = { ...emptyPlan(), facts: [...certPlan.facts], actions: [...certPlan.actions], warnings: [...certPlan.warnings] };
      if (fs.existsSync(tlsPaths(form.tlsDir).fullchain) && !certPlan.issue) {
        const https = await planVaultHttps(session, await this.httpsInput(session, form));
        plan.facts.push(...https.facts.filter(([k]) => k !== 'Certificate'));
        plan.actions.push(...https.actions);
        plan.warnings.push(...https.warnings);
      } else {
        plan.actions.push(`Render ${form.outDir}/config/vault.hcl and compose.yaml, start Vault (${form.runtime}) on ${form.listen} and wait until it answers over HTTPS`);
      }
      return plan;
    });
  }

  async applyVaultServer(env: string, form: VaultServerForm, report: Reporter): Promise<{ apiAddr: string; fingerprint: string }> {
    const [{ applyVaultCert }, { applyVaultHttps }] = await Promise.all([load.vaultCert(), load.vaultHttps()]);
    return this.withSession(env, 'wizard: vault-https', async (session) => {
      await applyVaultCert(session, this.vault(session), await this.certInput(form), report);
      const result = await applyVaultHttps(session, await this.httpsInput(session, form), report);
      return { apiAddr: result.apiAddr, fingerprint: result.fingerprint };
    });
  }

  /** Initialises over HTTPS; the secrets go to the screen, which shows them once. */
  async initVault(env: string, shares: number, threshold: number, report: Reporter): Promise<{ secrets?: InitSecrets; addr: string }> {
    const [{ httpsVault }, { applyVaultInit }] = await Promise.all([load.trust(), load.vaultInit()]);
    return this.withSession(env, 'wizard: vault-init', async (session) => {
      const { vault, caFile } = httpsVault(session.state, { vaultAddr: this.httpsAddr(session), vaultCa: this.defaults.vaultCa });
      const result = await applyVaultInit(session, vault, { shares, threshold, caFile }, report);
      return { ...(result.secrets ? { secrets: result.secrets } : {}), addr: vault.addr };
    });
  }

  async sealStatus(env: string): Promise<SealStatus> {
    const [{ httpsVault }, { currentSeal }] = await Promise.all([load.trust(), load.vaultUnseal()]);
    return this.withSession(env, 'wizard: seal status', async (session) => {
      const { vault } = httpsVault(session.state, { vaultAddr: this.httpsAddr(session), vaultCa: this.defaults.vaultCa });
      return currentSeal(vault);
    });
  }

  /** One share, typed hidden on the screen; records the unseal in state when it completes. */
  async unsealShare(env: string, share: string, report: Reporter): Promise<SealStatus> {
    const [{ httpsVault }, { currentSeal, unsealWith }] = await Promise.all([load.trust(), load.vaultUnseal()]);
    return this.withSession(env, 'wizard: vault-unseal', async (session) => {
      const { vault, caFile } = httpsVault(session.state, { vaultAddr: this.httpsAddr(session), vaultCa: this.defaults.vaultCa });
      let given = false;
      const result = await unsealWith(session, vault, caFile, async () => (given ? undefined : ((given = true), share)), report).catch(async (error: unknown) => {
        // "still sealed" after one share is progress, not a failure, for the screen
        if (error instanceof Error && /still sealed/.test(error.message)) return { status: await currentSeal(vault) };
        throw error;
      });
      return result.status;
    });
  }

  switchUrlsDefaults(env: string): { mount: string; base: string } {
    const state = new StateStore(env, envPaths(env, this.home).stateFile).read();
    const api = state.steps['vault-https']?.facts.apiAddr;
    return { mount: this.defaults.mount ?? Object.keys(state.mounts)[0] ?? 'pki_int', base: typeof api === 'string' ? api : (state.vault?.addr ?? 'https://127.0.0.1:8200') };
  }

  private async switchInput(session: EnvSession, mount: string, base: string) {
    const [{ resolveCaFile }, { parseHttpsBase }] = await Promise.all([load.trust(), load.switchUrls()]);
    const caFile = resolveCaFile(session.state, { vaultCa: this.defaults.vaultCa });
    if (!caFile) throw new OperatorError('No CA is known to check the HTTPS endpoint with.', 'Start the wizard with --vault-ca ROOT.pem.');
    return { mount: validateMountPath(mount), base: parseHttpsBase(base), ca: fs.readFileSync(caFile, 'utf8'), caFile };
  }

  async planSwitchUrls(env: string, mount: string, base: string): Promise<Plan> {
    const { planSwitchUrls } = await load.switchUrls();
    return this.withSession(env, 'wizard: plan switch-urls', async (session) => planSwitchUrls(this.vault(session), await this.switchInput(session, mount, base)));
  }

  async applySwitchUrls(env: string, mount: string, base: string, report: Reporter): Promise<{ changed: boolean }> {
    const { applySwitchUrls } = await load.switchUrls();
    return this.withSession(env, 'wizard: switch-urls', async (session) => applySwitchUrls(session, this.vault(session), await this.switchInput(session, mount, base), report));
  }

  private httpsAddr(session: EnvSession): string | undefined {
    if (this.defaults.vaultAddr?.startsWith('https:')) return this.defaults.vaultAddr;
    const api = session.state.steps['vault-https']?.facts.apiAddr;
    return typeof api === 'string' ? api : undefined;
  }
}

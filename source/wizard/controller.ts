import fs from 'node:fs';
import path from 'node:path';
import { envPaths, envsDir, rootPaths, validateEnvName, validateMountPath, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { stepKey } from '../../state/schema.js';
import { EnvSession, type Plan, type Reporter } from '../steps/context.js';
import { planRootCreate, applyRootCreate, verifyRootCreate, type RootCreateInput, type RootCreateResult } from '../steps/root-create.js';
import { runIntermediatePipeline, verifyCompleted } from '../steps/intermediate-pipeline.js';
import { planIntermediateSign } from '../steps/intermediate-sign.js';
import { parsePassphrase, type KeyType } from '../pki/keys.js';
import { parseDuration } from '../duration.js';
import { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { emptyPlan } from '../steps/context.js';
import { readPrivateFile } from '../system/secrets.js';
import { failed } from '../pki/verify.js';
import { DriftError } from '../errors.js';
import { AgentRolloutController } from './agent-rollout.js';

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
    steps.push({ id: 'vault-https', title: 'Vault over HTTPS', state: 'unavailable', detail: 'use the vault-cert / vault-https commands when available' });
    steps.push(this.agents.overviewStep(env));
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
    return planRootCreate(this.rootInput(form));
  }

  /** The passphrase from --passphrase-file, when one was given; else the screen asks. */
  async passphraseFromFile(minLength: number): Promise<Buffer | undefined> {
    if (!this.defaults.passphraseFile) return undefined;
    return parsePassphrase(await readPrivateFile(this.defaults.passphraseFile, '--passphrase-file'), this.defaults.passphraseFile, { minLength });
  }

  async applyRoot(env: string, form: RootForm, passphrase: Buffer, report: Reporter): Promise<RootCreateResult> {
    try {
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
}

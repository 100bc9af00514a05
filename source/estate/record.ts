import fs from 'node:fs';
import path from 'node:path';
import { parse as yamlParse, stringify } from 'yaml';
import type { FlagValues } from '../flags.js';
import type { EnvState } from '../../state/schema.js';
import { OperatorError } from '../errors.js';
import { writeFileAtomic } from '../system/files.js';
import { parseEstate, EstateFileError } from './load.js';
import type { EstateFile } from './schema.js';

/**
 * The wizard's estate file (`wizard --file F`, and WORKSPACE/estate.yaml in the lab): after each
 * step the wizard runs, the answers it ran with are written back as the estate file's fields, the
 * inverse of estate/steps.ts. The file is written only when it validates against the schema (the
 * same check `plan --file` makes), always whole, by rename; it holds no secret, because no step
 * input that is a secret (passphrases, shares, tokens) has an estate field. Paths inside the
 * file's directory are written relative to it, so a lab's file replays in another workspace.
 */

type Partial = { environment: string } & { [K in keyof Omit<EstateFile, 'environment'>]?: EstateFile[K] | undefined };

const HEADER = (env: string) =>
  [
    `# certwright estate file of environment "${env}", written by the wizard as it ran each step.`,
    '# Review it with `certwright plan --file THIS`, rehearse it with `certwright lab --file THIS`,',
    '# replay it with `certwright apply --file THIS`. It holds no secrets. Schema: docs/estate.schema.json',
    '',
  ].join('\n');

export interface RecordOutcome {
  written: boolean;
  /** Why the file is not written yet (it would not validate), in the schema checker's words. */
  pending?: string | undefined;
}

export class EstateRecorder {
  private spec: Partial | undefined;
  readonly absFile: string;

  constructor(readonly file: string) {
    this.absFile = path.resolve(file);
  }

  /** Reads the file when it exists; it must be a valid estate file (of env, when given). */
  open(env?: string): void {
    if (!fs.existsSync(this.absFile)) return;
    const text = fs.readFileSync(this.absFile, 'utf8');
    const raw = parseEstate(text, this.file, this.absFile);
    if (env !== undefined && raw.spec.environment !== env) {
      throw new OperatorError(`${this.file} describes environment "${raw.spec.environment}", not "${env}".`, 'Pass --file with a new path, or the file of this environment.');
    }
    // The file's own words (relative paths as written), not the resolved form.
    this.spec = JSON.parse(JSON.stringify(yamlParse(text) ?? {})) as Partial;
  }

  /** The current section values, for a screen to pre-fill (undefined before anything ran). */
  current(): Readonly<Partial> | undefined {
    return this.spec;
  }

  /** Records one step the wizard ran, with the flag values it ran with. */
  async record(stepId: string, values: FlagValues, state: EnvState): Promise<RecordOutcome> {
    const env = String(values.env ?? state.env);
    if (this.spec && this.spec.environment !== env) return { written: false, pending: `${this.file} is the estate file of environment "${this.spec.environment}"; this step ran in "${env}"` };
    const spec: Partial = structuredClone(this.spec ?? { environment: env });
    this.merge(spec, stepId, values, state);
    this.spec = spec;
    const text = HEADER(env) + stringify(spec, { lineWidth: 0 });
    try {
      parseEstate(text, this.file, this.absFile);
    } catch (error) {
      if (error instanceof EstateFileError) return { written: false, pending: error.problems.map((p) => p.replace(/^[^:]+:\d+:\d+: /, '')).join('; ') };
      throw error;
    }
    await writeFileAtomic(this.absFile, text, { mode: 0o644 });
    return { written: true };
  }

  private rel(p: string | undefined): string | undefined {
    if (p === undefined || p === '') return undefined;
    const abs = path.resolve(p);
    const dir = path.dirname(this.absFile);
    const r = path.relative(dir, abs);
    return r === '' ? '.' : r.startsWith('..') || path.isAbsolute(r) ? abs : `./${r}`;
  }

  private merge(spec: Partial, stepId: string, v: FlagValues, state: EnvState): void {
    const s = (k: string) => text(v[k]);
    const managed = state.steps['vault-server']?.status === 'done' || stepId === 'vault-server';
    switch (stepId) {
      case 'root-create': {
        const pathLen = s('path-len');
        // M-of-N custody is a choice of the ceremony, not a secret: the shares never reach the file.
        const names = s('custodian-names')?.split(',').map((n) => n.trim()).filter(Boolean);
        const custody = s('custodians') ? compact({ custodians: num(s('custodians')), threshold: num(s('threshold')), names: names?.length ? names : undefined, shares_out: this.rel(s('shares-out')) }) : undefined;
        spec.root = compact({ ...spec.root, dir: this.rel(s('out')), cn: s('cn'), key_type: s('key-type'), ttl: s('ttl'), path_len: pathLen === undefined ? null : Number(pathLen), custody }) as EstateFile['root'];
        break;
      }
      case 'vault-server':
        spec.vault = compact({ ...withoutAddress(spec.vault), listen: s('listen'), data_dir: this.rel(s('out')), bao: this.rel(s('bao')), key_shares: num(s('key-shares')), key_threshold: num(s('key-threshold')), ...(s('runtime') === 'podman' ? { runtime: 'podman' as const, image: s('image'), container: s('name'), network: s('network') as 'bridge' | 'host' | undefined } : {}) });
        break;
      case 'intermediate':
      case 'intermediate-request':
        spec.intermediate = compact({ ...spec.intermediate, mount: s('mount'), cn: s('cn'), key_type: s('key-type'), max_ttl: s('max-ttl'), ttl: s('ttl'), path_len: num(s('path-len')) }) as EstateFile['intermediate'];
        if (s('root-dir') && !spec.root) spec.root = { dir: this.rel(s('root-dir'))!, cn: String(state.steps['root-create']?.facts.commonName ?? '') };
        this.vaultFromValues(spec, v, managed);
        break;
      case 'vault-cert':
        spec.vault_cert = compact({ ...spec.vault_cert, dns: list(v.dns), ip: list(v.ip), dir: this.rel(s('out')), ttl: s('ttl'), role: s('role'), owner: s('owner'), key_type: s('key-type') }) as EstateFile['vault_cert'];
        if (s('mount')) spec.intermediate = { ...(spec.intermediate ?? { cn: '' }), mount: s('mount') };
        break;
      case 'vault-https':
        if (managed) spec.vault = compact({ ...withoutAddress(spec.vault), listen: s('listen'), data_dir: this.rel(s('out')), ...(s('runtime') === 'podman' ? { runtime: 'podman' as const, image: s('image') } : {}) });
        else {
          const api = state.steps['vault-https']?.facts.apiAddr;
          const rootDir = state.steps['root-create']?.facts.rootDir ?? (spec.root ? path.resolve(path.dirname(this.absFile), spec.root.dir) : undefined);
          if (typeof api === 'string') spec.vault = compact({ address: api, ca: this.rel(typeof rootDir === 'string' ? path.join(rootDir, 'root-ca.pem') : undefined) });
        }
        break;
      case 'vault-init':
        spec.vault = compact({ ...spec.vault, key_shares: num(s('key-shares')), key_threshold: num(s('key-threshold')) });
        break;
      case 'switch-urls':
        if (s('base')) spec.urls = { base: s('base')! };
        break;
      case 'agent-app':
      case 'agent-proxy': {
        const kind = stepId === 'agent-app' ? 'app' : 'proxy';
        const agent = compact({
          kind,
          name: s('name'),
          ...(kind === 'app' ? { common_name: s('common-name'), alt_names: list(v['alt-names']), ttl: s('ttl'), tls_dir: this.rel(s('tls-dir')) } : { ca_out: this.rel(s('ca-out')) }),
          out: this.rel(s('out')),
          user: s('user'),
          // apply installs an agent that has a user; one the wizard only wrote stays written only.
          ...(s('user') && v.install !== true ? { install: false } : {}),
        }) as NonNullable<EstateFile['agents']>[number];
        const agents = (spec.agents ?? []).filter((a) => !(a.kind === agent.kind && a.name === agent.name));
        spec.agents = [...agents, agent];
        break;
      }
      case 'distribute-ca':
        spec.distribute_ca = compact({ users: list(v.users), ca: this.rel(s('ca')), path: s('path') }) as EstateFile['distribute_ca'];
        break;
      case 'build-role':
        spec.build_role = compact({ role: s('role'), allowed_apps: list(v['allowed-apps']), ttl: s('ttl'), key_type: s('key-type'), approle: s('approle'), token_ttl: s('token-ttl'), secret_id_ttl: s('secret-id-ttl'), bound_cidrs: list(v['bound-cidrs']), role_id_out: this.rel(s('role-id-out')), secret_id_out: this.rel(s('secret-id-out')) });
        break;
      default:
        // A step with no estate field (unseal, state forget, revoke...) leaves the file as it is.
        break;
    }
  }

  /** The Vault a step ran against, when the file has none yet (a Vault you run yourself). */
  private vaultFromValues(spec: Partial, v: FlagValues, managed: boolean): void {
    if (managed || spec.vault?.address || spec.vault?.listen) return;
    const addr = text(v['vault-addr']) ?? process.env.VAULT_ADDR ?? process.env.BAO_ADDR;
    if (!addr) return;
    spec.vault = compact({ address: addr, ca: this.rel(text(v['vault-ca'])), ...(addr.startsWith('http://') ? { allow_http: true } : {}) });
  }
}

function text(value: FlagValues[string]): string | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  const s = Array.isArray(value) ? value.join(',') : value;
  return s.trim() === '' ? undefined : s;
}

function list(value: FlagValues[string]): string[] | undefined {
  const s = text(value);
  if (s === undefined) return undefined;
  const items = s.split(',').map((x) => x.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function num(s: string | undefined): number | undefined {
  return s === undefined || !/^\d+$/.test(s) ? undefined : Number(s);
}

function withoutAddress(vault: EstateFile['vault'] | undefined): EstateFile['vault'] {
  const { address: _a, ca: _c, allow_http: _h, ...rest } = vault ?? {};
  return rest;
}

/** Drops undefined fields, so that the file says only what the wizard ran with. */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

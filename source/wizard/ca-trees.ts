import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { envPaths, type HomeOptions } from '../paths.js';
import { StateStore } from '../../state/store.js';
import { stepKey, type EnvState } from '../../state/schema.js';
import { readBasicConstraints } from '../pki/der.js';

/**
 * The CA-tree designs of the "certifying builds" seed, as presets. Each node says what it is,
 * its pathlen, who manages it, the certwright step that builds it, and (evaluated against an
 * environment's state and the certificate files it records) whether it exists and until when.
 */
export type PresetId = 'app-root' | 'root-per-env' | 'env-at-root' | 'cross-signed';

export interface TreeNode {
  id: string;
  label: string;
  pathLen: number;
  managedBy: 'offline' | 'vault';
  /** The command that builds this node; undefined when certwright has no step for it yet. */
  step?: string;
  /** Where the evidence is: a step record of one environment. */
  evidence?: { env: string; step: string; mount?: string; kind: string };
  note?: string;
  children: TreeNode[];
}

export interface Preset {
  id: PresetId;
  title: string;
  summary: string;
  tree: TreeNode[];
}

export interface PresetParams {
  env: string;
  mount: string;
  /** The application root's environment for app-root / cross-signed (default "app"). */
  appEnv?: string;
  /** Environments under an application root (default: the env alone). */
  envs?: string[];
  builders?: string[];
}

const int = (env: string, mount: string) => ({ env, step: 'intermediate-install', mount, kind: 'intermediate-certificate' });
const root = (env: string) => ({ env, step: 'root-create', kind: 'root-certificate' });

export function presets(p: PresetParams): Preset[] {
  const envs = p.envs?.length ? p.envs : [p.env];
  const builders = p.builders?.length ? p.builders : ['b1'];
  const appEnv = p.appEnv ?? 'app';
  const buildNodes = (env: string, mount: string, parentIsVault: boolean): TreeNode[] =>
    builders.map((b) => ({
      id: `${env}-${b}`,
      label: `build server ${b} (${env})`,
      pathLen: 0,
      managedBy: 'vault' as const,
      ...(parentIsVault
        ? { note: `signed inside Vault by ${mount} (bao write ${mount}/root/sign-intermediate); no certwright step yet` }
        : { step: `certwright intermediate --env ${env} --mount ${mount}_${b} --root-dir <${env} root dir> --path-len 0`, evidence: int(env, `${mount}_${b}`) }),
      children: [],
    }));
  return [
    {
      id: 'app-root',
      title: 'Application root → environment intermediates → build servers',
      summary: 'One application root (pathlen 2) shared by all environments; one Vault-managed intermediate per environment (pathlen 1); build-server intermediates below (pathlen 0). Builds can be promoted between environments.',
      tree: [
        {
          id: 'app-root',
          label: `application root (env ${appEnv})`,
          pathLen: 2,
          managedBy: 'offline',
          step: `certwright root create --env ${appEnv} --out DIR --cn "<app> Root CA" --path-len 2`,
          evidence: root(appEnv),
          children: envs.map((env) => ({
            id: `${env}-int`,
            label: `${env} intermediate`,
            pathLen: 1,
            managedBy: 'vault' as const,
            step: `certwright intermediate --env ${env} --mount ${p.mount} --root-dir <${appEnv} root dir> --path-len 1`,
            evidence: int(env, p.mount),
            children: buildNodes(env, p.mount, true),
          })),
        },
      ],
    },
    {
      id: 'root-per-env',
      title: 'One root per environment',
      summary: 'Each environment has its own offline root (pathlen 1); build-server intermediates in Vault below it (pathlen 0). Builds cannot move between environments.',
      tree: envs.map((env) => ({
        id: `${env}-root`,
        label: `${env} root`,
        pathLen: 1,
        managedBy: 'offline' as const,
        step: `certwright root create --env ${env} --out DIR --cn "${env} Root CA" --path-len 1`,
        evidence: root(env),
        children: buildNodes(env, p.mount, false),
      })),
    },
    {
      id: 'env-at-root',
      title: 'Environment at the root (for services that trust one CA)',
      summary: 'The environment root is what PostgreSQL & co. trust (ssl_ca_file takes one CA); applications are told apart by the certificate CN. Build-server intermediates below (pathlen 0).',
      tree: envs.map((env) => ({
        id: `${env}-root`,
        label: `${env} environment root (services trust this)`,
        pathLen: 1,
        managedBy: 'offline' as const,
        step: `certwright root create --env ${env} --out DIR --cn "${env} Environment CA" --path-len 1`,
        evidence: root(env),
        children: [
          {
            id: `${env}-int`,
            label: `build-server intermediate (${p.mount})`,
            pathLen: 0,
            managedBy: 'vault' as const,
            step: `certwright intermediate --env ${env} --mount ${p.mount} --root-dir <${env} root dir>`,
            evidence: int(env, p.mount),
            children: [],
          },
        ],
      })),
    },
    {
      id: 'cross-signed',
      title: 'Cross-signed split: two roots, one intermediate key',
      summary: 'Vault trusts the application root, services trust the environment root; one build-server intermediate key carries a certificate from each, so every build certificate has two valid chains.',
      tree: [
        {
          id: 'env-root',
          label: `${p.env} environment root (services)`,
          pathLen: 1,
          managedBy: 'offline',
          step: `certwright root create --env ${p.env} --out DIR --cn "${p.env} Environment CA" --path-len 1`,
          evidence: root(p.env),
          children: [
            {
              id: 'int-a',
              label: `build-server intermediate (${p.mount}), signed by the environment root`,
              pathLen: 0,
              managedBy: 'vault',
              step: `certwright intermediate --env ${p.env} --mount ${p.mount} --root-dir <${p.env} root dir>`,
              evidence: int(p.env, p.mount),
              children: [],
            },
          ],
        },
        {
          id: 'app-root',
          label: 'application root (Vault)',
          pathLen: 1,
          managedBy: 'offline',
          step: `certwright root create --env ${appEnv} --out DIR --cn "<app> Root CA" --path-len 1`,
          evidence: root(appEnv),
          children: [
            {
              id: 'int-b',
              label: `same key (${p.mount}), cross-signed by the application root`,
              pathLen: 0,
              managedBy: 'vault',
              step: `certwright cross-sign --env ${p.env} --mount ${p.mount} --root-dir <${appEnv} root dir> --passphrase-file FILE`,
              evidence: { env: p.env, step: 'cross-sign-install', mount: p.mount, kind: 'cross-signed-intermediate' },
              children: [],
            },
          ],
        },
      ],
    },
  ];
}

export interface NodeState {
  state: 'exists' | 'expired' | 'missing' | 'no-step';
  notAfter?: string;
  subject?: string;
  /** The real certificate's facts, read from the file (not the design's). */
  actual?: { pathLen: number | null; issuer: string };
  /** Where the real certificate is not what the design says (pathlen, who signed it). */
  differences?: string[];
}

export interface EvaluatedNode extends TreeNode {
  status: NodeState;
  children: EvaluatedNode[];
}

/** Reads each node's evidence: the step record, then the certificate file it names. */
export function evaluateTree(nodes: TreeNode[], home: HomeOptions, now = new Date()): EvaluatedNode[] {
  const states = new Map<string, EnvState | undefined>();
  const stateOf = (env: string): EnvState | undefined => {
    if (!states.has(env)) {
      try {
        const store = new StateStore(env, envPaths(env, home).stateFile);
        states.set(env, store.exists() ? store.read() : undefined);
      } catch {
        states.set(env, undefined);
      }
    }
    return states.get(env);
  };
  const evaluate = (node: TreeNode, parent?: EvaluatedNode): EvaluatedNode => {
    let status: NodeState = { state: node.step ? 'missing' : 'no-step' };
    if (node.evidence) {
      const record = stateOf(node.evidence.env)?.steps[stepKey(node.evidence.step, node.evidence.mount)];
      const artefact = record?.status === 'done' ? [...record.artefacts].reverse().find((a) => a.kind === node.evidence!.kind) : undefined;
      if (artefact && fs.existsSync(artefact.path)) {
        try {
          const cert = new X509Certificate(fs.readFileSync(artefact.path));
          const notAfter = new Date(cert.validTo);
          const subject = cert.subject.replace(/\n/g, ', ');
          const issuer = cert.issuer.replace(/\n/g, ', ');
          const bc = readBasicConstraints(cert.raw);
          const pathLen = bc?.pathLen ?? null;
          const differences: string[] = [];
          if (pathLen !== node.pathLen) differences.push(`pathlen ${pathLen ?? 'unlimited'}, the design says ${node.pathLen}`);
          if (parent && parent.status.subject && parent.status.subject !== issuer) differences.push(`signed by ${issuer}, not by the ${parent.label} (${parent.status.subject})`);
          else if (parent && !parent.status.subject && parent.evidence && issuer !== subject) differences.push(`signed by ${issuer}, while the ${parent.label} does not exist`);
          status = { state: notAfter > now ? 'exists' : 'expired', notAfter: notAfter.toISOString(), subject, actual: { pathLen, issuer }, ...(differences.length ? { differences } : {}) };
        } catch {
          status = { state: 'missing' };
        }
      }
    }
    const evaluated: EvaluatedNode = { ...node, status, children: [] };
    evaluated.children = node.children.map((c) => evaluate(c, evaluated));
    return evaluated;
  };
  return nodes.map((n) => evaluate(n));
}

/** The tree as text lines (box drawing), each node with its state; used by the CLI and the screen. */
export function renderTree(nodes: EvaluatedNode[]): string[] {
  const lines: string[] = [];
  const mark = (s: NodeState) => (s.differences?.length ? '!' : s.state === 'exists' ? '✓' : s.state === 'expired' ? '!' : s.state === 'missing' ? '○' : '-');
  const describe = (n: EvaluatedNode) => {
    const s = n.status;
    const what = s.state === 'exists' ? `exists, expires ${s.notAfter!.slice(0, 10)}` : s.state === 'expired' ? `EXPIRED ${s.notAfter!.slice(0, 10)}` : s.state === 'missing' ? 'missing' : 'outside certwright';
    // The real certificate's facts where it has one; the design's where it does not.
    const facts = s.actual ? `pathlen ${s.actual.pathLen ?? 'unlimited'}, ${n.managedBy}` : `pathlen ${n.pathLen}, ${n.managedBy}`;
    const differs = s.differences?.length ? `; DIFFERS from the design: ${s.differences.join('; ')}` : '';
    return `${mark(s)} ${n.label} [${facts}] — ${what}${differs}`;
  };
  const walk = (n: EvaluatedNode, prefix: string, last: boolean, top: boolean) => {
    lines.push(`${top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${describe(n)}`);
    const childPrefix = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    n.children.forEach((c, i) => walk(c, childPrefix, i === n.children.length - 1, false));
  };
  nodes.forEach((n) => walk(n, '', true, true));
  return lines;
}

/** The steps still to run, in tree order (parents before children). */
export function remainingSteps(nodes: EvaluatedNode[]): string[] {
  const out: string[] = [];
  const walk = (n: EvaluatedNode) => {
    if ((n.status.state === 'missing' || n.status.state === 'expired') && n.step) out.push(n.step);
    else if (n.status.state === 'no-step' && n.note) out.push(`(${n.label}: ${n.note})`);
    n.children.forEach(walk);
  };
  nodes.forEach(walk);
  return out;
}

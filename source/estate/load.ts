import fs from 'node:fs';
import path from 'node:path';
import { parseDocument, LineCounter, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import { Ajv, type ErrorObject } from 'ajv';
import { OperatorError, UsageError } from '../errors.js';
import { ESTATE_SCHEMA, type EstateFile } from './schema.js';

/**
 * Reads an estate file: YAML with node positions, validated against the strict schema. Every
 * problem is reported as FILE:LINE:COLUMN (1-based, at the offending key) and is a usage error
 * (exit 2): nothing runs on a file that does not validate. Relative paths are resolved against
 * the directory the file is in, so the same file works from any working directory.
 */

export interface Estate {
  /** The path as given (used in messages) and its absolute form. */
  file: string;
  absFile: string;
  dir: string;
  spec: EstateFile;
}

export class EstateFileError extends UsageError {
  constructor(
    readonly problems: string[],
    fix: string,
  ) {
    super(problems.join('\n'), fix);
  }
}

const FIX = 'Fix the file (its keys are listed in docs/estate.schema.json), then run the command again. Nothing was run.';

type Segment = string | number;

function pointerSegments(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const dist = levenshtein(word.toLowerCase(), c);
    if (dist <= Math.max(1, Math.floor(c.length / 3)) && (!best || dist < best.d)) best = { c, d: dist };
  }
  return best?.c;
}

/** The schema node describing the value at these segments (for the allowed keys of a map). */
function schemaAt(segments: Segment[]): { properties?: Record<string, unknown> } | undefined {
  let node: any = ESTATE_SCHEMA;
  for (const s of segments) {
    if (typeof s === 'number') node = node?.items;
    else node = node?.properties?.[s];
  }
  return node;
}

function label(segments: Segment[]): string {
  if (segments.length === 0) return 'the top level';
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  at(offset: number | undefined): string {
    if (offset === undefined) return `${this.file}:1:1`;
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  node(segments: Segment[]): Node | undefined {
    const n = segments.length === 0 ? this.doc.contents : this.doc.getIn(segments, true);
    return (n ?? undefined) as Node | undefined;
  }

  /** Where the key of the value at `segments` is (the value itself for a sequence item). */
  keyOf(segments: Segment[]): string {
    if (segments.length === 0) return this.at(this.doc.contents?.range?.[0]);
    const parent = this.node(segments.slice(0, -1));
    const last = segments[segments.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
      if (pair && isScalar(pair.key)) return this.at(pair.key.range?.[0]);
    }
    return this.at(this.node(segments)?.range?.[0]);
  }

  /** Where a map's key `name` is. */
  keyIn(segments: Segment[], name: string): string {
    const map = this.node(segments);
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
      if (pair && isScalar(pair.key)) return this.at(pair.key.range?.[0]);
    }
    return this.keyOf(segments);
  }
}

function describe(error: ErrorObject, pos: Positions): { where: string; text: string } | undefined {
  const segments = pointerSegments(error.instancePath);
  const params = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(schemaAt(segments)?.properties ?? {});
      const guess = closest(key, allowed);
      return { where: pos.keyIn(segments, key), text: `unknown key "${key}" in ${label(segments)}${guess ? ` (did you mean "${guess}"?)` : ''}; allowed: ${allowed.join(', ')}` };
    }
    case 'required':
      return { where: pos.keyOf(segments), text: `${label(segments)} is missing the key "${params.missingProperty}"` };
    case 'if':
      return undefined;
    case 'enum':
      return { where: pos.keyOf(segments), text: `${label(segments)} must be one of ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'type': {
      const names: Record<string, string> = { object: 'a map of keys', array: 'a list', string: 'a string', integer: 'a whole number', boolean: 'true or false', null: 'null' };
      const types = (Array.isArray(params.type) ? params.type : [params.type]) as string[];
      return { where: pos.keyOf(segments), text: `${label(segments)} must be ${types.map((t) => names[t] ?? t).join(' or ')}` };
    }
    case 'pattern':
      return { where: pos.keyOf(segments), text: `${label(segments)} has the wrong form (expected ${params.pattern})` };
    default:
      return { where: pos.keyOf(segments), text: `${label(segments)} ${error.message ?? 'is not valid'}` };
  }
}

let compiled: ReturnType<Ajv['compile']> | undefined;
function validator(): ReturnType<Ajv['compile']> {
  compiled ??= new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(ESTATE_SCHEMA as unknown as object);
  return compiled;
}

/** Checks the schema cannot express: one of address/listen, http only with allow_http, unique agents. */
function semanticProblems(spec: EstateFile, pos: Positions): string[] {
  const out: string[] = [];
  const v = spec.vault;
  if (v.address !== undefined && v.listen !== undefined) out.push(`${pos.keyIn(['vault'], 'listen')}: vault has both address: (a Vault you run) and listen: (one certwright runs); keep one`);
  if (v.address !== undefined && v.nodes !== undefined) out.push(`${pos.keyIn(['vault'], 'nodes')}: vault has both address: (a Vault you run) and nodes: (a cluster certwright runs); keep one`);
  if (v.listen !== undefined && v.nodes !== undefined) out.push(`${pos.keyIn(['vault'], 'nodes')}: vault has both listen: (one server) and nodes: (a cluster); for a cluster use nodes: N with listen_base:, or a list of nodes`);
  if (typeof v.nodes === 'number' && v.listen_base === undefined) out.push(`${pos.keyIn(['vault'], 'nodes')}: nodes: ${v.nodes} needs listen_base: HOST:PORT (node k listens on its port + 2(k-1))`);
  if (v.listen_base !== undefined && typeof v.nodes !== 'number') out.push(`${pos.keyIn(['vault'], 'listen_base')}: listen_base: is for nodes: N; a list of nodes gives each its listen:`);
  if (v.cluster_address !== undefined && v.nodes === undefined) out.push(`${pos.keyIn(['vault'], 'cluster_address')}: cluster_address: is for a raft cluster (nodes:)`);
  if (v.nodes !== undefined && v.runtime === 'podman') out.push(`${pos.keyIn(['vault'], 'runtime')}: a raft cluster runs as host processes in this version; drop runtime: podman`);
  for (const k of ['image', 'container', 'network'] as const) if (v[k] !== undefined && v.runtime !== 'podman') out.push(`${pos.keyIn(['vault'], k)}: ${k}: is for runtime: podman; add runtime: podman or drop ${k}:`);
  if (v.runtime === 'podman' && v.address !== undefined) out.push(`${pos.keyIn(['vault'], 'runtime')}: runtime: is how certwright runs the Vault (listen:); a Vault you run yourself (address:) has none`);
  if (v.address === undefined && v.listen === undefined && v.nodes === undefined) out.push(`${pos.keyOf(['vault'])}: vault needs address: (a Vault you run yourself), listen: (one certwright runs) or nodes: (a raft cluster certwright runs)`);
  if (v.address?.startsWith('http://') && !v.allow_http) out.push(`${pos.keyIn(['vault'], 'address')}: vault.address ${v.address} is plain http; use https, or set allow_http: true for a throwaway lab`);
  if (v.allow_http && !v.address?.startsWith('http://')) out.push(`${pos.keyIn(['vault'], 'allow_http')}: vault.allow_http is only for a plain http address:`);
  const c = spec.root.custody;
  if (c && c.threshold > c.custodians) out.push(`${pos.keyIn(['root', 'custody'], 'threshold')}: root.custody.threshold ${c.threshold} is more than its ${c.custodians} custodians; no ceremony could ever open the root`);
  if (c?.names && c.names.length !== c.custodians) out.push(`${pos.keyIn(['root', 'custody'], 'names')}: root.custody.names lists ${c.names.length} custodian(s) for custodians: ${c.custodians}; name each one once`);
  if (c && path.resolve(c.shares_out) === path.resolve(spec.root.dir)) out.push(`${pos.keyIn(['root', 'custody'], 'shares_out')}: root.custody.shares_out is root.dir: the shares would lie beside the key they open`);
  const seen = new Map<string, number>();
  const hostNames = new Map<string, number>();
  (spec.hosts ?? []).forEach((h, i) => {
    if (hostNames.has(h.name)) out.push(`${pos.keyIn(['hosts', i], 'name')}: host "${h.name}" is listed twice (also hosts[${hostNames.get(h.name)}])`);
    else hostNames.set(h.name, i);
  });
  (spec.agents ?? []).forEach((a, i) => {
    if (a.host !== undefined) {
      if (!hostNames.has(a.host)) out.push(`${pos.keyIn(['agents', i], 'host')}: agents[${i}] names host "${a.host}", which is not in hosts:`);
      if (a.user === undefined) out.push(`${pos.keyIn(['agents', i], 'host')}: agents[${i}] runs on host "${a.host}" and needs user: (the service user there)`);
      for (const k of ['out', 'tls_dir', 'ca_out'] as const) if (a[k] !== undefined && !a[k]!.startsWith('/')) out.push(`${pos.keyIn(['agents', i], k)}: ${k} of an agent on host "${a.host}" is a path on that host and must be absolute`);
    }
    const id = `${a.kind}:${a.name}`;
    if (seen.has(id)) out.push(`${pos.keyIn(['agents', i], 'name')}: agent ${a.kind} "${a.name}" is listed twice (also agents[${seen.get(id)}])`);
    else seen.set(id, i);
    if (a.kind === 'proxy') {
      for (const k of ['common_name', 'alt_names', 'ttl', 'tls_dir'] as const) if (a[k] !== undefined) out.push(`${pos.keyIn(['agents', i], k)}: ${k} is for app agents; agents[${i}] is a proxy`);
    } else if (a.ca_out !== undefined) out.push(`${pos.keyIn(['agents', i], 'ca_out')}: ca_out is for proxy agents; agents[${i}] is an app`);
  });
  return out;
}

function resolvePaths(spec: EstateFile, dir: string): EstateFile {
  const r = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  const out: EstateFile = structuredClone(spec);
  out.root.dir = r(out.root.dir)!;
  if (out.root.custody) out.root.custody.shares_out = r(out.root.custody.shares_out)!;
  if (out.vault.ca) out.vault.ca = r(out.vault.ca);
  if (out.vault.data_dir) out.vault.data_dir = r(out.vault.data_dir);
  if (out.vault.bao) out.vault.bao = r(out.vault.bao);
  if (out.vault_cert) out.vault_cert.dir = r(out.vault_cert.dir)!;
  for (const a of out.agents ?? []) {
    a.out = r(a.out)!;
    if (a.tls_dir) a.tls_dir = r(a.tls_dir);
    if (a.ca_out) a.ca_out = r(a.ca_out);
  }
  if (out.distribute_ca?.ca) out.distribute_ca.ca = r(out.distribute_ca.ca);
  if (out.build_role?.role_id_out) out.build_role.role_id_out = r(out.build_role.role_id_out);
  if (out.build_role?.secret_id_out) out.build_role.secret_id_out = r(out.build_role.secret_id_out);
  out.air_gap = { carry_dir: r(out.air_gap?.carry_dir ?? 'carry')! };
  return out;
}

/** Parses and validates the text of an estate file; `file` names it in messages. */
export function parseEstate(text: string, file: string, absFile = path.resolve(file)): Estate {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new EstateFileError(
      doc.errors.map((e) => {
        const lp = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        return `${file}:${lp.line}:${lp.col}: ${e.message.split('\n')[0]}`;
      }),
      'Fix the YAML, then run the command again. Nothing was run.',
    );
  }
  const pos = new Positions(doc, lines, file);
  const data = doc.toJS() as unknown;
  const validate = validator();
  if (!validate(data)) {
    const problems = (validate.errors ?? [])
      .map((e) => describe(e, pos))
      .filter((d): d is { where: string; text: string } => d !== undefined)
      .map((d) => `${d.where}: ${d.text}`);
    throw new EstateFileError([...new Set(problems)].sort(byPosition), FIX);
  }
  const spec = data as EstateFile;
  const semantic = semanticProblems(spec, pos);
  if (semantic.length > 0) throw new EstateFileError(semantic.sort(byPosition), FIX);
  const dir = path.dirname(absFile);
  return { file, absFile, dir, spec: resolvePaths(spec, dir) };
}

function byPosition(a: string, b: string): number {
  const n = (s: string) => (s.match(/:(\d+):(\d+): /) ?? []).slice(1).map(Number);
  const [la = 0, ca = 0] = n(a);
  const [lb = 0, cb = 0] = n(b);
  return la - lb || ca - cb;
}

export function loadEstate(file: string): Estate {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new OperatorError(`The estate file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, 'Pass --file with the path of the estate YAML.');
  }
  return parseEstate(text, file);
}

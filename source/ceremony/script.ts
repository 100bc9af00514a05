import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { FlagValues } from '../flags.js';
import type { Estate } from '../estate/load.js';
import { carryFiles } from '../estate/steps.js';
import { pipeline, shown } from '../estate/pipeline.js';
import { rootPaths } from '../paths.js';
import { sha256Hex } from '../system/files.js';
import { fingerprint } from '../pki/pem.js';

/**
 * The ceremony script: what the offline ceremony of an estate file will do, numbered, for the
 * custodians and witnesses to review before it and to tick off during it. It is built from the
 * estate file (the same step inputs `apply --file` runs) and from the files that exist where it
 * is printed: the fingerprints of what is carried in (the CSR, the root certificate) when they
 * exist, so that `ceremony verify` can hold the transcript against them afterwards. Reads only.
 *
 * Actions certwright records in the transcript name their transcript action (`recorded`) and
 * the fields the entry must carry (`expect`); the others are done and witnessed by people.
 */

export const CEREMONIES = ['root', 'sign-intermediate', 'root-crl'] as const;
export type CeremonyId = (typeof CEREMONIES)[number];

/** The ceremonies `ceremony script` prints without --step: the estate's offline side, in order. */
export const ESTATE_CEREMONIES: CeremonyId[] = ['root', 'sign-intermediate'];

/** Transcript actions of online steps: never on a ceremony machine. */
export const ONLINE_ACTIONS = new Set(['vault-init', 'build-role', 'cross-sign-install']);

export interface ScriptItem {
  what: string;
  file?: string | undefined;
  /** SHA-256 of the file's bytes, when it exists here. */
  sha256?: string | undefined;
  /** The certificate's SHA-256 fingerprint, when it is one and exists here. */
  fingerprint?: string | undefined;
  note?: string | undefined;
}

export interface ScriptAction {
  n: number;
  ceremony: CeremonyId;
  title: string;
  /** The transcript action this writes; absent for actions people do and witnesses check. */
  recorded?: string | undefined;
  command?: string | undefined;
  inputs: ScriptItem[];
  outputs: ScriptItem[];
  /** Transcript fields the entry must carry, as known before the ceremony. */
  expect: Record<string, string | number | string[]>;
  /** Expectations that come from files carried in (not from the estate): a rehearsal's differ. */
  fromFiles: string[];
  /**
   * When the script is printed after the action already happened (verifying afterwards), the
   * files show its outcome: an entry that matches `match` is held against `expect` instead.
   */
  ifDone?: { match: Record<string, string>; expect: Record<string, string | number | string[]> } | undefined;
  checks: string[];
}

export interface CeremonyScript {
  environment: string;
  estateFile: string;
  estateSha256: string;
  ceremonies: CeremonyId[];
  custodians: number;
  threshold?: number | undefined;
  /** The custodians' names, when the root's custody record names them. */
  names?: string[] | undefined;
  actions: ScriptAction[];
}

function cmdLine(command: string, values: FlagValues, estate: Estate, order: string[]): string {
  const parts = [`certwright ${command}`];
  for (const name of order) {
    const v = values[name];
    if (v === undefined || v === '' || v === false) continue;
    if (v === true) parts.push(`--${name}`);
    else {
      const text = Array.isArray(v) ? v.join(',') : String(v);
      const shownText = path.isAbsolute(text) ? shown(estate, text) : text;
      parts.push(`--${name} ${/^[\w./:,@=-]+$/.test(shownText) ? shownText : JSON.stringify(shownText)}`);
    }
  }
  return parts.join(' ');
}

function fileItem(estate: Estate, what: string, file: string, cert = false): ScriptItem {
  const item: ScriptItem = { what, file: shown(estate, file) };
  if (!fs.existsSync(file)) return { ...item, note: 'not here yet' };
  const bytes = fs.readFileSync(file);
  item.sha256 = sha256Hex(bytes);
  if (cert) {
    try {
      item.fingerprint = fingerprint(new X509Certificate(bytes));
    } catch {
      item.note = 'not a certificate';
    }
  }
  return item;
}

/** Custodian counts from the root's public ceremony record, when it holds them. */
function custodyOf(rootDir: string): { custodians: number; threshold?: number; names?: string[] } {
  try {
    const meta = JSON.parse(fs.readFileSync(rootPaths(rootDir).meta, 'utf8')) as Record<string, unknown>;
    const custody = (meta.custody ?? meta) as Record<string, unknown>;
    const n = Array.isArray(custody.custodians) ? custody.custodians.length : Number(custody.custodians ?? custody.shares);
    const m = Number(custody.threshold);
    const names = Array.isArray(custody.names) && custody.names.every((x) => typeof x === 'string') ? (custody.names as string[]) : undefined;
    if (Number.isInteger(n) && n > 0) return { custodians: n, ...(Number.isInteger(m) && m > 0 ? { threshold: m } : {}), ...(names && names.length === n ? { names } : {}) };
  } catch {
    /* no record yet (the root ceremony has not happened) */
  }
  return { custodians: 1 };
}

function lastCrl(rootDir: string): { number: number; thisUpdate?: string } | undefined {
  try {
    const rec = JSON.parse(fs.readFileSync(path.join(rootPaths(rootDir).dir, 'root-crl.json'), 'utf8')) as { crlNumber?: number; lastThisUpdate?: string };
    return typeof rec.crlNumber === 'number' ? { number: rec.crlNumber, ...(rec.lastThisUpdate ? { thisUpdate: rec.lastThisUpdate } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

export async function buildCeremonyScript(estate: Estate, ceremonies: CeremonyId[] = ESTATE_CEREMONIES): Promise<CeremonyScript> {
  const s = estate.spec;
  const steps = await pipeline(estate, { oneMachine: false });
  // The step's inputs as apply --file gives them, with the step's own defaults for what the file leaves out.
  const valuesOf = (id: string): FlagValues => {
    const step = steps.find((st) => st.id === id);
    const values: FlagValues = {};
    for (const input of step?.def.inputs ?? []) if (input.default !== undefined) values[input.name] = input.default;
    return { ...values, ...(step?.values ?? {}) };
  };
  const root = rootPaths(s.root.dir);
  const carry = carryFiles(estate);
  const estateSha256 = sha256Hex(fs.readFileSync(estate.absFile));
  const estateItem: ScriptItem = { what: 'the estate file', file: shown(estate, estate.absFile), sha256: estateSha256 };
  const rootCert = () => fileItem(estate, 'the root certificate', root.cert, true);
  const apply = `certwright apply --file ${shown(estate, estate.absFile)} --offline --yes`;
  const custody = custodyOf(s.root.dir);
  const openKey: ScriptItem = custody.threshold
    ? { what: 'the root key\'s custodians', note: `any ${custody.threshold} of the ${custody.custodians} share holders${custody.names ? ` (${custody.names.join(', ')})` : ''} give their shares (never written on the script)` }
    : { what: 'the root key passphrase', note: 'typed by its custodians (never written on the script)' };
  const actions: Omit<ScriptAction, 'n'>[] = [];
  const open = (ceremony: CeremonyId, carried: ScriptItem[]) => {
    actions.push({
      ceremony,
      title: 'Open the ceremony: the machine has no network, the program is the checked one, the media carried in are the ones listed',
      inputs: [{ what: 'certwright (certwright.mjs or certwright-linux-x64) with SHA256SUMS', note: 'sha256sum -c SHA256SUMS --ignore-missing: "OK"' }, estateItem, ...carried],
      outputs: [],
      expect: {},
      fromFiles: [],
      checks: ['`ip -brief link` lists only lo (or nothing)', `\`sha256sum ${estateItem.file}\` prints ${estateSha256}`, ...carried.filter((c) => c.sha256).map((c) => `\`sha256sum ${c.file}\` prints ${c.sha256}`)],
    });
  };
  const close = (ceremony: CeremonyId, carryOut: ScriptItem[]) => {
    actions.push({
      ceremony,
      title: 'Close the ceremony: check the transcript, write down its head, carry out only public material',
      command: `certwright transcript verify --env ${s.environment}`,
      inputs: [],
      outputs: [...carryOut, { what: 'the ceremony transcript', file: `$CERTWRIGHT_HOME/envs/${s.environment}/transcript.jsonl` }],
      expect: {},
      fromFiles: [],
      checks: ['the witnesses write down the transcript head that apply printed ("Transcript head ...")', 'root-ca.key and the passphrase (or its shares) stay here: they are not among the media carried out'],
    });
  };

  for (const c of ceremonies) {
    if (c === 'root') {
      const v = valuesOf('root-create');
      open(c, []);
      const existing = rootCert();
      actions.push({
        ceremony: c,
        title: `Create the root "${s.root.cn}"`,
        recorded: 'root-create',
        command: `${apply}   # runs: ${cmdLine('root create', v, estate, ['env', 'out', 'cn', 'key-type', 'ttl', 'path-len'])}`,
        inputs: [{ what: 'the root key passphrase', note: 'typed by its custodians (never written on the script)' }],
        outputs: [
          { what: 'the encrypted root key, mode 0600: stays on this machine', file: shown(estate, root.key) },
          { ...existing, what: 'the root certificate (public)' },
          { what: 'the root\'s public facts', file: shown(estate, root.meta) },
        ],
        expect: { commonName: s.root.cn, keyType: String(v['key-type']), ...(existing.fingerprint ? { rootCertificateSha256Fingerprint: existing.fingerprint } : {}) },
        fromFiles: existing.fingerprint ? ['rootCertificateSha256Fingerprint'] : [],
        checks: ['the CN and key type printed match this script', 'the witnesses write down the root fingerprint printed'],
      });
      close(c, [{ what: 'the root certificate', file: shown(estate, root.cert) }]);
    } else if (c === 'sign-intermediate') {
      const v = valuesOf('intermediate-sign');
      const csr = fileItem(estate, 'the intermediate\'s CSR (from intermediate-request on the online machine)', carry.csr);
      if (!csr.sha256) csr.note = 'not here yet: print this script again once the online machine\'s apply has written it, so that the script names its SHA-256';
      const rc = rootCert();
      open(c, [csr]);
      const expect: Record<string, string | number | string[]> = { pathLen: Number(v['path-len'] ?? 0), permittedDns: s.intermediate.permitted_dns ?? [] };
      const fromFiles: string[] = [];
      if (csr.sha256) {
        expect.csrSha256 = csr.sha256;
        fromFiles.push('csrSha256');
      }
      if (rc.fingerprint) {
        expect.rootSha256Fingerprint = rc.fingerprint;
        fromFiles.push('rootSha256Fingerprint');
      }
      actions.push({
        ceremony: c,
        title: `Sign the intermediate "${s.intermediate.cn}" with the root`,
        recorded: 'intermediate-sign',
        command: `${apply}   # runs: ${cmdLine('intermediate sign', v, estate, ['env', 'root-dir', 'csr', 'out', 'path-len', 'ttl', 'permitted-dns'])}`,
        inputs: [csr, { ...rc, what: 'the root certificate' }, openKey],
        outputs: [{ what: 'the signed intermediate certificate (public)', file: shown(estate, carry.cert) }],
        expect,
        fromFiles,
        checks: ['the CSR subject and key printed in the plan are the intermediate this script names', 'the CSR SHA-256 in the plan is the one listed here'],
      });
      close(c, [{ what: 'the signed intermediate', file: shown(estate, carry.cert) }]);
    } else {
      const rc = rootCert();
      const lastRecord = lastCrl(s.root.dir);
      const last = lastRecord?.number;
      open(c, []);
      const out = path.join(s.air_gap!.carry_dir!, 'root.crl');
      actions.push({
        ceremony: c,
        title: 'Sign the root CRL',
        recorded: 'root-crl',
        command: `certwright root crl --env ${s.environment} --root-dir ${shown(estate, root.dir)} --out ${shown(estate, out)}`,
        inputs: [{ ...rc, what: 'the root certificate' }, { what: 'the root\'s CRL record', file: shown(estate, path.join(root.dir, 'root-crl.json')), note: last === undefined ? 'none yet: this is CRL number 1' : `last CRL number ${last}` }, openKey],
        outputs: [{ what: 'the root CRL (public): publish it where the intermediates\' --crl-url points', file: shown(estate, out) }],
        expect: { crlNumber: (last ?? 0) + 1, ...(rc.fingerprint ? { rootSha256Fingerprint: rc.fingerprint } : {}) },
        fromFiles: rc.fingerprint ? ['rootSha256Fingerprint'] : [],
        // Printed after the signing, the record already holds this CRL: its entry carries that number.
        ...(lastRecord?.thisUpdate ? { ifDone: { match: { thisUpdate: lastRecord.thisUpdate }, expect: { crlNumber: lastRecord.number } } } : {}),
        checks: ['the CRL number and the serials revoked printed are the ones agreed'],
      });
      close(c, [{ what: 'the root CRL', file: shown(estate, out) }]);
    }
  }
  return { environment: s.environment, estateFile: shown(estate, estate.absFile), estateSha256, ceremonies, ...custody, actions: actions.map((a, i) => ({ ...a, n: i + 1 })) };
}

const show = (v: string | number | string[]) => (Array.isArray(v) ? (v.length ? v.join(', ') : '(none)') : String(v));

function itemLine(i: ScriptItem): string {
  const facts = [i.file, i.fingerprint ? `fingerprint ${i.fingerprint}` : undefined, i.sha256 ? `SHA-256 ${i.sha256}` : undefined, i.note].filter(Boolean);
  return `${i.what}${facts.length ? `: ${facts.join('; ')}` : ''}`;
}

/** The script as markdown (it reads as plain text too), with lines to sign. */
export function formatCeremonyScript(script: CeremonyScript): string {
  const out: string[] = [
    `# Ceremony script: ${script.ceremonies.join(', ')} (environment ${script.environment})`,
    '',
    `Estate file: ${script.estateFile}, SHA-256 ${script.estateSha256}`,
    'Read this script aloud, one action at a time; the witnesses tick each box. An action that is not here does not happen.',
    'After the ceremony: `certwright ceremony verify --file ESTATE --transcript FILE` holds the transcript against this script.',
    '',
  ];
  let current: CeremonyId | undefined;
  for (const a of script.actions) {
    if (a.ceremony !== current) {
      current = a.ceremony;
      out.push(`## Ceremony: ${current}`, '');
    }
    out.push(`### ${a.n}. ${a.title}${a.recorded ? ` [transcript: ${a.recorded}]` : ' [witnessed]'}`);
    if (a.command) out.push('', `    ${a.command}`);
    if (a.inputs.length) out.push('', 'Inputs:', ...a.inputs.map((i) => `- ${itemLine(i)}`));
    if (a.outputs.length) out.push('', 'Outputs:', ...a.outputs.map((i) => `- ${itemLine(i)}`));
    const expected = Object.entries(a.expect);
    if (expected.length) out.push('', 'The transcript entry must carry:', ...expected.map(([k, v]) => `- ${k}: ${show(v)}`));
    if (a.checks.length) out.push('', 'Witnesses check:', ...a.checks.map((c) => `- [ ] ${c}`));
    if (a.recorded) out.push('', 'Recorded fingerprint (written down by a witness): ______________________________');
    out.push('', `Done at (time) ________  Custodian ________  Witness ________`, '');
  }
  out.push('## Sign-off', '');
  const custodianText = script.threshold ? `${script.custodians} custodians, ${script.threshold} of them needed to open the root` : 'the custodians of the root passphrase';
  out.push(`Custodians (${custodianText}):`, '');
  for (let i = 1; i <= Math.max(script.custodians, 1); i += 1) out.push(`${i}. Name ${script.names?.[i - 1]?.padEnd(22, ' ') ?? '______________________'}  Signature ______________________  Date ________`);
  out.push('', 'Witnesses:', '');
  for (let i = 1; i <= 2; i += 1) out.push(`${i}. Name ______________________  Signature ______________________  Date ________`);
  out.push('', 'Transcript head at the close (64 hex digits): ________________________________________________________________', '');
  return out.join('\n');
}

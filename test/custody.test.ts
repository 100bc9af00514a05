/**
 * M-of-N custody of the root key (issue 15, point 1): root create --custodians/--threshold writes
 * one share per custodian; every command that opens the root takes --share. openssl is the judge:
 * it verifies what the root signed, and it opens the root key with the passphrase the shares give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cli, tempDir, openssl, writePassphrase, listing, modeOf, BIN, ROOT } from './helpers/env.js';
import { passphraseFromTestShares } from './helpers/shares.js';
import { verifyTranscript } from '../state/transcript.js';
import { EstateRecorder } from '../source/estate/record.js';
import { loadEstate } from '../source/estate/load.js';
import { estateSteps } from '../source/estate/steps.js';
import { emptyState } from '../state/schema.js';
import { labSpec } from '../source/commands/lab.js';

interface CustodyRoot {
  work: string;
  home: string;
  rootDir: string;
  sharesDir: string;
  shares: string[];
  env: Record<string, string>;
}

async function custodyRoot(name = 'r', extra: string[] = []): Promise<CustodyRoot> {
  const work = tempDir('cw-custody-');
  const home = path.join(work, 'home');
  const rootDir = path.join(work, name, 'root');
  const sharesDir = path.join(work, name, 'shares');
  const env = { CERTWRIGHT_HOME: home };
  const r = await cli(['root', 'create', '--env', 'cust', '--out', rootDir, '--cn', `Custody Root ${name}`, '--path-len', '1', '--custodians', '3', '--threshold', '2', '--custodian-names', 'alice,bob,carol', '--shares-out', sharesDir, ...extra], { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return { work, home, rootDir, sharesDir, shares: ['alice', 'bob', 'carol'].map((n) => path.join(sharesDir, `${n}.share`)), env };
}

/**
 * One root for the tests that only open it (or refuse to): each creation costs three PBKDF2 runs
 * and a process, and these tests compare what they themselves changed, never the whole transcript.
 */
let shared: Promise<CustodyRoot> | undefined;
function sharedRoot(): Promise<CustodyRoot> {
  shared ??= custodyRoot('shared');
  return shared;
}

async function csr(work: string, name: string): Promise<string> {
  const file = path.join(work, `${name}.csr`);
  const r = await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(work, `${name}.key`), '-subj', `/CN=${name}`, '-out', file]);
  expect(r.exitCode, r.stderr).toBe(0);
  return file;
}

function sign(root: CustodyRoot, csrFile: string, out: string, shares: string[], extra: string[] = []) {
  return cli(['intermediate', 'sign', '--root-dir', root.rootDir, ...shares.flatMap((s) => ['--share', s]), '--csr', csrFile, '--out', out, ...extra], { env: root.env });
}

function transcriptOf(root: CustodyRoot): string {
  return fs.readFileSync(path.join(root.home, 'envs', 'cust', 'transcript.jsonl'), 'utf8');
}

/** The copy of a share file with one character of one group changed, keeping the file's mode. */
function corrupt(file: string, out: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^\s*5\s/.test(l));
  const groups = lines[i]!.trim().split(/\s+/);
  const g = groups[1]!;
  groups[1] = (g[0] === 'A' ? 'B' : 'A') + g.slice(1);
  lines[i] = ` 5  ${groups.slice(1).join(' ')}`;
  fs.writeFileSync(out, lines.join('\n'), { mode: 0o600 });
  return out;
}

describe('M-of-N custody of the root key', () => {
  it('writes one 0600 share per custodian, and any 2 of the 3 open the root (openssl verifies what it signed)', async () => {
    // Given a root created with three custodians and a threshold of two
    const root = await custodyRoot();
    // Then each custodian has a 0600 share file naming the root, its index, M and N
    const fp = (await openssl(['x509', '-in', path.join(root.rootDir, 'root-ca.pem'), '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1]!.trim();
    for (const [i, file] of root.shares.entries()) {
      expect(modeOf(file)).toBe(0o600);
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toContain(`root-sha256: ${fp}`);
      expect(text).toContain(`share: ${i + 1} of 3`);
      expect(text).toContain('threshold: 2');
      expect(text).toContain('format: certwright-share/1');
    }
    expect(modeOf(root.sharesDir)).toBe(0o700);
    // And the state records the custody (M, N, indices), never a share
    const state = fs.readFileSync(path.join(root.home, 'envs', 'cust', 'state.json'), 'utf8');
    expect(JSON.parse(state).steps['root-create'].facts).toMatchObject({ custody: 'shamir', threshold: 2, custodians: 3, shareIndices: ['1', '2', '3'] });
    // When any two custodians' shares are given, in either order, the root signs
    const work = root.work;
    const pairs = [[0, 1], [1, 2], [2, 0]] as const;
    for (const [a, b] of pairs) {
      const out = path.join(work, `int-${a}${b}.pem`);
      const r = await sign(root, await csr(work, `int${a}${b}`), out, [root.shares[a]!, root.shares[b]!]);
      expect(r.exitCode, r.stderr).toBe(0);
      // Then openssl accepts the intermediate under the root
      expect((await openssl(['verify', '-CAfile', path.join(root.rootDir, 'root-ca.pem'), out])).exitCode).toBe(0);
    }
    // And all three together open it too
    const all = await sign(root, await csr(work, 'all'), path.join(work, 'int-all.pem'), root.shares);
    expect(all.exitCode, all.stderr).toBe(0);
    // And the transcript names which shares were used, by index
    const entries = transcriptOf(root).trim().split('\n').map((l) => JSON.parse(l));
    const signs = entries.filter((e) => e.action === 'intermediate-sign');
    expect(signs.map((e) => e.shareIndices)).toEqual([[1, 2], [2, 3], [1, 3], [1, 2, 3]]);
    expect(signs.every((e) => e.rootOpenedWith === 'shares' && e.custody === '2-of-3')).toBe(true);
    expect(verifyTranscript(path.join(root.home, 'envs', 'cust', 'transcript.jsonl'))).toMatchObject({ ok: true });
  });

  it('one share of two does not open the root, and says how many more are needed', async () => {
    const root = await sharedRoot();
    const out = path.join(root.work, 'one.pem');
    const r = await sign(root, await csr(root.work, 'one'), out, [root.shares[1]!]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('opens with 2 of its 3 custodians\' shares; 1 given (share 2 (bob)). 1 more is needed.');
    expect(r.stderr).toContain('Fix: Pass 1 more share with --share FILE');
    expect(fs.existsSync(out)).toBe(false);
    // And with none at all (no terminal to type them), 2 more are needed
    const none = await sign(root, path.join(root.work, 'one.csr'), out, []);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('0 given (none). 2 more are needed.');
  });

  it('refuses a share of another root, a corrupted share and a duplicate share, each by name', async () => {
    const root = await sharedRoot();
    const other = await custodyRoot('b');
    const csrFile = await csr(root.work, 'refused');
    const out = path.join(root.work, 'refused.pem');
    const before = listing(root.work);
    // A share of another root
    const foreign = await sign(root, csrFile, out, [root.shares[0]!, other.shares[1]!]);
    expect(foreign.exitCode).toBe(1);
    expect(foreign.stderr).toContain(`${other.shares[1]} is a share of another root`);
    // A corrupted share (one character of group 5 changed)
    const bad = corrupt(root.shares[1]!, path.join(root.work, 'bob-corrupt.share'));
    const corrupted = await sign(root, csrFile, out, [root.shares[0]!, bad]);
    expect(corrupted.exitCode).toBe(1);
    expect(corrupted.stderr).toMatch(new RegExp(`${bad} is corrupted: group 5 \\("[0-9A-Z]{5}"\\) does not match its check character`));
    // A duplicate share: the same custodian's share twice (a copy of the file)
    const copy = path.join(root.work, 'alice-copy.share');
    fs.copyFileSync(root.shares[0]!, copy);
    const dup = await sign(root, csrFile, out, [root.shares[0]!, copy]);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toContain(`${copy} is share 1 again (already given as ${root.shares[0]}): a duplicate share.`);
    // Nothing was signed, nothing written beside what the test made
    expect(fs.existsSync(out)).toBe(false);
    expect(listing(root.work).filter((l) => !l.startsWith('alice-copy') && !l.startsWith('bob-corrupt'))).toEqual(before);
  });

  it('openssl opens the root key with the passphrase the shares combine to (test-only path)', async () => {
    const root = await sharedRoot();
    const key = path.join(root.rootDir, 'root-ca.key');
    const pass = path.join(root.work, 'combined-pass');
    const passphrase = await passphraseFromTestShares([root.shares[2]!, root.shares[0]!]);
    expect(passphrase).toMatch(/^[0-9a-f]{64}$/);
    fs.writeFileSync(pass, `${passphrase}\n`, { mode: 0o600 });
    expect((await openssl(['pkey', '-in', key, '-passin', `file:${pass}`, '-noout'])).exitCode).toBe(0);
    const fromKey = (await openssl(['pkey', '-in', key, '-passin', `file:${pass}`, '-pubout'])).stdout;
    const fromCert = (await openssl(['x509', '-in', path.join(root.rootDir, 'root-ca.pem'), '-noout', '-pubkey'])).stdout;
    expect(fromKey).toBe(fromCert);
    // Another pair gives the same passphrase; a wrong one does not open the key
    expect(await passphraseFromTestShares([root.shares[1]!, root.shares[2]!])).toBe(passphrase);
    expect((await openssl(['pkey', '-in', key, '-passin', `pass:${passphrase.replace(/^./, passphrase[0] === 'a' ? 'b' : 'a')}`, '-noout'])).exitCode).not.toBe(0);
    // The passphrase is nowhere on disk but in this test's own file
    for (const f of listing(root.work).map((l) => path.join(root.work, l.split(' ')[0]!))) {
      if (f === pass) continue;
      expect(fs.readFileSync(f).includes(Buffer.from(passphrase)), f).toBe(false);
    }
  });

  it('the transcript and state hold share indices only, never share material', async () => {
    const root = await custodyRoot();
    await sign(root, await csr(root.work, 'scan'), path.join(root.work, 'scan.pem'), [root.shares[0]!, root.shares[2]!]);
    const crl = await cli(['root', 'crl', '--root-dir', root.rootDir, '--share', root.shares[1]!, '--share', root.shares[2]!, '--out', path.join(root.work, 'root.crl')], { env: root.env });
    expect(crl.exitCode, crl.stderr).toBe(0);
    expect((await openssl(['crl', '-in', path.join(root.work, 'root.crl'), '-CAfile', path.join(root.rootDir, 'root-ca.pem'), '-noout'])).stderr).toMatch(/verify OK/);
    // cross-sign sign is the same signer: it opens the root with shares the same way
    const twin = await cli(['cross-sign', 'sign', '--root-dir', root.rootDir, '--share', root.shares[2]!, '--share', root.shares[0]!, '--csr', await csr(root.work, 'twin'), '--out', path.join(root.work, 'twin.pem')], { env: root.env });
    expect(twin.exitCode, twin.stderr).toBe(0);
    expect((await openssl(['verify', '-CAfile', path.join(root.rootDir, 'root-ca.pem'), path.join(root.work, 'twin.pem')])).exitCode).toBe(0);
    const transcript = transcriptOf(root);
    expect(transcript.trim().split('\n').map((l) => JSON.parse(l).shareIndices)).toEqual([[1, 2, 3], [1, 3], [2, 3], [1, 3]]);
    // Byte scan: no group of any share, no share file's text, no passphrase
    const stores = [transcript, fs.readFileSync(path.join(root.home, 'envs', 'cust', 'state.json'), 'utf8'), fs.readFileSync(path.join(root.rootDir, 'ceremony.json'), 'utf8')];
    const passphrase = await passphraseFromTestShares(root.shares.slice(0, 2));
    for (const share of root.shares) {
      const groups = fs.readFileSync(share, 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-Z]{5}/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
      expect(groups).toHaveLength(22);
      for (const text of stores) {
        for (const g of groups) expect(text.includes(g), `group ${g} found`).toBe(false);
        expect(text.includes(groups.join(''))).toBe(false);
      }
    }
    for (const text of stores) {
      expect(text).not.toContain(passphrase);
      expect(text).not.toContain('certwright root key share');
    }
  });

  it('accepts a share typed back from paper (groups only, any case, dashes), and refuses a mistyped group', async () => {
    const root = await sharedRoot();
    const groups = fs.readFileSync(root.shares[1]!, 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-Z]{5}/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
    const typed = path.join(root.work, 'typed.txt');
    fs.writeFileSync(typed, `${groups.join('-').toLowerCase()}\n`, { mode: 0o600 });
    const r = await sign(root, await csr(root.work, 'typed'), path.join(root.work, 'typed.pem'), [root.shares[0]!, typed]);
    expect(r.exitCode, r.stderr).toBe(0);
    // One group mistyped: named by number
    const wrong = [...groups];
    wrong[9] = `${wrong[9]!.slice(0, 2)}${wrong[9]![2] === 'Z' ? 'Y' : 'Z'}${wrong[9]!.slice(3)}`;
    fs.writeFileSync(typed, wrong.join(' '), { mode: 0o600 });
    const bad = await sign(root, path.join(root.work, 'typed.csr'), path.join(root.work, 'typed2.pem'), [root.shares[0]!, typed]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('is corrupted: group 10');
    // A group left out: the count is named
    fs.writeFileSync(typed, groups.slice(1).join(' '), { mode: 0o600 });
    const short = await sign(root, path.join(root.work, 'typed.csr'), path.join(root.work, 'typed2.pem'), [root.shares[0]!, typed]);
    expect(short.exitCode).toBe(1);
    expect(short.stderr).toContain('has 21 group(s)');
  });

  it('keeps single-passphrase roots as they were, and does not mix the two', async () => {
    const work = tempDir('cw-custody-single-');
    const env = { CERTWRIGHT_HOME: path.join(work, 'home') };
    const pass = writePassphrase(work);
    const rootDir = path.join(work, 'root');
    expect((await cli(['root', 'create', '--env', 'single', '--out', rootDir, '--cn', 'Single Root', '--path-len', '1', '--passphrase-file', pass], { env })).exitCode).toBe(0);
    const csrFile = await csr(work, 'single');
    const signed = await cli(['intermediate', 'sign', '--root-dir', rootDir, '--passphrase-file', pass, '--csr', csrFile, '--out', path.join(work, 'single.pem')], { env });
    expect(signed.exitCode, signed.stderr).toBe(0);
    const last = JSON.parse(fs.readFileSync(path.join(work, 'home', 'envs', 'single', 'transcript.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ rootOpenedWith: 'passphrase' });
    expect(last.shareIndices).toBeUndefined();
    // --share on a passphrase root is refused
    const shared = await cli(['intermediate', 'sign', '--root-dir', rootDir, '--share', pass, '--csr', csrFile, '--out', path.join(work, 'x.pem')], { env });
    expect(shared.exitCode).toBe(2);
    expect(shared.stderr).toContain('opens with one passphrase, not with shares');
    // --passphrase-file on a custody root is refused
    const root = await sharedRoot();
    const passOnCustody = await cli(['intermediate', 'sign', '--root-dir', root.rootDir, '--passphrase-file', pass, '--csr', csrFile, '--out', path.join(work, 'y.pem')], { env: root.env });
    expect(passOnCustody.exitCode).toBe(2);
    expect(passOnCustody.stderr).toContain('held by 2 of 3 custodians');
  });

  it('refuses bad custody flags before any work, and --dry-run writes nothing', async () => {
    const work = tempDir('cw-custody-flags-');
    const env = { CERTWRIGHT_HOME: path.join(work, 'home') };
    const base = ['root', 'create', '--env', 'flags', '--out', path.join(work, 'root'), '--cn', 'Flags Root'];
    const cases: Array<[string[], number, string]> = [
      [['--custodians', '3', '--threshold', '4', '--shares-out', path.join(work, 's')], 2, '--threshold'],
      [['--custodians', '3', '--threshold', '1', '--shares-out', path.join(work, 's')], 2, '--threshold'],
      [['--custodians', '3', '--shares-out', path.join(work, 's')], 2, '--custodians needs --threshold'],
      [['--custodians', '3', '--threshold', '2'], 2, '--shares-out is required'],
      [['--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 's'), '--custodian-names', 'a,b'], 2, 'names 2 custodian(s)'],
      [['--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 's'), '--custodian-names', 'a,b,../c'], 2, 'cannot name a share file'],
      [['--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 's'), '--passphrase-file', writePassphrase(work)], 2, 'exclude each other'],
      [['--threshold', '2'], 2, 'is for a root held by custodians'],
      [['--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 's'), '--show-shares'], 2, '--show-shares needs a terminal'],
      [['--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 'root')], 1, 'the shares would lie beside the key'],
    ];
    for (const [flags, code, text] of cases) {
      const r = await cli([...base, ...flags], { env });
      expect(r.exitCode, `${flags.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toContain(text);
    }
    expect(fs.existsSync(path.join(work, 'root'))).toBe(false);
    expect(fs.existsSync(path.join(work, 's'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'home', 'envs', 'flags', 'state.json'))).toBe(false);
    // --dry-run with custody: the plan names the shares, nothing is written
    const dry = await cli([...base, '--custodians', '3', '--threshold', '2', '--shares-out', path.join(work, 's'), '--dry-run'], { env });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`Write one share per custodian (mode 0600): ${path.join(work, 's', 'custodian-1.share')}`);
    expect(dry.stderr).toContain('Dry run: nothing was changed.');
    expect(fs.existsSync(path.join(work, 'root'))).toBe(false);
    expect(fs.existsSync(path.join(work, 's'))).toBe(false);
    // And a dry-run signing with shares asks for none and writes nothing
    const root = await sharedRoot();
    const before = [listing(root.work), transcriptOf(root)];
    const drySign = await sign(root, await csr(root.work, 'dry'), path.join(root.work, 'dry.pem'), [root.shares[0]!], ['--dry-run']);
    expect(drySign.exitCode, drySign.stderr).toBe(0);
    expect(fs.existsSync(path.join(root.work, 'dry.pem'))).toBe(false);
    expect([listing(root.work).filter((l) => !l.startsWith('dry.')), transcriptOf(root)]).toEqual(before);
  });

  it('apply --file with root.custody: the offline side creates the shares, then signs with --share', async () => {
    const work = tempDir('cw-custody-estate-');
    const env = { CERTWRIGHT_HOME: path.join(work, 'home') };
    const file = path.join(work, 'estate.yaml');
    fs.writeFileSync(file, [
      'environment: est',
      'root: { dir: ./root, cn: "Estate Custody Root", path_len: 1, custody: { custodians: 3, threshold: 2, names: [alice, bob, carol], shares_out: ./shares } }',
      // Never contacted: --offline.
      'vault: { address: "https://vault.invalid:8200", ca: ./root/root-ca.pem }',
      'intermediate: { mount: pki_int, cn: "Estate Int" }',
      '',
    ].join('\n'));
    const apply = (extra: string[]) => cli(['apply', '--file', file, '--offline', '--yes', ...extra], { env });
    // A custody no ceremony could open is refused at its place in the file, nothing run
    const bad = path.join(work, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(file, 'utf8').replace('threshold: 2', 'threshold: 4'));
    const refused = await cli(['plan', '--file', bad, '--offline'], { env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/bad\.yaml:2:\d+: root\.custody\.threshold 4 is more than its 3 custodians/);
    // The ceremony machine: the root, under custody, and a stop at the air gap
    const first = await apply([]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain('Air gap: the next step, intermediate-request, runs on the online machine');
    const shares = ['alice', 'bob', 'carol'].map((n) => path.join(work, 'shares', `${n}.share`));
    for (const f of shares) expect(modeOf(f)).toBe(0o600);
    // The online machine's CSR arrives (openssl stands in for intermediate request here)
    fs.mkdirSync(path.join(work, 'carry'));
    const csrFile = path.join(work, 'carry', 'pki_int-intermediate.csr');
    expect((await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(work, 'int.key'), '-subj', '/CN=Estate Int', '-out', csrFile])).exitCode).toBe(0);
    // Without shares (no terminal) the root stays shut and says how many are needed
    const none = await apply([]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('2 more are needed');
    expect(fs.existsSync(path.join(work, 'carry', 'pki_int-intermediate.pem'))).toBe(false);
    // With two custodians' shares it signs, and stops at the next air gap
    const signed = await apply(['--share', shares[2]!, '--share', shares[1]!]);
    expect(signed.exitCode, signed.stderr).toBe(0);
    expect(signed.stdout).toContain('Air gap: the next step, intermediate-install, runs on the online machine');
    expect((await openssl(['verify', '-CAfile', path.join(work, 'root', 'root-ca.pem'), path.join(work, 'carry', 'pki_int-intermediate.pem')])).exitCode).toBe(0);
    const entries = fs.readFileSync(path.join(work, 'home', 'envs', 'est', 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.action, e.shareIndices])).toEqual([['root-create', [1, 2, 3]], ['intermediate-sign', [2, 3]]]);
    // A share left beside the root key is drift: apply stops there (exit 4)
    fs.copyFileSync(shares[0]!, path.join(work, 'root', 'alice.share'));
    const drift = await apply(['--share', shares[2]!, '--share', shares[1]!]);
    expect(drift.exitCode, drift.stderr).toBe(4);
    expect(drift.stderr).toContain('no share beside the root key');
  });

  it('README "Two-person ceremony": the block runs as written', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('## Two-person ceremony\n');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const block = /<!-- readme-test: run by test\/custody\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(section);
    expect(block, 'the section has a block marked for this test').not.toBeNull();
    const work = tempDir('cw-custody-readme-');
    const bin = path.join(work, '.bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'certwright'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o755 });
    const home = path.join(work, 'home');
    const r = await execa('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', block![1]!], { cwd: work, env: { PATH: `${bin}:${process.env.PATH}`, HOME: work, CERTWRIGHT_HOME: home, NO_COLOR: '1' }, extendEnv: false, reject: false, all: true, timeout: 120_000 });
    expect(r.exitCode, r.all).toBe(0);
    // What the block claims, checked independently
    expect(r.stdout).toMatch(/alice\.share\s+bob\.share\s+carol\.share/);
    expect(r.stdout).toContain('intermediate.pem: OK');
    for (const n of ['alice', 'bob', 'carol']) expect(modeOf(path.join(work, 'shares', `${n}.share`))).toBe(0o600);
    const entries = fs.readFileSync(path.join(home, 'envs', 'demo', 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.action, e.shareIndices])).toEqual([['root-create', [1, 2, 3]], ['intermediate-sign', [1, 3]]]);
  });

  it('the estate file the wizard writes keeps the custody (never a share), and maps back to the same root create flags', async () => {
    const dir = tempDir('cw-custody-record-');
    const file = path.join(dir, 'estate.yaml');
    const rec = new EstateRecorder(file);
    rec.open('rec');
    const state = emptyState('rec', new Date());
    const values = { env: 'rec', out: path.join(dir, 'root'), cn: 'Rec Root', 'key-type': 'ec-p384', ttl: '10y', 'path-len': '1', custodians: '3', threshold: '2', 'custodian-names': 'alice,bob,carol', 'shares-out': path.join(dir, 'shares'), 'show-shares': true };
    await rec.record('root-create', values, state);
    const written = await rec.record('intermediate', { env: 'rec', mount: 'pki_int', cn: 'Rec Int', 'root-dir': path.join(dir, 'root'), 'vault-addr': 'https://vault.invalid:8200', share: ['/secret/alice.share'] }, state);
    expect(written, written.pending).toMatchObject({ written: true });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/custody:\s+custodians: 3\s+threshold: 2\s+names:\s+- alice\s+- bob\s+- carol\s+shares_out: \.\/shares/);
    expect(text).not.toContain('share:');
    expect(text).not.toContain('/secret/');
    const root = estateSteps(loadEstate(file), { oneMachine: false }).find((s) => s.id === 'root-create')!;
    expect(root.values).toMatchObject({ custodians: '3', threshold: '2', 'custodian-names': 'alice,bob,carol', 'shares-out': path.join(dir, 'shares') });
    expect(root.values['passphrase-file']).toBeUndefined();
  });

  it('lab --file keeps a rehearsal\'s shares inside its workspace, and says how it opens the root', () => {
    const spec = { environment: 'l', root: { dir: '/srv/root', cn: 'R', custody: { custodians: 3, threshold: 2, shares_out: '/media/custodians' } }, vault: { address: 'https://v.invalid:8200' }, intermediate: { cn: 'I' } };
    const { spec: lab, notes } = labSpec(spec as never, '/tmp/ws', 8300);
    expect(lab.root.custody!.shares_out).toBe('/tmp/ws/abs/media/custodians');
    expect(notes).toContain("root.custody: the rehearsal opens the root with the first 2 custodians' shares from the workspace (throwaway, like the lab)");
  });
});

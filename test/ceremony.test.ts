/**
 * Issue 15, point 2: the ceremony script and the record held against it. No Vault: the online
 * side's CSR is made with openssl in the carry directory, where `apply --offline` finds it. The
 * script names the carried files' fingerprints (checked with openssl / sha256 here); the offline
 * apply records the transcript and prints its head; `ceremony verify` passes on the real record
 * and names each deviation (unscripted action, another CSR, a missing action); `transcript verify
 * --head` accepts a later, longer copy and refuses a rewritten or truncated one; a rehearsal in a
 * second workspace differs only in fingerprints, times and hosts. Also the README's block.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { appendTranscript } from '../state/transcript.js';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, cli, contentHashes, openssl, tempDir, uniqueMount, useOpenBao, writePassphrase } from './helpers/env.js';

// Only the one-machine rehearsal talks to Vault (a real OpenBao dev server); the ceremonies do not.
const bao = useOpenBao();

interface Workspace {
  dir: string;
  file: string;
  pass: string;
  env: Record<string, string>;
  transcript: string;
}

const ESTATE = (env: string) =>
  [
    `environment: ${env}`,
    'root:         { dir: ./root, cn: "Ceremony Test Root", key_type: ec-p256, ttl: 2y, path_len: 1 }',
    'vault:        { address: http://127.0.0.1:9, allow_http: true }',
    'intermediate: { mount: pki_cer, cn: "Ceremony Test Issuing CA", key_type: ec-p256 }',
    '',
  ].join('\n');

let n = 0;
function workspace(env = `cer${++n}`): Workspace {
  const dir = tempDir('cw-ceremony-');
  const file = path.join(dir, 'estate.yaml');
  fs.writeFileSync(file, ESTATE(env));
  const home = path.join(dir, 'home-offline');
  return { dir, file, pass: writePassphrase(dir), env: { CERTWRIGHT_HOME: home }, transcript: path.join(home, 'envs', env, 'transcript.jsonl') };
}

/** What the online machine hands over: the intermediate's CSR, in the carry directory. */
async function onlineCsr(w: Workspace, cn = 'Ceremony Test Issuing CA'): Promise<string> {
  const csr = path.join(w.dir, 'carry', 'pki_cer-intermediate.csr');
  fs.mkdirSync(path.dirname(csr), { recursive: true });
  const r = await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(w.dir, 'online-int.key'), '-subj', `/CN=${cn}`, '-out', csr]);
  expect(r.exitCode, r.stderr).toBe(0);
  return csr;
}

async function offlineApply(w: Workspace): Promise<string> {
  const r = await cli(['apply', '--file', w.file, '--offline', '--passphrase-file', w.pass, '--yes'], { env: w.env });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

/** Both ceremonies of the estate's offline side, as they happen at the air-gapped machine. */
async function fullCeremony(w: Workspace): Promise<{ heads: string[] }> {
  const first = await offlineApply(w);
  const csr = await onlineCsr(w);
  expect(fs.existsSync(csr)).toBe(true);
  const second = await offlineApply(w);
  const head = (out: string) => /Transcript head, for the witnesses to write down: ([0-9a-f ]+) \(entry/.exec(out)?.[1]?.trim() ?? '';
  return { heads: [head(first), head(second)] };
}

/**
 * One real ceremony (environment cerprod) that the tests which only read its record share: the
 * head test, and the rehearsals held against it. Tests that change a record make their own.
 */
let shared: Promise<{ w: Workspace; heads: string[] }> | undefined;
function sharedCeremony(): Promise<{ w: Workspace; heads: string[] }> {
  shared ??= (async () => {
    const w = workspace('cerprod');
    return { w, ...(await fullCeremony(w)) };
  })();
  return shared;
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const lineHash = (line: string) => crypto.createHash('sha256').update(line).digest('hex');

const snapshot = (dir: string) => contentHashes(dir).join('\n');

describe('ceremony script', () => {
  it('numbers every action with its inputs, outputs, expected record and sign-off lines; names the carried files\' fingerprints once they exist; changes nothing', async () => {
    const w = workspace();
    const before = snapshot(w.dir);
    const fresh = await cli(['ceremony', 'script', '--file', w.file], { env: w.env });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    expect(snapshot(w.dir)).toBe(before);
    expect(fs.existsSync(w.env.CERTWRIGHT_HOME!)).toBe(false);
    const text = fresh.stdout;
    expect(text).toContain(`Estate file: ./estate.yaml, SHA-256 ${sha256(w.file)}`);
    expect(text).toMatch(/^### 1\. Open the ceremony/m);
    expect(text).toMatch(/^### 2\. Create the root "Ceremony Test Root" \[transcript: root-create\]/m);
    expect(text).toMatch(/^### 5\. Sign the intermediate "Ceremony Test Issuing CA" with the root \[transcript: intermediate-sign\]/m);
    expect(text).toContain('root create --env ' + /environment: (\S+)/.exec(fs.readFileSync(w.file, 'utf8'))![1] + ' --out ./root --cn "Ceremony Test Root" --key-type ec-p256 --ttl 2y --path-len 1');
    expect(text).toContain('- keyType: ec-p256');
    expect(text).toContain('./carry/pki_cer-intermediate.csr; not here yet');
    expect(text).toMatch(/Custodians \(.*\):\n\n1\. Name _+ {2}Signature _+/);
    expect(text).toMatch(/Witnesses:\n\n1\. Name .*\n2\. Name /);
    expect(text).toContain('Transcript head at the close (64 hex digits): ____');

    // After the root ceremony and the online CSR: the script names what is carried in.
    await offlineApply(w);
    const csr = await onlineCsr(w);
    const signing = await cli(['ceremony', 'script', '--file', w.file, '--step', 'sign-intermediate', '--json'], { env: w.env });
    expect(signing.exitCode, signing.stderr).toBe(0);
    const script = JSON.parse(signing.stdout) as { ceremonies: string[]; actions: Array<{ n: number; recorded?: string; expect: Record<string, unknown>; inputs: Array<{ file?: string; sha256?: string; fingerprint?: string }> }> };
    expect(script.ceremonies).toEqual(['sign-intermediate']);
    const sign = script.actions.find((a) => a.recorded === 'intermediate-sign')!;
    const fp = (await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(w.dir, 'root', 'root-ca.pem')])).stdout.trim().replace(/^.*=/, '');
    const csrDigest = (await openssl(['dgst', '-sha256', '-r', csr])).stdout.split(' ')[0];
    expect(sign.expect.csrSha256).toBe(csrDigest);
    expect(sign.expect.rootSha256Fingerprint).toBe(fp);
    expect(sign.inputs.find((i) => i.file === './carry/pki_cer-intermediate.csr')!.sha256).toBe(csrDigest);
    const crl = await cli(['ceremony', 'script', '--file', w.file, '--step', 'root-crl'], { env: w.env });
    expect(crl.stdout).toMatch(/\[transcript: root-crl\]/);
    expect(crl.stdout).toContain('- crlNumber: 1');
    const bad = await cli(['ceremony', 'script', '--file', w.file, '--step', 'rooot'], { env: w.env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--step "rooot" is not a ceremony');
  });

  it('under M-of-N custody (root create --custodians 3 --threshold 2) the script names the custodians and how many open the root', async () => {
    const w = workspace();
    const env = /environment: (\S+)/.exec(fs.readFileSync(w.file, 'utf8'))![1]!;
    const root = await cli(['root', 'create', '--env', env, '--out', path.join(w.dir, 'root'), '--cn', 'Ceremony Test Root', '--key-type', 'ec-p256', '--custodians', '3', '--threshold', '2', '--custodian-names', 'alice,bob,carol', '--shares-out', path.join(w.dir, 'shares')], { env: w.env });
    expect(root.exitCode, root.stderr).toBe(0);
    const script = await cli(['ceremony', 'script', '--file', w.file, '--step', 'sign-intermediate'], { env: w.env });
    expect(script.exitCode, script.stderr).toBe(0);
    expect(script.stdout).toContain('the root key\'s custodians: any 2 of the 3 share holders (alice, bob, carol) give their shares');
    expect(script.stdout).toContain('Custodians (3 custodians, 2 of them needed to open the root):');
    expect(script.stdout).toMatch(/^1\. Name alice +Signature _+/m);
    expect(script.stdout).toMatch(/^3\. Name carol +Signature _+/m);
    const verified = await cli(['ceremony', 'verify', '--file', w.file, '--transcript', w.transcript, '--step', 'root'], { env: w.env });
    expect(verified.exitCode, verified.stdout).toBe(0);
  });

  it('ceremony script, ceremony verify and audit verify load no React (module log)', async () => {
    const w = workspace();
    fs.mkdirSync(path.dirname(w.transcript), { recursive: true });
    appendTranscript(w.transcript, 'root-create', { env: 'x' });
    for (const [args, module] of [
      [['ceremony', 'script', '--file', w.file], 'ceremony/script'],
      [['ceremony', 'verify', '--file', w.file, '--transcript', w.transcript], 'ceremony/verify'],
      [['audit', 'verify', '--env', 'nostate'], 'commands/audit-verify'],
    ] as const) {
      const log = path.join(w.dir, `modules-${module.replace('/', '-')}.log`);
      await execa('node', ['--import', path.join(ROOT, 'test/helpers/module-log.mjs'), BIN, ...args], { reject: false, env: { CERTWRIGHT_MODULE_LOG: log, ...w.env, CI: 'true' } });
      const modules = fs.readFileSync(log, 'utf8').trim().split('\n');
      expect(modules.some((m) => m.includes(module)), module).toBe(true);
      expect(modules.filter((m) => /node_modules\/(react|ink|@inkjs)\//.test(m)), module).toEqual([]);
    }
  });
});

describe('ceremony verify and the witnessed head', () => {
  it('the offline apply records the ceremony and prints the head; verify passes; transcript verify --head accepts this record and a longer copy, refuses a rewritten or truncated one', async () => {
    const { w, heads } = await sharedCeremony();
    const lines = fs.readFileSync(w.transcript, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).action)).toEqual(['root-create', 'intermediate-sign']);
    // The heads printed are the hashes of the last line at each close, read independently.
    expect(heads.map((h) => h.replace(/ /g, ''))).toEqual([lineHash(lines[0]!), lineHash(lines[1]!)]);

    const ok = await cli(['ceremony', 'verify', '--file', w.file, '--transcript', w.transcript], { env: w.env });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('✓ 2. root-create: entry 1');
    expect(ok.stdout).toContain('✓ 5. intermediate-sign: entry 2');
    expect(ok.stdout).toContain(`✓ csrSha256: ${sha256(path.join(w.dir, 'carry', 'pki_cer-intermediate.csr'))}`);
    expect(ok.stdout).toContain('The ceremony followed its script');

    const copy = path.join(w.dir, 'carried-transcript.jsonl');
    fs.copyFileSync(w.transcript, copy);
    const same = await cli(['transcript', 'verify', '--file', copy, '--head', heads[1]!]);
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stdout).toContain('is entry 2, so entries 1..2 are the record the witnesses saw');
    // The first ceremony's head, in a copy that went on to the second: still the same record.
    const longer = await cli(['transcript', 'verify', '--file', copy, '--head', heads[0]!]);
    expect(longer.exitCode, longer.stderr).toBe(0);
    expect(longer.stdout).toContain('(1 later entry was added after it)');

    // A forger who edits an entry and rebuilds the whole chain: the chain is intact, the head is not there.
    const forged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    forged[1]!.csrSha256 = '0'.repeat(64);
    let prev = '0'.repeat(64);
    const rewritten = forged.map((e) => {
      const line = JSON.stringify({ ...e, prev });
      prev = lineHash(line);
      return line;
    });
    fs.writeFileSync(copy, `${rewritten.join('\n')}\n`);
    expect((await cli(['transcript', 'verify', '--file', copy])).exitCode).toBe(0);
    const rw = await cli(['transcript', 'verify', '--file', copy, '--head', heads[1]!]);
    expect(rw.exitCode).toBe(4);
    expect(rw.stderr).toContain('does not hold the record whose head is');
    fs.writeFileSync(copy, `${lines[0]}\n`);
    const cut = await cli(['transcript', 'verify', '--file', copy, '--head', heads[1]!]);
    expect(cut.exitCode).toBe(4);
    const garbage = await cli(['transcript', 'verify', '--file', copy, '--head', 'abc']);
    expect(garbage.exitCode).toBe(2);
  });

  it('names every deviation: an unscripted action, another CSR than the one carried in, a missing action, an edited entry (exit 4)', async () => {
    const w = workspace();
    await fullCeremony(w);
    const verify = (extra: string[] = [], transcript = w.transcript) => cli(['ceremony', 'verify', '--file', w.file, '--transcript', transcript, ...extra], { env: w.env });

    // Another CSR swapped in after the script was printed: its SHA-256 is not the signed one's.
    const csr = path.join(w.dir, 'carry', 'pki_cer-intermediate.csr');
    const signed = fs.readFileSync(csr);
    await onlineCsr(w);
    const swapped = await verify();
    expect(swapped.exitCode).toBe(4);
    expect(swapped.stdout).toMatch(/✗ entry 2 \(intermediate-sign\): csrSha256 is [0-9a-f]{64}, the script expects [0-9a-f]{64}/);
    fs.writeFileSync(csr, signed);

    // An action the script does not have: a root CRL signed during the ceremony.
    const crl = await cli(['root', 'crl', '--env', /environment: (\S+)/.exec(fs.readFileSync(w.file, 'utf8'))![1]!, '--root-dir', path.join(w.dir, 'root'), '--out', path.join(w.dir, 'carry', 'root.crl'), '--passphrase-file', w.pass], { env: w.env });
    expect(crl.exitCode, crl.stderr).toBe(0);
    expect(crl.stdout).toContain('Transcript head, for the witnesses to write down:');
    const extra = await verify();
    expect(extra.exitCode).toBe(4);
    expect(extra.stdout).toMatch(/✗ entry 3 \(root-crl, .*\) is not in the script/);
    // ... which is its own ceremony, and verifies as one.
    const asCrl = await verify(['--step', 'root-crl']);
    expect(asCrl.exitCode, asCrl.stdout).toBe(0);
    expect(asCrl.stdout).toContain('2 earlier entries belong to earlier ceremonies');
    const rootOnly = await verify(['--step', 'root']);
    expect(rootOnly.exitCode, rootOnly.stdout).toBe(0);

    // Only the root ceremony happened: the signing is missing.
    const partial = path.join(w.dir, 'partial.jsonl');
    fs.writeFileSync(partial, `${fs.readFileSync(w.transcript, 'utf8').split('\n')[0]}\n`);
    const missing = await verify([], partial);
    expect(missing.exitCode).toBe(4);
    expect(missing.stdout).toContain('✗ action 5 (intermediate-sign) is not in the transcript');

    // An entry edited in place: the chain breaks there.
    const edited = path.join(w.dir, 'edited.jsonl');
    fs.writeFileSync(edited, fs.readFileSync(w.transcript, 'utf8').replace('"pathLen":0', '"pathLen":1'));
    const broken = await verify(['--step', 'root'], edited);
    expect(broken.exitCode).toBe(4);
    expect(broken.stdout).toContain('the hash chain is broken at entry 3');
  });

  it('--rehearsal: a rehearsal of the same file differs only in fingerprints, times and hosts; a rehearsal that skipped an action or changed a field is named', async () => {
    const { w: real } = await sharedCeremony();
    const lab = workspace('cerprod');
    await fullCeremony(lab);
    const compare = (rehearsal: string) => cli(['ceremony', 'verify', '--file', real.file, '--transcript', real.transcript, '--rehearsal', rehearsal], { env: real.env });
    const same = await compare(lab.transcript);
    expect(same.exitCode, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toContain('Rehearsal against the ceremony: the same sequence of actions (root-create → intermediate-sign)');
    expect(same.stdout).toMatch(/1\. root-create: differs only in fingerprints: serial, rootCertificateSha256Fingerprint, rootKeyFileSha256; times: time, notAfter/);
    expect(same.stdout).toMatch(/2\. intermediate-sign: differs only in fingerprints: csrSha256, serial, intermediateSha256Fingerprint, rootSha256Fingerprint; times: time, notAfter/);
    expect(same.stdout).toContain('the rehearsal matches it');

    // A rehearsal that stopped after the root: the sequence differs.
    const short = path.join(lab.dir, 'short.jsonl');
    fs.writeFileSync(short, `${fs.readFileSync(lab.transcript, 'utf8').split('\n')[0]}\n`);
    const skipped = await compare(short);
    expect(skipped.exitCode).toBe(4);
    expect(skipped.stdout).toContain('the sequence of actions differs: ceremony root-create → intermediate-sign, rehearsal root-create');

    // A rehearsal with another root name is not a rehearsal of this ceremony.
    const other = workspace('cerprod');
    fs.writeFileSync(other.file, ESTATE('cerprod').replace('Ceremony Test Root', 'Another Root'));
    await fullCeremony(other);
    const differs = await compare(other.transcript);
    expect(differs.exitCode).toBe(4);
    expect(differs.stdout).toContain('entry 1 (root-create): commonName is Ceremony Test Root at the ceremony, Another Root in the rehearsal');
  });
});

describe('a one-machine rehearsal against a real OpenBao', () => {
  it('apply --one-machine of the same file records the same ceremony actions in the same order; a rehearsal\'s online entries are left out, a ceremony\'s are findings', async () => {
    const { w: real } = await sharedCeremony();
    // The rehearsal: the same file's content with a real Vault, the whole file on one machine.
    const lab = workspace('cerprod');
    const mount = uniqueMount('pki_reh');
    fs.writeFileSync(lab.file, ESTATE('cerprod').replace('http://127.0.0.1:9', bao.server().addr).replace('pki_cer', mount));
    const r = await cli(['apply', '--file', lab.file, '--one-machine', '--passphrase-file', lab.pass, '--yes'], { env: { ...lab.env, VAULT_TOKEN: bao.server().token } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Transcript head, for the witnesses to write down:');
    const actions = fs.readFileSync(lab.transcript, 'utf8').trim().split('\n').map((l) => JSON.parse(l).action);
    expect(actions).toEqual(['root-create', 'intermediate-sign']);
    const cmp = await cli(['ceremony', 'verify', '--file', real.file, '--transcript', real.transcript, '--rehearsal', lab.transcript], { env: real.env });
    expect(cmp.exitCode, cmp.stdout + cmp.stderr).toBe(0);
    expect(cmp.stdout).toContain('the same sequence of actions (root-create → intermediate-sign)');
    // Held against the real ceremony's script as if it were real, its fingerprints are not the carried ones.
    const asReal = await cli(['ceremony', 'verify', '--file', real.file, '--transcript', lab.transcript], { env: real.env });
    expect(asReal.exitCode).toBe(4);
    expect(asReal.stdout).toMatch(/✗ entry 1 \(root-create\): rootCertificateSha256Fingerprint is [0-9A-F:]+, the script expects/);
    // A Vault initialised on the same machine (a lab's vault-server): left out of a rehearsal...
    appendTranscript(lab.transcript, 'vault-init', { addr: bao.server().addr, shares: 1, threshold: 1, keysFile: 'x', managedBy: 'vault-server' });
    expect((await cli(['ceremony', 'verify', '--file', real.file, '--transcript', real.transcript, '--rehearsal', lab.transcript], { env: real.env })).exitCode).toBe(0);
    // ...but on a ceremony machine, an online action is a finding.
    const onCeremonyMachine = path.join(lab.dir, 'ceremony-with-online-entry.jsonl');
    fs.copyFileSync(real.transcript, onCeremonyMachine);
    appendTranscript(onCeremonyMachine, 'vault-init', { addr: bao.server().addr, shares: 1, threshold: 1, keysFile: 'x', managedBy: 'vault-server' });
    const online = await cli(['ceremony', 'verify', '--file', real.file, '--transcript', onCeremonyMachine], { env: real.env });
    expect(online.exitCode).toBe(4);
    expect(online.stdout).toMatch(/✗ entry 3 \(vault-init, .*\) is an online action: the ceremony machine never reaches Vault/);
  });
});

describe('lab --file: the estate\'s ceremony rehearsed in the lab', () => {
  it('lab --file runs the file in the lab\'s workspace on its own OpenBao (the estate\'s directory untouched); its transcript compares equal', async () => {
    const { w: real } = await sharedCeremony();
    const before = snapshot(real.dir);
    // Its exit code is the rehearsal's status (this file has no agents or URLs, so status has findings).
    const r = await cli(['lab', '--file', real.file], { env: { CERTWRIGHT_HOME: path.join(real.dir, 'lab-home-unused') } });
    const m = /Rehearsing \S+ in (\S+) \(environment cerprod, state (\S+)\)\./.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const [, workspaceDir, stateDir] = m!;
    try {
      expect(snapshot(real.dir)).toBe(before);
      const transcript = path.join(stateDir!, 'envs', 'cerprod', 'transcript.jsonl');
      // The lab's Vault is the environment's own (vault-server): its vault-init is an online entry.
      const actions = fs.readFileSync(transcript, 'utf8').trim().split('\n').map((l) => JSON.parse(l).action);
      expect(actions).toEqual(['root-create', 'vault-init', 'intermediate-sign']);
      const cmp = await cli(['ceremony', 'verify', '--file', real.file, '--transcript', real.transcript, '--rehearsal', transcript], { env: real.env });
      expect(cmp.exitCode, cmp.stdout).toBe(0);
      expect(cmp.stdout).toContain('Rehearsal against the ceremony: the same sequence of actions (root-create → intermediate-sign)');
      expect(cmp.stdout).toMatch(/2\. intermediate-sign: differs only in fingerprints: csrSha256, serial, intermediateSha256Fingerprint, rootSha256Fingerprint; times: time, notAfter/);
    } finally {
      const pidFile = path.join(workspaceDir!, 'vault', 'vault.pid');
      if (fs.existsSync(pidFile)) {
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          /* stopped by the lab */
        }
      }
      fs.rmSync(workspaceDir!, { recursive: true, force: true });
    }
  });
});

describe('README: Ceremony script, record and audit', () => {
  it('the ceremony block runs as written (offline half; the CSR stands in for the online machine\'s)', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- readme-test: run by test\/ceremony\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'README block marked run by test/ceremony.test.ts').toBeDefined();
    const w = workspace('prod');
    fs.copyFileSync(w.pass, path.join(w.dir, 'pass'));
    // The block is the second ceremony: the root exists, the online machine's CSR was carried in.
    await offlineApply(w);
    await onlineCsr(w);
    const script = `set -e\ncertwright() { node ${BIN} "$@"; }\n${block!.replace(/\$CERTWRIGHT_HOME/g, w.env.CERTWRIGHT_HOME!)}`;
    const r = await execa('bash', ['-c', script], { cwd: w.dir, env: { ...process.env, ...w.env, CI: 'true' }, reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('The ceremony followed its script');
    expect(r.stdout).toContain('so entries 1..2 are the record the witnesses saw');
  });
});

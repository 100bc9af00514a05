import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bao, cli, pool, tempDir, useOpenBao, uniqueMount, writePassphrase, BAO, ROOT, type CliResult } from './helpers/env.js';
import { hasSystemdAnalyze, waitFor } from './helpers/agent.js';
import { stopProcess } from '../source/system/openbao.js';

/**
 * Issue 12's injection corpus: hostile names and paths in every flag whose value lands in a
 * generated file (agent HCL, Go template, systemd unit, install script, env file) or a command.
 * Each is refused (exit 1 or 2 with a Fix line), or accepted and escaped: then the real tools
 * read what was generated as data — a real `bao agent` runs the config (it parses it, logs in,
 * renders, and runs the hook with the exact hostile path), `systemd-analyze verify --user` parses
 * the unit, `sh -n` the install script — and no injected command runs: the canary file that each
 * hostile value tries to create must never appear. One OpenBao dev server for the file.
 */
const vault = useOpenBao();
const CANARY = `cw-canary-${process.pid}`;
const HOSTILE = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `x; touch ${CANARY}`,
  `x' ; touch ${CANARY} ; echo '`,
  `x" ] } exec { command = ["touch", "${CANARY}"] } #`,
  '$HOME %h %n',
  '${HOME}',
  '%{ if true }x%{ endif }',
  '{{ .Key }}',
  'x\\"y',
  '-x --state-dir=/etc',
  'x && touch ${CANARY} || touch ${CANARY}',
];
/** Where an injected `touch CANARY` would land: the working directories of everything run here. */
let canaryDirs: string[];
let work: string;
let home: string;
let rootDir: string;
let pass: string;
let mount: string;
const systemdAnalyze = hasSystemdAnalyze();
if (!systemdAnalyze) console.warn('[injection.test] systemd-analyze is not installed: units are checked by sh quoting only');
const children: Array<ReturnType<typeof spawn>> = [];

beforeAll(async () => {
  work = tempDir('cw-inject-');
  home = path.join(work, 'home');
  rootDir = path.join(work, 'root');
  fs.mkdirSync(rootDir);
  pass = writePassphrase(work);
  mount = uniqueMount('inj');
  canaryDirs = [work, ROOT, home];
  const env = { CERTWRIGHT_HOME: home, VAULT_ADDR: vault.server().addr, VAULT_TOKEN: vault.server().token };
  const r = await cli(['root', 'create', '--env', 'inj', '--out', rootDir, '--cn', 'Injection Root', '--key-type', 'ec-p256', '--passphrase-file', pass], { env, cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  const i = await cli(['intermediate', '--env', 'inj', '--mount', mount, '--cn', 'Injection Int', '--root-dir', rootDir, '--passphrase-file', pass], { env, cwd: work });
  expect(i.exitCode, i.stderr).toBe(0);
  // AppRole is enabled once here: the cases run concurrently, each with its own state home.
  await bao(vault.server(), ['auth', 'enable', 'approle']);
}, 120_000);

afterAll(async () => {
  for (const c of children) await stopProcess(c);
});

/** Each case has its own copy of the state home: concurrent cases never wait on one lock. */
const env = (caseHome = home) => ({ CERTWRIGHT_HOME: caseHome, VAULT_ADDR: vault.server().addr, VAULT_TOKEN: vault.server().token, CERTWRIGHT_PODMAN: path.join(work, 'no-podman') });
const canaries = () => canaryDirs.filter((d) => fs.existsSync(path.join(d, CANARY)));

type Verdict = { name: string; refused: boolean; problems: string[] };

function refusedWell(r: CliResult): string[] {
  const problems: string[] = [];
  if (r.exitCode !== 1 && r.exitCode !== 2) problems.push(`exit ${r.exitCode}`);
  if (!/^Fix: \S/m.test(r.stderr)) problems.push('no Fix line');
  if (problems.length) problems.push(r.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 300));
  return problems;
}

/**
 * A name flag: every hostile value must be refused before anything is written (names go into
 * policies, unit names, file names and configs unquoted).
 */
const NAME_FLAGS: Array<[string, (v: string, w: string) => string[]]> = [
  ['agent app --name', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--name', v, '--common-name', 'web.test', '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['agent app --common-name', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--name', 'web', '--common-name', v, '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['agent app --alt-names', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--name', 'web', '--common-name', 'web.test', '--alt-names', v, '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['agent app --select', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--name', 'web', '--common-name', 'web.test', '--select', `app=${v}`, '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['agent app --user', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--name', 'web', '--common-name', 'web.test', '--user', v, '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['agent proxy --name', (v, w) => ['agent', 'proxy', '--env', 'inj', '--mount', mount, '--name', v, '--ca-out', path.join(w, 'ca.pem'), '--out', path.join(w, 'out'), '--allow-http']],
  ['--mount', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', v, '--name', 'web', '--common-name', 'web.test', '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['--approle-mount', (v, w) => ['agent', 'app', '--env', 'inj', '--mount', mount, '--approle-mount', v, '--name', 'web', '--common-name', 'web.test', '--tls-dir', path.join(w, 'tls'), '--out', path.join(w, 'out'), '--allow-http']],
  ['--env', (v, w) => ['root', 'create', '--env', v, '--out', path.join(w, 'r'), '--cn', 'X Root', '--passphrase-file', pass]],
  ['build-role --role', (v, w) => ['build-role', '--env', 'inj', '--mount', mount, '--role', v, '--allowed-apps', 'app1', '--role-id-out', path.join(w, 'role-id')]],
  ['build-role --allowed-apps', (v, w) => ['build-role', '--env', 'inj', '--mount', mount, '--role', 'b', '--allowed-apps', v, '--role-id-out', path.join(w, 'role-id')]],
  ['build-cert --app', (v, w) => ['build-cert', '--mount', mount, '--app', v, '--git-sha', '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49', '--out', path.join(w, 'b')]],
  ['build-cert --env-prefix', (v, w) => ['build-cert', '--mount', mount, '--app', 'app1', '--env-prefix', v, '--git-sha', '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49', '--out', path.join(w, 'b')]],
  ['build-cert --install-dir', (v, w) => ['build-cert', '--mount', mount, '--app', 'app1', '--install-dir', `/opt/${v}`, '--git-sha', '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49', '--out', path.join(w, 'b')]],
  ['build-cert --trust-path NAME', (v, w) => ['build-cert', '--mount', mount, '--app', 'app1', '--trust-path', `${v}=${path.join(rootDir, 'root-ca.pem')}`, '--git-sha', '4f1c2b8e9d0a7c6b5e4d3c2b1a0f9e8d7c6b5a49', '--out', path.join(w, 'b')]],
  ['vault-cert --dns', (v, w) => ['vault-cert', '--env', 'inj', '--mount', mount, '--dns', v, '--out', path.join(w, 'tls')]],
  ['vault-cert --role', (v, w) => ['vault-cert', '--env', 'inj', '--mount', mount, '--role', v, '--out', path.join(w, 'tls')]],
  ['vault-https --name', (v, w) => ['vault-https', '--env', 'inj', '--tls-dir', w, '--out', path.join(w, 'vh'), '--runtime', 'podman', '--name', v]],
  ['vault-https --user', (v, w) => ['vault-https', '--env', 'inj', '--tls-dir', w, '--out', path.join(w, 'vh'), '--runtime', 'podman', '--user', v]],
  ['hook --name', (v, w) => ['hook', '--env', 'inj', '--name', v, '--tls-dir', path.join(w, 'tls'), '--payload', path.join(w, 'none.json')]],
  ['distribute-ca --users', (v) => ['distribute-ca', '--ca', path.join(rootDir, 'root-ca.pem'), '--users', v]],
];

/** Path flags: a hostile path is a legal path; it must be carried exactly, as data, into each file. */
const PATH_FLAGS = ['--out', '--tls-dir', '--hook-state-dir'] as const;

async function runAgentOnce(hcl: string, cwd: string, done: () => boolean): Promise<{ ok: boolean; log: string }> {
  const log = path.join(cwd, 'agent.log');
  const fd = fs.openSync(log, 'a', 0o600);
  const child = spawn(BAO, ['agent', `-config=${hcl}`], { cwd, stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH, HOME: cwd, CERTWRIGHT_PODMAN: path.join(work, 'no-podman') } as NodeJS.ProcessEnv });
  fs.closeSync(fd);
  children.push(child);
  try {
    await waitFor('the agent to render and run the hook', 45_000, () => done() || child.exitCode !== null);
  } catch {
    /* reported below */
  }
  const ok = child.exitCode === null && done();
  await stopProcess(child);
  return { ok, log: fs.readFileSync(log, 'utf8') };
}


describe('the injection corpus', () => {
  it('hostile values in every name flag are refused before anything is written', async () => {
    // Names are refused by their validators whatever the payload: three distinct attacks per flag
    // (shell substitution, a shell quote breakout, an HCL breakout) suffice.
    const values = [HOSTILE[0]!, HOSTILE[3]!, HOSTILE[4]!];
    const cases = NAME_FLAGS.flatMap(([flag, args]) => values.map((v) => ({ flag, v, args })));
    const verdicts = await pool(cases, 4, async ({ flag, v, args }): Promise<Verdict> => {
      const w = tempDir('cw-inject-name-');
      const caseHome = path.join(tempDir('cw-inject-home-'), 'home');
      fs.cpSync(home, caseHome, { recursive: true });
      const r = await cli(args(v, w), { env: env(caseHome), cwd: w });
      const problems = refusedWell(r);
      const written = fs.readdirSync(w);
      if (written.length) problems.push(`wrote ${written.join(', ')}`);
      if (fs.existsSync(path.join(w, CANARY))) problems.push('the canary appeared');
      return { name: `${flag} ${JSON.stringify(v)}`, refused: true, problems };
    });
    const bad = verdicts.filter((x) => x.problems.length);
    console.info(`[injection] names: ${verdicts.length - bad.length} of ${verdicts.length} handled (${NAME_FLAGS.length} flags x ${values.length} values, all refused)`);
    expect(bad.map((b) => `${b.name}: ${b.problems.join('; ')}`)).toEqual([]);
    expect(canaries()).toEqual([]);
  }, 170_000);

  it('hostile paths are refused or carried as data: bao agent runs the config, systemd-analyze and sh parse the rest, no canary', async () => {
    // Every hostile value but the near-duplicates (backquotes beside $(...), && beside ;, %{ beside ${).
    const values = HOSTILE.filter((_, i) => ![1, 7, 11].includes(i));
    const cases = PATH_FLAGS.flatMap((flag) => values.map((v, n) => ({ flag, v, n })));
    let agentRuns = 0;
    const verdicts = await pool(cases, 3, async ({ flag, v, n }): Promise<Verdict> => {
      const w = tempDir('cw-inject-path-');
      const caseHome = path.join(tempDir('cw-inject-home-'), 'home');
      fs.cpSync(home, caseHome, { recursive: true });
      const name = `p${PATH_FLAGS.indexOf(flag)}x${n}`;
      const target = path.join(w, 'hostile', v);
      const paths = { '--out': path.join(w, 'out'), '--tls-dir': path.join(w, 'tls'), '--hook-state-dir': path.join(w, 'hook-home') };
      paths[flag] = target;
      const r = await cli(['agent', 'app', '--env', 'inj', '--mount', mount, '--name', name, '--common-name', `${name}.test`, '--ttl', '1h', '--allow-http', '--out', paths['--out'], '--tls-dir', paths['--tls-dir'], '--hook-state-dir', paths['--hook-state-dir']], { env: env(caseHome), cwd: w });
      const label = `${flag} ${JSON.stringify(v)}`;
      if (r.exitCode !== 0) {
        const problems = refusedWell(r);
        if (fs.existsSync(paths['--out']) && fs.readdirSync(paths['--out']).length) problems.push('refused but wrote --out');
        return { name: label, refused: true, problems };
      }
      const problems: string[] = [];
      const out = paths['--out'];
      const hcl = path.join(out, 'agent.hcl');
      const unit = fs.readdirSync(out).find((f) => f.endsWith('.service'))!;
      // The unit: systemd parses it; ExecStart carries no bare $ (systemd would expand it) and no bare %.
      if (systemdAnalyze) {
        const runtime = tempDir('cw-xdg-');
        fs.chmodSync(runtime, 0o700);
        try {
          execFileSync('systemd-analyze', ['verify', '--user', '--man=no', path.join(out, unit)], { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (error) {
          problems.push(`systemd-analyze verify: ${String((error as { stderr?: Buffer }).stderr ?? error).trim().slice(0, 200)}`);
        }
      }
      const exec = fs.readFileSync(path.join(out, unit), 'utf8').split('\n').find((l) => l.startsWith('ExecStart='))!;
      if (/(^|[^$])\$([^$]|$)/.test(exec.replace(/\$\$/g, ''))) problems.push(`ExecStart has a bare $: ${exec}`);
      if (/%[^%]/.test(exec.replace(/%%/g, ''))) problems.push(`ExecStart has a bare %: ${exec}`);
      // The install script parses as sh (and is run by no one here).
      try {
        const artefacts = path.join(caseHome, 'envs', 'inj', 'artefacts');
        const script = fs.readdirSync(artefacts).find((f) => f.startsWith('install-') && f.includes(name))!;
        execFileSync('sh', ['-n', path.join(artefacts, script)], { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        problems.push(`sh -n install.sh: ${String((error as { stderr?: Buffer }).stderr ?? error).trim().slice(0, 200)}`);
      }
      // The config: a real agent reads it, logs in, renders and runs the hook, which swaps the
      // leaf into the exact --tls-dir and logs into the exact --hook-state-dir.
      const events = path.join(paths['--hook-state-dir'], 'envs', 'inj', 'events.jsonl');
      const current = path.join(paths['--tls-dir'], 'current', 'cert.pem');
      agentRuns += 1;
      const ran = await runAgentOnce(hcl, w, () => fs.existsSync(current) && fs.existsSync(events));
      if (!ran.ok) problems.push(`the agent did not render and run the hook with the exact paths: ${ran.log.split('\n').filter((l) => /error|\[ERROR\]/i.test(l)).slice(-3).join(' | ')}`);
      if (fs.existsSync(path.join(w, CANARY))) problems.push('the canary appeared');
      return { name: label, refused: false, problems };
    });
    const bad = verdicts.filter((x) => x.problems.length);
    const accepted = verdicts.filter((x) => !x.refused).length;
    console.info(`[injection] paths: ${verdicts.length - bad.length} of ${verdicts.length} handled (${accepted} carried as data and run by a real bao agent: ${agentRuns}; ${verdicts.length - accepted} refused)`);
    expect(bad.map((b) => `${b.name}: ${b.problems.join('; ')}`)).toEqual([]);
    expect(accepted).toBeGreaterThan(PATH_FLAGS.length * 3);
    expect(canaries()).toEqual([]);
  }, 175_000);
});

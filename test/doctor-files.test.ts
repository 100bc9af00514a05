import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cli, tempDir, useOpenBao, BAO } from './helpers/env.js';
import { doctorJson, opensslPki, recordStep, validateAgainstSchema } from './helpers/status.js';

/**
 * Doctor's file-borne pitfalls, each planted for real and — where the real tool can show it —
 * shown to break the real thing first (bao agent refusing a quoted sink mode, a key template
 * rendered world-readable, systemd-analyze passing a unit that dies with 218/CAPABILITIES).
 */
const bao = useOpenBao();
const work = tempDir('cw-doctor-files-');

function write(file: string, text: string, mode = 0o644): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  return file;
}

const by = (json: { findings: Array<{ check: string }> }, id: string) => json.findings.filter((f) => f.check === id) as any[];

describe('doctor: agent configs', () => {
  it('a sink at /dev/null, a quoted sink mode and key templates without perms — and a clean config has none', async () => {
    const dev = bao.server();
    const dir = path.join(work, 'agents');
    const token = write(path.join(dir, 'token'), `${dev.token}\n`, 0o600);
    const quoted = write(
      path.join(dir, 'quoted', 'agent.hcl'),
      `vault {\n  address = "${dev.addr}"\n}\nauto_auth {\n  method "token_file" {\n    config = { token_file_path = "${token}" }\n  }\n  sink "file" {\n    config = {\n      path = "${path.join(dir, 'quoted', 'tok')}"\n      mode = "0600"\n    }\n  }\n}\n`,
    );
    // The real agent refuses it, with the words doctor quotes.
    const run = await execa(BAO, ['agent', `-config=${quoted}`], { reject: false, timeout: 20_000 });
    expect(`${run.stdout}${run.stderr}`).toContain("could not parse 'mode' as integer");
    const devnull = write(path.join(dir, 'devnull', 'agent.hcl'), `vault { address = "${dev.addr}" }\nauto_auth {\n  method "token_file" { config = { token_file_path = "${token}" } }\n  sink "file" { config = { path = "/dev/null" } }\n}\n`);
    const nopermsOut = path.join(dir, 'noperms', 'key.pem');
    const noperms = write(
      path.join(dir, 'noperms', 'agent.hcl'),
      `vault { address = "${dev.addr}" }\nexit_after_auth = true\nauto_auth {\n  method "token_file" { config = { token_file_path = "${token}" } }\n}\ntemplate {\n  destination = "${nopermsOut}"\n  contents = <<EOT\n-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\nEOT\n}\n`,
    );
    const writeKey = write(
      path.join(dir, 'writekey', 'agent.hcl'),
      `vault { address = "${dev.addr}" }\ntemplate {\n  destination = "${path.join(dir, 'writekey', 'payload.json')}"\n  perms = "0600"\n  contents = "{{ \\"x\\" | writeToFile \\"${path.join(dir, 'writekey', 'a.pem')}\\" \\"\\" \\"\\" \\"0644\\" }}{{ with pkiCert \\"pki/issue/x\\" }}{{ .Key | writeToFile \\"${path.join(dir, 'writekey', 'k.pem')}\\" \\"\\" \\"\\" }}{{ end }}"\n}\n`,
    );
    // The real agent renders the key world-readable when perms is missing.
    await execa(BAO, ['agent', `-config=${noperms}`], { reject: false, timeout: 30_000, env: { PATH: process.env.PATH, HOME: work } });
    expect(fs.statSync(nopermsOut).mode & 0o777).toBe(0o644);
    // A config as issue 4's generator writes it: no sink, perms on the key-bearing template.
    const clean = write(
      path.join(dir, 'clean', 'agent.hcl'),
      `vault {\n  address = "${dev.addr}"\n}\nauto_auth {\n  method "approle" {\n    mount_path = "auth/approle"\n    config = {\n      role_id_file_path = "/x/role_id"\n    }\n  }\n  # No token sink: templates need none.\n}\ntemplate {\n  source = "${path.join(dir, 'clean', 'leaf.ctmpl')}"\n  destination = "${path.join(dir, 'clean', 'leaf-cache.pem')}"\n  perms = "0600"\n  exec {\n    command = ["/usr/bin/node", "/x/certwright.mjs", "hook", "--env", "files", "--name", "web"]\n  }\n}\n`,
    );
    write(path.join(dir, 'clean', 'leaf.ctmpl'), '{{- with pkiCert "pki/issue/web" "common_name=web" -}}\n{{ .Cert }}{{ .CA }}{{ .Key }}\n{{ printf "{\\"private_key\\":%s}" (.Key | toJSON) | writeToFile "/x/payload.json" "" "" "0600" }}\n{{- end -}}\n');

    const { exitCode, json } = await doctorJson(['--env', 'files', ...[quoted, devnull, noperms, writeKey, clean].flatMap((f) => ['--agent-config', f])], { CERTWRIGHT_HOME: path.join(work, 'home') });
    expect(await validateAgainstSchema('doctor', json)).toEqual([]);
    expect(by(json, 'sink-mode-quoted')).toEqual([expect.objectContaining({ file: quoted, line: 8, fix: expect.stringContaining('mode = 0600') })]);
    expect(by(json, 'sink-dev-null')).toEqual([expect.objectContaining({ file: devnull, line: 4 })]);
    expect(by(json, 'sink-dev-null')[0].fix).toMatch(/Remove the sink block at line 4/);
    const perms = by(json, 'template-key-perms');
    expect(perms.map((f) => f.file)).toEqual([noperms, writeKey]);
    expect(perms[0]).toMatchObject({ line: 6, fix: expect.stringContaining('perms = "0600"') });
    expect(perms[1].message).toContain(`writeToFile "${path.join(dir, 'writekey', 'k.pem')}" writes a key without a perms argument`);
    expect(json.findings.filter((f: { file?: string }) => f.file === clean)).toEqual([]);
    expect(exitCode).toBe(9);
    const text = await cli(['doctor', '--env', 'files', '--agent-config', quoted], { env: { CERTWRIGHT_HOME: path.join(work, 'home') } });
    expect(text.stdout).toMatch(/✗ agent token sinks with a quoted mode\n {4}FAIL .*agent\.hcl:8\n.*could not parse 'mode' as integer.*\n {4}Fix: Write the mode as an unquoted HCL number/);
  });
});

describe('doctor: user units and compose files', () => {
  it('capability directives in a user unit (which systemd-analyze verify passes), keep-id and chown expectations in compose files', async () => {
    const dir = path.join(work, 'units');
    const bad = write(path.join(dir, 'bao-agent-bad.service'), `[Unit]\nDescription=agent\n\n[Service]\nExecStart=${BAO} agent -config=/x/agent.hcl\nCapabilityBoundingSet=CAP_IPC_LOCK\nAmbientCapabilities=CAP_IPC_LOCK\nSecureBits=keep-caps\n\n[Install]\nWantedBy=default.target\n`);
    const good = write(path.join(dir, 'bao-agent-good.service'), `[Unit]\nDescription=agent\n\n[Service]\nType=simple\nExecStart=${BAO} agent -config=/x/agent.hcl\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n`);
    const runtime = fs.mkdtempSync(path.join(work, 'xdg-'));
    fs.chmodSync(runtime, 0o700);
    const verify = await execa('systemd-analyze', ['verify', '--user', '--man=no', bad], { reject: false, env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    expect(verify.exitCode).toBe(0); // the failure only shows at start: 218/CAPABILITIES

    const compose = write(
      path.join(work, 'vault-https', 'compose.yaml'),
      `services:\n  vault:\n    image: quay.io/openbao/openbao:2.2.0\n    userns_mode: keep-id\n    volumes:\n      - ./data:/openbao/file\n      - ./tls:/openbao/tls:ro\n  app:\n    image: localhost/app\n    command: sh -c "chown -R app /srv && exec app"\n    volumes:\n      - ./srv:/srv:U\n`,
    );
    const cleanCompose = write(path.join(work, 'clean', 'compose.yaml'), `services:\n  vault:\n    image: quay.io/openbao/openbao:2.2.0\n    user: "100:1000"\n    environment:\n      SKIP_CHOWN: "1"\n    volumes:\n      - ./data:/openbao/file\n`);
    // vault-https (issue 3) records where it wrote the compose file, its TLS dir and the container user.
    const home = path.join(work, 'home-units');
    const vtls = path.join(work, 'vault-https', 'tls');
    write(path.join(vtls, 'server.key'), 'key', 0o600);
    fs.chmodSync(vtls, 0o755);
    recordStep(home, 'files', 'vault-https', undefined, [], { apiAddr: 'https://127.0.0.1:1', outDir: path.dirname(compose), tlsDir: vtls, user: '65534:65534', runtime: 'podman', containerName: 'vault' });

    const { json } = await doctorJson(['--env', 'files', '--unit', bad, '--unit', good, '--compose', cleanCompose], { CERTWRIGHT_HOME: home });
    expect(await validateAgainstSchema('doctor', json)).toEqual([]);
    const units = by(json, 'unit-capabilities');
    expect(units.map((f) => [f.file, f.line])).toEqual([[bad, 6], [bad, 7], [bad, 8]]);
    expect(units[0].message).toMatch(/218\/CAPABILITIES/);
    expect(units[2].message).toMatch(/213\/SECUREBITS/);
    expect(units[0].fix).toMatch(/Delete line 6 \("CapabilityBoundingSet=CAP_IPC_LOCK"\).*systemctl --user daemon-reload/);
    expect(by(json, 'compose-keep-id')).toEqual([expect.objectContaining({ file: compose, line: 4 })]);
    const chown = by(json, 'compose-chown');
    expect(chown.map((f) => [f.line, f.level])).toEqual([[6, 'fail'], [10, 'fail'], [12, 'warn']]);
    expect(chown[0].fix).toContain('SKIP_CHOWN');
    expect(json.findings.filter((f: { file?: string }) => f.file === cleanCompose || f.file === good)).toEqual([]);
    // The Vault container's user (from vault-https) cannot read the server key.
    expect(by(json, 'key-unreadable')).toContainEqual(expect.objectContaining({ subject: `Vault (vault-https user): ${path.join(vtls, 'server.key')}` }));
  });

  it('leaves inside the warning window, with the fix for each', async () => {
    const pki = await opensslPki(path.join(work, 'exp'), 'exp', { leafDays: 3 });
    const dir = path.join(work, 'exp-certs');
    fs.mkdirSync(dir);
    fs.copyFileSync(pki.leaf, path.join(dir, 'svc.pem'));
    fs.copyFileSync(pki.key, path.join(dir, 'svc.key'));
    // --select scopes the container checks to none, so other containers on this machine do not count.
    const scope = ['--select', `cw5-none=${process.pid}`];
    const { exitCode, json } = await doctorJson(['--env', 'files', '--root', pki.root, '--cert-dir', dir, '--warn-days', '14', ...scope], { CERTWRIGHT_HOME: path.join(work, 'home-exp') });
    expect(by(json, 'expiring')).toEqual([expect.objectContaining({ level: 'warn', subject: path.join(dir, 'svc.pem'), message: expect.stringMatching(/^leaf CN=localhost expires in 2(\.\d)? days .* inside the 14-day window$/) })]);
    expect(exitCode).toBe(8);
    // By default a certificate warns when under a third of its lifetime is left: this fresh 3-day leaf is fine.
    expect((await doctorJson(['--env', 'files', '--root', pki.root, '--cert-dir', dir, ...scope], { CERTWRIGHT_HOME: path.join(work, 'home-exp') })).exitCode).toBe(0);
    expect((await doctorJson(['--env', 'files', '--root', pki.root, '--cert-dir', dir, '--warn-days', '2', ...scope], { CERTWRIGHT_HOME: path.join(work, 'home-exp') })).exitCode).toBe(0);
  });
});

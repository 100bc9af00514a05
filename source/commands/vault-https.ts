import fs from 'node:fs';
import type { CommandSpec } from '../command.js';
import { UsageError, OperatorError } from '../errors.js';
import { parseListen } from '../system/ports.js';
import { parseOwner } from '../system/ownership.js';
import { cliReporter, printJson } from '../output.js';
import { applyVaultHttps, planVaultHttps, rootPemFromTlsDir, DEFAULT_IMAGE, type Runtime, type VaultHttpsInput } from '../steps/vault-https.js';
import { resolveCaFile } from '../vault/trust.js';
import type { Storage } from '../vault/server-config.js';
import { openSession, showPlan } from './common.js';

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} "${value}" is not one of ${allowed.join(', ')}.`, `Pass ${flag} ${allowed.join('|')}.`);
  return value as T;
}

export const command: CommandSpec = {
  name: 'vault-https',
  summary: 'Renders Vault\'s HTTPS server config (tcp listener with the full chain, TLS 1.2+, api_addr over https, file or raft storage) and a Podman compose file (config and TLS read-only, data read-write, run as the files\' owner: no keep-id, no chown, no capabilities). --start starts it and waits until it answers over HTTPS, trusting only the environment\'s root.',
  usage: 'vault-https --env E --tls-dir DIR --out DIR [--listen ADDR] [--storage file|raft] [--image IMAGE] [--start [--runtime podman|process]]',
  flags: [
    { name: 'tls-dir', type: 'string', value: 'DIR', description: 'the directory vault-cert wrote (server.key, fullchain.pem, ca-chain.pem)' },
    { name: 'out', type: 'string', value: 'DIR', description: 'where config/vault.hcl, vault-host.hcl, compose.yaml and data/ go' },
    { name: 'listen', type: 'string', value: 'ADDR', description: 'listener HOST:PORT (default 127.0.0.1:8200)' },
    { name: 'storage', type: 'string', value: 'KIND', description: 'raft (default: single-node integrated storage) or file (Vault, OpenBao < 2.7), under OUT/data' },
    { name: 'image', type: 'string', value: 'IMAGE', description: `container image (default ${DEFAULT_IMAGE})` },
    { name: 'bao-binary', type: 'string', value: 'FILE', description: 'bind-mount this bao binary into an image that has none (e.g. a minimal busybox image)' },
    { name: 'user', type: 'string', value: 'UID:GID', description: 'container user (default: the owner of server.key, so nothing needs chown)' },
    { name: 'name', type: 'string', value: 'NAME', description: 'container name (default certwright-vault-ENV)' },
    { name: 'network', type: 'string', value: 'MODE', description: 'bridge (default: the port is published on the listen address) or host (the container shares the host network)' },
    { name: 'api-addr', type: 'string', value: 'URL', description: 'api_addr (default https://LISTEN-HOST:PORT)' },
    { name: 'start', type: 'boolean', description: 'start Vault and wait until it answers over HTTPS' },
    { name: 'runtime', type: 'string', value: 'KIND', description: 'podman (default: podman-compose, or the equivalent podman run) or process (bao server on the host)' },
    { name: 'wait', type: 'string', value: 'SECONDS', description: 'how long --start waits for HTTPS (default 60)' },
  ],
  async run(ctx) {
    const f = ctx.flags;
    const tlsDir = f.require('tls-dir');
    const outDir = f.require('out');
    const listen = parseListen(f.string('listen') ?? '127.0.0.1:8200');
    const storage = oneOf<Storage>(f.string('storage'), ['file', 'raft'], '--storage', 'raft');
    const runtime = oneOf<Runtime>(f.string('runtime'), ['podman', 'process'], '--runtime', 'podman');
    const network = oneOf(f.string('network'), ['bridge', 'host'] as const, '--network', 'bridge');
    const baoBinary = f.string('bao-binary');
    if (baoBinary && !fs.existsSync(baoBinary)) throw new OperatorError(`--bao-binary ${baoBinary} does not exist.`, 'Pass the path of a bao binary (e.g. .tools/bin/bao).');
    const apiAddr = f.string('api-addr');
    if (apiAddr !== undefined && !/^https:\/\/[^/]+/.test(apiAddr)) throw new UsageError(`--api-addr ${apiAddr} is not an https URL.`, 'Pass e.g. --api-addr https://vault.example:8200.');
    const session = await openSession(ctx, 'vault-https');
    try {
      const caFile = resolveCaFile(session.state, { vaultCa: f.string('vault-ca') });
      let ca: string;
      try {
        ca = caFile ? fs.readFileSync(caFile, 'utf8') : rootPemFromTlsDir(tlsDir);
      } catch {
        throw new OperatorError(`The CA file ${caFile ?? `${tlsDir}/ca-chain.pem`} cannot be read.`, 'Pass --vault-ca with the environment\'s root-ca.pem.');
      }
      const input: VaultHttpsInput = {
        tlsDir,
        outDir,
        listen,
        storage,
        image: f.string('image') ?? (baoBinary ? 'localhost/certwright-bao-base' : DEFAULT_IMAGE),
        baoBinary,
        user: f.string('user') ? parseOwner(f.string('user')!, '--user') : undefined,
        containerName: f.string('name') ?? `certwright-vault-${session.env}`,
        network,
        apiAddr,
        start: f.bool('start'),
        runtime,
        waitSeconds: Number(f.int('wait', { min: 1, max: 600 }) ?? 60),
        ca,
        caFile,
      };
      const plan = await planVaultHttps(session, input);
      if (!(await showPlan(ctx, `Vault over HTTPS in ${outDir}`, plan))) return 0;
      const result = await applyVaultHttps(session, input, cliReporter());
      if (f.bool('json')) printJson(result);
      else {
        const lines = [`Vault over HTTPS: ${result.apiAddr} (certificate ${result.fingerprint}).`];
        if (!input.start) lines.push(`Start it: podman-compose -f ${plan.files[2]!.path} up -d   (or: bao server -config=${plan.files[1]!.path})`);
        else if (result.pid) lines.push(`bao server runs as PID ${result.pid}.`);
        lines.push(`Then: certwright vault-init --env ${session.env} (trusts only ${caFile ?? 'the root in ca-chain.pem'}).`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return 0;
    } finally {
      session.close();
    }
  },
};

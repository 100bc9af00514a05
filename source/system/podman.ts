import { execa } from 'execa';
import { ExternalError, OperatorError } from '../errors.js';

/** The few podman calls certwright makes. Rootful or rootless, whatever `podman` is here. */

export async function podmanAvailable(): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  try {
    const r = await execa('podman', ['version', '--format', '{{.Client.Version}}'], { reject: false, timeout: 15_000 });
    if (r.exitCode !== 0) return { ok: false, why: `podman version failed: ${String(r.stderr).trim().split('\n').at(-1)}` };
    return { ok: true, version: String(r.stdout).trim() };
  } catch (error) {
    return { ok: false, why: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'podman is not installed' : (error as Error).message };
  }
}

export async function commandExists(cmd: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
  return r.exitCode === 0;
}

export interface ContainerInfo {
  running: boolean;
  status: string;
  pid: number;
  image: string;
}

export async function inspectContainer(name: string): Promise<ContainerInfo | undefined> {
  const r = await execa('podman', ['inspect', '--type', 'container', '--format', '{{.State.Running}}|{{.State.Status}}|{{.State.Pid}}|{{.ImageName}}', name], { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0) return undefined;
  const [running, status, pid, image] = String(r.stdout).trim().split('|');
  return { running: running === 'true', status: status ?? '', pid: Number(pid), image: image ?? '' };
}

export async function imageExists(image: string): Promise<boolean> {
  const r = await execa('podman', ['image', 'exists', image], { reject: false, timeout: 15_000 });
  return r.exitCode === 0;
}

/** SIGHUP to the container's main process (PID 1): Vault/OpenBao re-reads its TLS files. */
export async function hupContainer(name: string): Promise<void> {
  const r = await execa('podman', ['kill', '--signal', 'HUP', name], { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0) throw new ExternalError(`podman kill --signal HUP ${name} failed: ${String(r.stderr).trim()}`, `Check the container with \`podman ps -a --filter name=${name}\`.`);
}

export async function containerLogs(name: string, tail = 40): Promise<string> {
  const r = await execa('podman', ['logs', '--tail', String(tail), name], { reject: false, timeout: 15_000, all: true });
  return String(r.all ?? '');
}

export async function removeContainer(name: string): Promise<void> {
  await execa('podman', ['rm', '-f', '-t', '5', name], { reject: false, timeout: 30_000 });
}

export async function runPodman(args: string[], what: string, cwd?: string): Promise<string> {
  const r = await execa('podman', args, { reject: false, timeout: 120_000, all: true, ...(cwd ? { cwd } : {}) });
  if (r.exitCode !== 0) throw new ExternalError(`${what} failed: ${String(r.all ?? '').trim().split('\n').slice(-5).join(' | ')}`, 'Read the podman message above; `podman ps -a` shows the container.');
  return String(r.stdout);
}

/**
 * What went wrong in a Vault container, from its log, with the exact fix. These are the seed's
 * failures: key permissions, an entrypoint chown of read-only mounts, keep-id capability errors.
 */
export function diagnoseVaultLog(log: string, context: { keyFile: string; user: string; dataDir: string; listen: string }): OperatorError | undefined {
  if (/permission denied/i.test(log) && /(\.key|tls_key_file|private key)/i.test(log)) {
    return new OperatorError(`Vault cannot read its TLS key ${context.keyFile} as ${context.user} (permission denied).`, `Re-issue the files for that user: certwright vault-cert ... --owner ${context.user} --renew (or chown ${context.user} ${context.keyFile}; keep mode 0600).`);
  }
  if (/chown/i.test(log) && /(read-only|operation not permitted|permission denied)/i.test(log)) {
    return new OperatorError('The container\'s entrypoint tried to chown its mounted directories and failed.', `Set SKIP_CHOWN=true in the container environment (certwright's compose file does) and let certwright create ${context.dataDir} owned by ${context.user} on the host.`);
  }
  if (/(setcap|capabilit|cap_ipc_lock|operation not permitted)/i.test(log)) {
    return new OperatorError('The container failed on capabilities (a keep-id user namespace or a setcap entrypoint).', 'Do not use --userns=keep-id; run the container as the files\' uid:gid (compose `user:`), with SKIP_SETCAP=true and disable_mlock = true, as certwright renders it.');
  }
  if (/address already in use/i.test(log)) {
    return new OperatorError(`Vault cannot listen on ${context.listen}: the address is in use.`, 'Stop what listens there or render with another --listen.');
  }
  if (/permission denied/i.test(log) && /(file|storage|\/openbao\/file|data)/i.test(log)) {
    return new OperatorError(`Vault cannot write its storage directory as ${context.user}.`, `chown -R ${context.user} ${context.dataDir} (certwright creates it so when it renders).`);
  }
  return undefined;
}

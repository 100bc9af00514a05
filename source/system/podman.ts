import { runProbe, lastLine } from './run.js';

export { lastLine };
import { ExternalError, OperatorError } from '../errors.js';

/**
 * The one Podman module: every podman call certwright makes (vault-https's container, the hook's
 * reloads, status and doctor's reads), through the one process runner. Rootful or rootless:
 * whatever `podman` is for the user running certwright (CERTWRIGHT_PODMAN names another binary).
 */

function podmanBin(): string {
  return process.env.CERTWRIGHT_PODMAN || 'podman';
}

export async function podmanAvailable(): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const r = await runProbe(podmanBin(), ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 15_000 });
  if (r.error === 'ENOENT') return { ok: false, why: 'podman is not installed' };
  if (r.code !== 0) return { ok: false, why: `podman version failed: ${lastLine(r.stderr) || r.error || `exit ${r.code}`}` };
  return { ok: true, version: r.stdout.trim() };
}

export async function commandExists(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && (await import('node:fs')).existsSync(`${dir}/${cmd}`)) return true;
  }
  return false;
}

export interface ContainerInfo {
  running: boolean;
  status: string;
  pid: number;
  image: string;
}

export async function inspectContainer(name: string): Promise<ContainerInfo | undefined> {
  const r = await runProbe(podmanBin(), ['inspect', '--type', 'container', '--format', '{{.State.Running}}|{{.State.Status}}|{{.State.Pid}}|{{.ImageName}}', name], { timeoutMs: 15_000 });
  if (r.code !== 0) return undefined;
  const [running, status, pid, image] = r.stdout.trim().split('|');
  return { running: running === 'true', status: status ?? '', pid: Number(pid), image: image ?? '' };
}

export async function imageExists(image: string): Promise<boolean> {
  const r = await runProbe(podmanBin(), ['image', 'exists', image], { timeoutMs: 15_000 });
  return r.code === 0;
}

/** SIGHUP to the container's main process (PID 1): Vault/OpenBao re-reads its TLS files. */
/**
 * The plan's line for a container image that is not on this machine: said before anything runs,
 * since an air-gapped host has to load it first.
 */
export function pullNotice(image: string): string {
  return `Pull the image ${image}: it is not on this machine (offline: podman load -i FILE first, or pass --image LOCAL, or use --runtime process with the bao binary)`;
}

/** A container's bind mounts, destination -> host source; undefined when there is no such container. */
export async function containerMounts(name: string): Promise<Map<string, string> | undefined> {
  const r = await runProbe(podmanBin(), ['inspect', '--type', 'container', '--format', '{{range .Mounts}}{{.Destination}}={{.Source}}\n{{end}}', name], { timeoutMs: 15_000 });
  if (r.code !== 0) return undefined;
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

export async function hupContainer(name: string): Promise<void> {
  const r = await runProbe(podmanBin(), ['kill', '--signal', 'HUP', name], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new ExternalError(`podman kill --signal HUP ${name} failed: ${r.stderr.trim() || r.error}`, `Check the container with \`podman ps -a --filter name=${name}\`.`);
}

export async function containerLogs(name: string, tail = 40): Promise<string> {
  const r = await runProbe(podmanBin(), ['logs', '--tail', String(tail), name], { timeoutMs: 15_000 });
  return `${r.stdout}${r.stderr}`;
}

export async function removeContainer(name: string): Promise<void> {
  await runProbe(podmanBin(), ['rm', '-f', '-t', '5', name], { timeoutMs: 30_000 });
}

export async function runPodman(args: string[], what: string, cwd?: string): Promise<string> {
  const r = await runProbe(podmanBin(), args, { timeoutMs: 120_000, cwd });
  if (r.code !== 0) throw new ExternalError(`${what} failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ') || r.error}`, 'Read the podman message above; `podman ps -a` shows the container.');
  return r.stdout;
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

// The hook: tls=true containers, their reload, a signal.

export interface TlsContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface CommandOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export type ListResult = { available: true; containers: TlsContainer[] } | { available: false; reason: string };

export const TLS_LABEL = 'tls=true';
/** Issue 4's labels: the reload command and the endpoint a container serves TLS on. */
export const RELOAD_LABEL = 'tls.reload';
export const DEFAULT_RELOAD = 'nginx -s reload';
export const CHECK_LABELS = ['tls.check', 'tls.port'] as const;

export class Podman {
  constructor(
    readonly bin = podmanBin(),
    readonly timeoutMs = 30_000,
  ) {}

  /**
   * Running containers with tls=true and every extra LABEL=VALUE in `select` (podman ANDs repeated
   * label filters). Podman not installed is "unavailable", not an error: a host without containers
   * has nothing to reload.
   */
  async listTlsContainers(select: string[] = []): Promise<ListResult> {
    const filters = [TLS_LABEL, ...select].flatMap((l) => ['--filter', `label=${l}`]);
    const res = await runProbe(this.bin, ['ps', ...filters, '--format', 'json'], { timeoutMs: this.timeoutMs });
    if (res.error === 'ENOENT') return { available: false, reason: `${this.bin} is not installed (or not on PATH)` };
    if (res.error && res.code === -1) return { available: false, reason: `${this.bin} cannot be started: ${res.error}` };
    if (res.code !== 0) throw new PodmanError(`\`${this.bin} ps\` failed (exit ${res.code}): ${lastLine(res.stderr) || 'no message'}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.stdout || '[]');
    } catch {
      throw new PodmanError(`\`${this.bin} ps --format json\` printed something that is not JSON.`);
    }
    const list = Array.isArray(parsed) ? parsed : [];
    return {
      available: true,
      containers: list.map((c: { Id?: string; Names?: string[] | string; Labels?: Record<string, string> | null }) => ({
        id: String(c.Id ?? ''),
        name: Array.isArray(c.Names) ? String(c.Names[0] ?? c.Id) : String(c.Names ?? c.Id),
        labels: c.Labels ?? {},
      })),
    };
  }

  /** Each container's bind-mount sources (host paths), by id; empty for a container it cannot inspect. */
  async mountSources(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    const res = await runProbe(this.bin, ['container', 'inspect', '--format', '{{.Id}}{{range .Mounts}} {{.Source}}{{end}}', ...ids], { timeoutMs: this.timeoutMs });
    if (res.code !== 0 && !res.stdout.trim()) throw new PodmanError(`\`${this.bin} container inspect\` failed (exit ${res.code}): ${lastLine(res.stderr) || 'no message'}`);
    for (const line of res.stdout.split('\n').filter(Boolean)) {
      const [id, ...sources] = line.trim().split(' ');
      if (id) out.set(id, sources.filter(Boolean));
    }
    return out;
  }

  async exec(container: string, argv: string[]): Promise<CommandOutcome> {
    // No -t: a TTY merges stdout and stderr and can hang a pipe.
    const res = await runProbe(this.bin, ['exec', container, ...argv], { timeoutMs: this.timeoutMs });
    return res.error && res.code === -1 ? { code: res.error === 'ETIMEDOUT' ? 124 : -1, stdout: res.stdout, stderr: res.stderr || res.error } : { code: res.code, stdout: res.stdout, stderr: res.stderr };
  }

  async signal(container: string, signal: string): Promise<CommandOutcome> {
    const res = await runProbe(this.bin, ['kill', '--signal', signal, container], { timeoutMs: this.timeoutMs });
    return res.error && res.code === -1 ? { code: res.error === 'ETIMEDOUT' ? 124 : -1, stdout: res.stdout, stderr: res.stderr || res.error } : { code: res.code, stdout: res.stdout, stderr: res.stderr };
  }
}

export class PodmanError extends Error {}

/**
 * Does a container that bind-mounts `source` see `target`? Yes when the mount is the target, one
 * of its parent directories, or something inside it (a mounted current/ or versions/X).
 */
export function mountCovers(source: string, target: string): boolean {
  const s = source.replace(/\/+$/, '') || '/';
  const t = target.replace(/\/+$/, '') || '/';
  return s === t || s === '/' || t.startsWith(`${s}/`) || s.startsWith(`${t}/`);
}

export type ReloadAction = { kind: 'exec'; argv: string[]; display: string } | { kind: 'signal'; signal: string; display: string };

/**
 * The container's reload: the `tls.reload` label, else `nginx -s reload`. "signal:HUP" signals the
 * main process instead; a command with shell syntax (&&, |, ;, quotes, $) runs through sh -c.
 */
export function reloadActionFor(labels: Record<string, string>, label = RELOAD_LABEL, fallback = DEFAULT_RELOAD): ReloadAction {
  const raw = (labels[label] ?? '').trim() || fallback;
  const signal = /^signal:([A-Z0-9]+)$/i.exec(raw);
  if (signal) return { kind: 'signal', signal: signal[1]!.toUpperCase(), display: `podman kill --signal ${signal[1]!.toUpperCase()}` };
  if (/[&|;$`'"<>(){}\\]/.test(raw)) return { kind: 'exec', argv: ['sh', '-c', raw], display: raw };
  return { kind: 'exec', argv: raw.split(/\s+/), display: raw };
}

// Status and doctor: read-only listing and inspection.

/** A running container as `podman ps` lists it (status and doctor). */
export interface ListedContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  pid: number;
  state: string;
}

export interface ContainerDetail {
  id: string;
  name: string;
  user: string;
  pid: number;
  mounts: Array<{ source: string; destination: string; rw: boolean }>;
  networkMode: string;
}

export type Listed<T> = { ok: true; items: T[] } | { ok: false; reason: string };

export async function listContainers(options: { labels?: string[]; signal?: AbortSignal | undefined } = {}): Promise<Listed<ListedContainer>> {
  const filters = (options.labels ?? []).flatMap((l) => ['--filter', `label=${l}`]);
  const res = await runProbe(podmanBin(), ['ps', ...filters, '--format', 'json'], { timeoutMs: 20_000, signal: options.signal });
  if (res.error === 'ENOENT') return { ok: false, reason: 'podman is not installed on this machine' };
  if (res.code !== 0) return { ok: false, reason: `podman ps failed: ${lastLine(res.stderr) || res.error || `exit ${res.code}`}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.stdout || '[]');
  } catch {
    return { ok: false, reason: 'podman ps --format json printed something that is not JSON' };
  }
  const list = Array.isArray(parsed) ? (parsed as Array<Record<string, unknown>>) : [];
  return {
    ok: true,
    items: list.map((c) => ({
      id: String(c.Id ?? ''),
      name: Array.isArray(c.Names) ? String(c.Names[0] ?? c.Id) : String(c.Names ?? c.Id),
      image: String(c.Image ?? ''),
      labels: (c.Labels as Record<string, string> | null) ?? {},
      pid: Number(c.Pid ?? 0),
      state: String(c.State ?? ''),
    })),
  };
}

export async function inspectContainers(ids: string[], signal?: AbortSignal): Promise<Listed<ContainerDetail>> {
  if (ids.length === 0) return { ok: true, items: [] };
  const res = await runProbe(podmanBin(), ['container', 'inspect', ...ids], { timeoutMs: 20_000, signal });
  if (res.error === 'ENOENT') return { ok: false, reason: 'podman is not installed on this machine' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.stdout || '[]');
  } catch {
    return { ok: false, reason: `podman inspect failed: ${lastLine(res.stderr) || `exit ${res.code}`}` };
  }
  const list = Array.isArray(parsed) ? (parsed as Array<Record<string, any>>) : [];
  return {
    ok: true,
    items: list.map((c) => ({
      id: String(c.Id ?? ''),
      name: String(c.Name ?? '').replace(/^\//, ''),
      user: String(c.Config?.User ?? ''),
      pid: Number(c.State?.Pid ?? 0),
      mounts: (Array.isArray(c.Mounts) ? c.Mounts : []).map((m: Record<string, unknown>) => ({ source: String(m.Source ?? ''), destination: String(m.Destination ?? ''), rw: m.RW !== false })),
      networkMode: String(c.HostConfig?.NetworkMode ?? ''),
    })),
  };
}

export async function execIn(container: string, argv: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  const res = await runProbe(podmanBin(), ['exec', container, ...argv], { timeoutMs: 10_000, signal });
  return { code: res.code, stdout: res.stdout, stderr: res.stderr };
}

import { execFile } from 'node:child_process';

/**
 * The few Podman calls the hook needs: list the running containers that carry the TLS label,
 * run a reload command inside one, or signal its main process. One real implementation.
 */

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

export const DEFAULT_RELOAD = 'nginx -s reload';
export const RELOAD_LABEL = 'tls.reload';
export const TLS_LABEL = 'tls=true';

function run(file: string, args: string[], timeoutMs: number): Promise<CommandOutcome & { spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
        resolve({ code: -1, stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), spawnError: error as NodeJS.ErrnoException });
        return;
      }
      const code = error ? ((error as { code?: number }).code ?? ((error as { killed?: boolean }).killed ? 124 : 1)) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
  });
}

export class Podman {
  constructor(
    readonly bin = 'podman',
    readonly timeoutMs = 30_000,
  ) {}

  /**
   * Running containers with tls=true and every extra LABEL=VALUE in `select` (podman ANDs repeated
   * label filters). Podman not installed is "unavailable", not an error: a host without containers
   * has nothing to reload.
   */
  async listTlsContainers(select: string[] = []): Promise<ListResult> {
    const filters = [TLS_LABEL, ...select].flatMap((l) => ['--filter', `label=${l}`]);
    const res = await run(this.bin, ['ps', ...filters, '--format', 'json'], this.timeoutMs);
    if (res.spawnError?.code === 'ENOENT') return { available: false, reason: `${this.bin} is not installed (or not on PATH)` };
    if (res.spawnError) return { available: false, reason: `${this.bin} cannot be started: ${res.spawnError.message}` };
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

  async exec(container: string, argv: string[]): Promise<CommandOutcome> {
    // No -t: a TTY merges stdout and stderr and can hang a pipe.
    const res = await run(this.bin, ['exec', container, ...argv], this.timeoutMs);
    if (res.spawnError) return { code: -1, stdout: '', stderr: res.spawnError.message };
    return res;
  }

  async signal(container: string, signal: string): Promise<CommandOutcome> {
    const res = await run(this.bin, ['kill', '--signal', signal, container], this.timeoutMs);
    if (res.spawnError) return { code: -1, stdout: '', stderr: res.spawnError.message };
    return res;
  }
}

export class PodmanError extends Error {}

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

export function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
}

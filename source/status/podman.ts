import { runProbe, lastLine } from './run.js';

/**
 * Read-only Podman for status and doctor: running containers (all, or those labelled tls=true
 * and every extra LABEL=VALUE), and `podman inspect` for their mounts and user. Podman missing
 * or failing is an "unknown" with the reason, never an exception.
 */
export interface ContainerInfo {
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

export const TLS_LABEL = 'tls=true';
/** Issue 4's labels: the reload command and the endpoint a container serves TLS on. */
export const RELOAD_LABEL = 'tls.reload';
export const DEFAULT_RELOAD = 'nginx -s reload';
export const CHECK_LABELS = ['tls.check', 'tls.port'] as const;

function podmanBin(): string {
  return process.env.CERTWRIGHT_PODMAN || 'podman';
}

export async function listContainers(options: { labels?: string[]; signal?: AbortSignal | undefined } = {}): Promise<Listed<ContainerInfo>> {
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

import { execFile } from 'node:child_process';

/**
 * Runs a read-only probe command (systemctl, podman, getent) with a timeout and the caller's
 * AbortSignal. Never throws: a missing binary, a timeout or a non-zero exit come back as data,
 * because each of them is a reason a status section shows "unknown".
 */
export interface ProbeResult {
  code: number;
  stdout: string;
  stderr: string;
  /** ENOENT (not installed), ABORT_ERR, ETIMEDOUT, ... */
  error?: string;
}

export function runProbe(file: string, args: string[], options: { timeoutMs?: number; signal?: AbortSignal | undefined; env?: NodeJS.ProcessEnv } = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}), ...(options.env ? { env: options.env } : {}) },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
        const why = e.name === 'AbortError' ? 'ABORT_ERR' : e.killed ? 'ETIMEDOUT' : String(e.code ?? e.message);
        resolve({ code: -1, stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), error: why });
      },
    );
  });
}

export function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
}

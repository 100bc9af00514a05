import { execFile } from 'node:child_process';

/**
 * The one way certwright runs another program (podman, systemctl, getent, openssl): with a
 * timeout, the caller's AbortSignal, no shell, and output captured. It never throws: a missing
 * binary (ENOENT), a timeout (ETIMEDOUT), an abort or a non-zero exit come back as data, and each
 * caller decides what that means (status: "unknown"; a step: an error with its fix).
 */
export interface ProbeResult {
  code: number;
  stdout: string;
  stderr: string;
  /** ENOENT (not installed), ABORT_ERR, ETIMEDOUT, ... */
  error?: string;
}

export function runProbe(file: string, args: string[], options: { timeoutMs?: number; signal?: AbortSignal | undefined; env?: NodeJS.ProcessEnv; cwd?: string | undefined } = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}), ...(options.env ? { env: options.env } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) },
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

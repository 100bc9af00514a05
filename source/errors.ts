/**
 * One error hierarchy. Every error a user can see says what is wrong in the present tense and
 * names the next step. Rendered once, at the top (cli.ts).
 */
export class CertwrightError extends Error {
  readonly exitCode: number = 1;
}

/** The operator can fix this: bad input, missing file, wrong passphrase, refused overwrite. */
export class OperatorError extends CertwrightError {
  override readonly exitCode: number;
  constructor(
    message: string,
    readonly fix?: string,
    options: { cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Wrong command-line usage: unknown flag, missing required flag without a TTY. */
export class UsageError extends OperatorError {
  constructor(message: string, fix?: string) {
    super(message, fix, { exitCode: 2 });
  }
}

/** Something outside us failed: Vault, openssl, podman. Carries what we asked and what came back. */
export class ExternalError extends CertwrightError {
  override readonly exitCode = 3;
  /** The HTTP status when the failure is an answer from Vault (403, 503, ...). */
  readonly status: number | undefined;
  constructor(
    message: string,
    readonly fix?: string,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
}

/** A verification found the world different from what a completed step recorded. */
export class DriftError extends CertwrightError {
  override readonly exitCode = 4;
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** Another run holds the environment's lock. */
export class LockedError extends CertwrightError {
  override readonly exitCode = 5;
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** The operator cancelled (Ctrl-C, declined a confirmation). */
export class Cancelled extends CertwrightError {
  override readonly exitCode = 130;
  constructor(message = 'Cancelled. Nothing more was changed.') {
    super(message);
  }
}

/** A bug in certwright. */
export class BugError extends CertwrightError {
  override readonly exitCode = 70;
}

/**
 * A system error the operator can fix, found anywhere in the cause chain, as an OperatorError:
 * a full disk or quota (ENOSPC, EDQUOT) is never a "bug". Other errors are returned unchanged.
 */
export function explainSystemError(error: unknown): unknown {
  if (error instanceof CertwrightError) return error;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const errno = e as NodeJS.ErrnoException;
    if (errno.code === 'ENOSPC' || errno.code === 'EDQUOT') {
      const where = errno.path ? ` (writing ${errno.path})` : '';
      return new OperatorError(
        `No space left on the device${where}: ${errno.code === 'EDQUOT' ? 'the disk quota is used up' : 'the file system is full'}.`,
        `Free some space there (df -h${errno.path ? ` ${errno.path}` : ''}), or point --state-dir / CERTWRIGHT_HOME and the output flags at a file system with room; then run the same command again (it resumes).`,
        { cause: error },
      );
    }
  }
  return error;
}

export function fixOf(error: unknown): string | undefined {
  if (error instanceof OperatorError || error instanceof ExternalError || error instanceof DriftError || error instanceof LockedError) {
    return error.fix;
  }
  return undefined;
}

export function formatError(error: unknown, debug = false): string {
  const lines: string[] = [];
  if (error instanceof CertwrightError) {
    lines.push(`Error: ${error.message}`);
    const fix = fixOf(error);
    if (fix) lines.push(`Fix: ${fix}`);
  } else if (error instanceof Error) {
    lines.push(`Error: ${error.message}`);
    lines.push('This looks like a bug in certwright. Run again with CERTWRIGHT_DEBUG=1 and report the output.');
  } else {
    lines.push(`Error: ${String(error)}`);
  }
  if (debug && error instanceof Error) {
    lines.push('', error.stack ?? '');
    let cause = error.cause;
    while (cause) {
      lines.push('Caused by:', cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return lines.join('\n');
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CertwrightError ? error.exitCode : 70;
}

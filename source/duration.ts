import { UsageError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  y: 365 * 86400,
};

/**
 * Parses durations the way operators write them: "10y", "5y", "90d", "43800h", "30m", "3600s",
 * "1y6m" is NOT accepted (m is minutes, ambiguous); plain digits are seconds.
 */
export function parseDuration(text: string, flag = '--ttl'): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return inRange(Number(trimmed), text, flag);
  const re = /(\d+)([smhdwy])/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(trimmed)) !== null) {
    total += Number(match[1]) * (UNIT_SECONDS[match[2]!] ?? 0);
    consumed = re.lastIndex;
  }
  if (consumed !== trimmed.length || consumed === 0 || total <= 0) {
    throw new UsageError(
      `${flag} "${text}" is not a duration.`,
      `Write it as a number with a unit: s, m, h, d, w or y (for example ${flag} 10y, ${flag} 8760h, ${flag} 90d).`,
    );
  }
  return inRange(total, text, flag);
}

/**
 * The longest duration certwright accepts: 100 years. Vault and OpenBao keep durations as Go
 * time.Duration (at most about 292 years), and nothing certwright makes should outlive that.
 */
export const MAX_DURATION_SECONDS = 100 * UNIT_SECONDS.y!;

function inRange(seconds: number, text: string, flag: string): number {
  if (seconds <= 0) throw new UsageError(`${flag} "${text}" is zero; a duration must be positive.`, `Pass a positive duration, for example ${flag} 90d.`);
  if (!Number.isFinite(seconds) || seconds > MAX_DURATION_SECONDS) {
    throw new UsageError(`${flag} "${text}" is longer than 100y, the longest duration certwright accepts (Vault cannot hold it).`, `Pass ${flag} 100y or less, for example ${flag} 10y.`);
  }
  return seconds;
}

/** Seconds as Vault wants them: "Ns" is accepted by every Vault/OpenBao duration field. */
export function vaultDuration(seconds: number): string {
  return `${Math.floor(seconds)}s`;
}

export function humanDuration(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs >= 365 * 86400 && abs % (365 * 86400) === 0) return `${seconds / (365 * 86400)}y`;
  if (abs >= 86400 * 2) return `${Math.round(seconds / 86400)}d`;
  if (abs >= 3600) return `${Math.round(seconds / 3600)}h`;
  if (abs >= 60) return `${Math.round(seconds / 60)}m`;
  return `${seconds}s`;
}

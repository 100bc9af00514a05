import { OperatorError, ExternalError } from '../errors.js';
import { processCommand } from './ports.js';
import { inspectContainer, hupContainer } from './podman.js';
import { probeTls } from '../vault/tls-diagnosis.js';

/**
 * Reloading Vault after its certificate changed: SIGHUP to the server process or container, then
 * proof on the wire that it now presents the new certificate (no restart, no unseal).
 */

export interface ReloadTarget {
  pid?: number | undefined;
  container?: string | undefined;
}

export function describeTarget(target: ReloadTarget): string {
  return target.pid !== undefined ? `PID ${target.pid}` : `container ${target.container}`;
}

/** Checked in plan, before anything is written: the target exists and is a Vault server. */
export async function assertReloadTarget(target: ReloadTarget): Promise<void> {
  if (target.pid !== undefined) {
    const cmd = processCommand(target.pid);
    if (cmd === undefined) throw new OperatorError(`There is no process with PID ${target.pid} to reload.`, 'Pass --reload-pid with the PID of the running `bao server` (or vault server).');
    if (!/\b(bao|vault)\b.*\bserver\b/.test(cmd)) {
      throw new OperatorError(`PID ${target.pid} is not a Vault server (it runs "${cmd.slice(0, 100)}").`, 'Pass --reload-pid with the PID of the running `bao server` (or vault server).');
    }
  }
  if (target.container !== undefined) {
    const info = await inspectContainer(target.container);
    if (!info) throw new OperatorError(`There is no container named ${target.container}.`, 'Pass --reload-container with the name `podman ps` shows for Vault.');
    if (!info.running) throw new OperatorError(`The container ${target.container} is not running (${info.status}).`, `Start it first (certwright vault-https --start, or podman start ${target.container}).`);
  }
}

export async function sendReload(target: ReloadTarget): Promise<void> {
  if (target.pid !== undefined) {
    try {
      process.kill(target.pid, 'SIGHUP');
    } catch (error) {
      throw new ExternalError(`Cannot signal PID ${target.pid}: ${(error as Error).message}.`, 'Run as the user that runs Vault (or root).');
    }
  }
  if (target.container !== undefined) await hupContainer(target.container);
}

/** Polls (bounded) until addr presents a leaf with this fingerprint. */
export async function waitForFingerprint(addr: string, ca: string, fingerprint: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const probe = await probeTls(addr, ca, 3000);
      last = probe.fingerprint;
      if (probe.fingerprint === fingerprint) return last;
    } catch {
      /* not answering yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ExternalError(
    `Vault at ${addr} still presents ${last ? `the certificate ${last}` : 'nothing'} after the reload, not the new one (${fingerprint}).`,
    'Check that tls_cert_file points at fullchain.pem in the directory vault-cert wrote (certwright vault-https renders it so) and that the signal reached the server.',
  );
}

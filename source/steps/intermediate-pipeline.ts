import { VaultClient } from '../vault/client.js';
import { stepKey } from '../../state/schema.js';
import { exists } from '../system/files.js';
import type { KeyType } from '../pki/keys.js';
import type { Check } from '../pki/checks.js';
import type { EnvSession, Reporter } from './context.js';
import { applyIntermediateRequest, verifyIntermediateRequest, STEP_ID as REQUEST } from './intermediate-request.js';
import { applyIntermediateSign } from './intermediate-sign.js';
import { applyIntermediateInstall, verifyIntermediateInstall, STEP_ID as INSTALL } from './intermediate-install.js';
import type { RootUnlock } from './root-unlock.js';
import { verifyRootCreate, STEP_ID as ROOT } from './root-create.js';

export interface PipelineInput {
  mount: string;
  commonName: string;
  keyType: KeyType;
  maxTtlSeconds: number;
  rootDir: string;
  rootFile: string;
  csrFile: string;
  certFile: string;
  ttlSeconds?: number | undefined;
  pathLen: number;
  permittedDns?: string[] | undefined;
  permittedIps?: string[] | undefined;
  excludedDns?: string[] | undefined;
  crlUrl?: string | undefined;
  caIssuersUrl?: string | undefined;
  aiaBase?: string | undefined;
  vaultTlsDir?: string | undefined;
}

/** Re-verifies every completed step this flow depends on, before going on. */
export async function verifyCompleted(session: EnvSession, vault: VaultClient, mount: string): Promise<Check[]> {
  const checks: Check[] = [];
  if (session.state.steps[ROOT]?.status === 'done') checks.push(...(await verifyRootCreate(session)));
  if (session.state.steps[stepKey(REQUEST, mount)]?.status === 'done') checks.push(...(await verifyIntermediateRequest(session, vault, mount)));
  if (session.state.steps[stepKey(INSTALL, mount)]?.status === 'done') checks.push(...(await verifyIntermediateInstall(session, vault, mount)));
  return checks;
}

/** request -> sign -> install, each skipped when already done, so a killed run resumes. */
export async function runIntermediatePipeline(session: EnvSession, vault: VaultClient, input: PipelineInput, unlock: RootUnlock, report: Reporter) {
  const installed = session.state.steps[stepKey(INSTALL, input.mount)];
  if (installed?.status === 'done') {
    report.info(`The intermediate for ${input.mount}/ is already installed and verified.`);
    return { issuerId: String(installed.facts.issuerId), fingerprint: String(installed.facts.intermediateFingerprint), alreadyInstalled: true };
  }
  const requested = session.state.steps[stepKey(REQUEST, input.mount)];
  if (requested?.status !== 'done' || !(await exists(input.csrFile))) {
    await applyIntermediateRequest(session, vault, { mount: input.mount, commonName: input.commonName, keyType: input.keyType, maxTtlSeconds: input.maxTtlSeconds, csrOut: input.csrFile }, report);
  } else {
    report.info(`Using the pending CSR ${input.csrFile}`);
  }
  await applyIntermediateSign({ rootDir: input.rootDir, csrFile: input.csrFile, outFile: input.certFile, ttlSeconds: input.ttlSeconds, pathLen: input.pathLen, permittedDns: input.permittedDns, permittedIps: input.permittedIps, excludedDns: input.excludedDns, crlUrl: input.crlUrl, caIssuersUrl: input.caIssuersUrl, mount: input.mount }, unlock, report, session);
  const result = await applyIntermediateInstall(session, vault, { mount: input.mount, certFile: input.certFile, rootFile: input.rootFile, aiaBase: input.aiaBase, vaultTlsDir: input.vaultTlsDir }, report);
  return { issuerId: result.issuerId, fingerprint: result.fingerprint, alreadyInstalled: false };
}

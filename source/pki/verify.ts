import { X509Certificate } from 'node:crypto';
import { caFacts } from './certs.js';

import { check, type Check } from './checks.js';

// Named checks live in ./checks.js (no certificate library behind them); re-exported for callers.
export { check, allOk, failed, type Check } from './checks.js';

/**
 * Verifies leaf -> intermediates -> root with Node's X509Certificate: issuer names, signatures,
 * validity at `at`, CA flags and path-length constraints. Returns named checks, never throws.
 */
export function verifyChain(chain: X509Certificate[], root: X509Certificate, at = new Date()): Check[] {
  const checks: Check[] = [];
  const all = [...chain, root];
  checks.push(check('root is self-signed', root.checkIssued(root) && root.verify(root.publicKey), root.subject.replace(/\n/g, ', ')));
  for (let i = 0; i < all.length - 1; i += 1) {
    const child = all[i]!;
    const parent = all[i + 1]!;
    const label = `${cn(child)} <- ${cn(parent)}`;
    checks.push(check(`issued by: ${label}`, child.checkIssued(parent), child.issuer.replace(/\n/g, ', ')));
    checks.push(check(`signature: ${label}`, safeVerify(child, parent), 'signature checked with the issuer key'));
    const parentFacts = caFacts(parent);
    checks.push(check(`issuer is a CA: ${cn(parent)}`, parentFacts.isCa, parentFacts.isCa ? 'basicConstraints CA:true' : 'basicConstraints CA:false or missing'));
    // pathLen of parent limits the number of CA certificates below it.
    const casBelow = chain.slice(0, i + 1).filter((c) => caFacts(c).isCa).length;
    if (parentFacts.pathLen !== undefined) {
      checks.push(check(`path length: ${cn(parent)}`, casBelow <= parentFacts.pathLen, `pathlen ${parentFacts.pathLen}, ${casBelow} CA below`));
    }
  }
  for (const cert of all) {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    checks.push(check(`valid now: ${cn(cert)}`, from <= at && at <= to, `${from.toISOString()} .. ${to.toISOString()}`));
  }
  return checks;
}

function safeVerify(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function cn(cert: X509Certificate): string {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  return m ? m[1]! : cert.subject.replace(/\n/g, ', ');
}


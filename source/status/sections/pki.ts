import { daysUntil, expiryLevel, warnAtDays, worst, type IssuerEntry, type Level, type MountEntry, type PkiSection, type VaultSection } from '../types.js';
import type { StatusContext } from '../context.js';
import { mountsOf } from '../estate.js';
import { parsePemCertificates, isSelfSigned, subjectLine } from '../cert-files.js';
import type * as Reads from '../vault-reads.js';

/**
 * PKI, per mount the environment knows (state) or --mount names: issuers (unauthenticated
 * listing), the default issuer, each issuer's expiry and whether it is a root, the AIA/CRL URLs
 * (still http while Vault is on HTTPS?), role names, and keys no issuer uses (orphans).
 */
export async function pkiSection(ctx: StatusContext, vault: VaultSection): Promise<PkiSection> {
  const mounts = [...new Set([...mountsOf(ctx.state), ...ctx.options.mounts])].sort();
  if (mounts.length === 0) return { state: 'unknown', reason: ctx.selection.stateReason ?? 'no PKI mount is recorded for this environment (pass --mount)', mounts: [] };
  if (!ctx.vault || vault.reachable === false) return { state: 'unknown', reason: `Vault is not reachable: ${vault.reason ?? ctx.vaultReason ?? ''}`.trim(), mounts: mounts.map((m) => emptyMount(m, 'Vault is not reachable')) };
  if (vault.sealed) return { state: 'unknown', reason: 'Vault is sealed', mounts: mounts.map((m) => emptyMount(m, 'Vault is sealed')) };
  const reads = await import('../vault-reads.js');
  const entries = await Promise.all(mounts.map((m) => mountEntry(ctx, reads, m, vault.https === true)));
  return { state: worst(entries.map((e) => e.state), 'unknown'), ...(entries.some((e) => e.state !== 'ok') ? { reason: entries.filter((e) => e.state !== 'ok').map((e) => `${e.path}: ${e.reason}`).join('; ') } : {}), mounts: entries };
}

function emptyMount(path: string, reason: string): MountEntry {
  return { path, state: 'unknown', reason, maxLeaseTtlSeconds: null, defaultIssuer: null, issuers: [], urls: null, roles: null, keys: null };
}

async function mountEntry(ctx: StatusContext, reads: typeof Reads, mount: string, vaultHttps: boolean): Promise<MountEntry> {
  const vault = ctx.vault!;
  const [listing, keys, roles, urls, maxTtl] = await Promise.all([reads.listIssuers(vault, mount), reads.listKeys(vault, mount), reads.listRoles(vault, mount), reads.readUrls(vault, mount), reads.mountMaxTtl(vault, mount)]);
  if (!listing.ok) return emptyMount(mount, listing.reason);
  const levels: Level[] = [];
  const reasons: string[] = [];
  const issuers: IssuerEntry[] = [];
  for (const i of listing.value) {
    const pem = await reads.issuerCertificate(vault, mount, i.id);
    if (!pem.ok) {
      issuers.push({ id: i.id, name: i.name, subject: '', notAfter: '', daysLeft: 0, isRoot: false, isDefault: i.isDefault, keyId: i.keyId, state: 'unknown', reason: pem.reason });
      continue;
    }
    const cert = parsePemCertificates(pem.value)[0];
    if (!cert) continue;
    const daysLeft = daysUntil(new Date(cert.validTo), ctx.now);
    const warnAt = warnAtDays(ctx.options.warnDays, cert.validFrom, cert.validTo);
    const state = expiryLevel(daysLeft, warnAt);
    const isRoot = isSelfSigned(cert);
    const label = `${isRoot ? 'root' : 'issuer'} ${i.name || i.id.slice(0, 8)}`;
    issuers.push({
      id: i.id,
      name: i.name,
      subject: subjectLine(cert),
      notAfter: new Date(cert.validTo).toISOString(),
      daysLeft,
      warnAtDays: warnAt,
      isRoot,
      isDefault: i.isDefault,
      keyId: i.keyId,
      state,
      ...(state !== 'ok' ? { reason: daysLeft < 0 ? `${label} expired on ${new Date(cert.validTo).toISOString()}` : `${label} expires in ${daysLeft} days` } : {}),
    });
  }
  const defaultIssuer = issuers.find((i) => i.isDefault)?.id ?? null;
  // An expired issuer that is not the default is history, not a failure.
  for (const i of issuers) {
    if (i.isDefault || i.state === 'warn' || !i.reason) levels.push(i.state);
    if (i.reason && (i.isDefault || i.state === 'warn')) reasons.push(i.reason);
  }
  if (issuers.length === 0) {
    levels.push('fail');
    reasons.push('the mount has no issuer');
  } else if (!defaultIssuer) {
    levels.push('fail');
    reasons.push('no default issuer is set');
  }
  let urlsOut: MountEntry['urls'] = null;
  if (urls.ok) {
    const all = [...urls.value.issuingCertificates, ...urls.value.crlDistributionPoints];
    const http = all.some((u) => /^http:/i.test(u));
    urlsOut = { ...urls.value, http };
    if (http && vaultHttps) {
      levels.push('warn');
      reasons.push('AIA/CRL URLs are still http although Vault serves HTTPS');
    }
  }
  let keysOut: MountEntry['keys'] = null;
  if (keys.ok) {
    const used = new Set(issuers.map((i) => i.keyId).filter(Boolean));
    const orphans = keys.value.filter((k) => !used.has(k));
    keysOut = { total: keys.value.length, orphans };
    if (orphans.length) {
      levels.push('warn');
      reasons.push(`${orphans.length} key(s) no issuer uses`);
    }
  }
  const unknownParts = [!keys.ok && `keys: ${keys.reason}`, !roles.ok && `roles: ${roles.reason}`, !urls.ok && `URLs: ${urls.reason}`].filter(Boolean);
  const state = worst(levels, 'unknown');
  return {
    path: mount,
    state,
    ...(reasons.length || unknownParts.length ? { reason: [...reasons, ...(unknownParts as string[])].join('; ') } : {}),
    maxLeaseTtlSeconds: maxTtl.ok ? maxTtl.value : null,
    defaultIssuer,
    issuers,
    urls: urlsOut,
    roles: roles.ok ? roles.value : null,
    keys: keysOut,
  };
}

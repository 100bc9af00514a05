import { daysUntil, expiryLevel, warnAtDays, worst, type IssuerEntry, type Level, type MountEntry, type PkiSection, type RootCrlEntry, type VaultSection } from '../types.js';
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
  const defaultPem = defaultIssuer ? await reads.issuerCertificate(vault, mount, defaultIssuer) : undefined;
  const defaultCert = defaultPem?.ok ? parsePemCertificates(defaultPem.value)[0] : undefined;
  const rootCrl = defaultCert ? await rootCrlEntry(ctx, defaultCert) : undefined;
  if (rootCrl && rootCrl.state !== 'ok') {
    levels.push(rootCrl.state === 'unknown' ? 'warn' : rootCrl.state);
    reasons.push(rootCrl.reason ?? 'root CRL');
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
    ...(rootCrl ? { rootCrl } : {}),
  };
}

/** A root CRL is re-signed offline, by hand: warn a week ahead (or inside --warn-days when shorter). */
const ROOT_CRL_WARN_DAYS = 7;

/**
 * The root's CRL as relying parties see it: fetched from the intermediate's CRL distribution point,
 * its signature checked against the environment's root, its nextUpdate against now.
 */
export async function rootCrlEntry(ctx: StatusContext, cert: import('node:crypto').X509Certificate): Promise<RootCrlEntry | undefined> {
  const { crlDistributionUrls, readCrlLite } = await import('../../pki/crl-lite.js');
  let urls: string[];
  try {
    urls = crlDistributionUrls(cert);
  } catch {
    return undefined;
  }
  const url = urls.find((u) => /^https?:/i.test(u));
  if (!url) return undefined;
  const empty = { url, number: null, nextUpdate: null, daysLeft: null };
  let body: Buffer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return { ...empty, state: 'fail', reason: `the root CRL at ${url} is missing (HTTP ${res.status})` };
    body = Buffer.from(await res.arrayBuffer());
  } catch (error) {
    return { ...empty, state: 'fail', reason: `the root CRL at ${url} cannot be fetched (${(error as Error).message})` };
  }
  let facts;
  try {
    facts = readCrlLite(body);
  } catch {
    return { ...empty, state: 'fail', reason: `${url} does not hold a CRL` };
  }
  const nextUpdate = facts.nextUpdate ? facts.nextUpdate.toISOString() : null;
  const daysLeft = facts.nextUpdate ? daysUntil(facts.nextUpdate, ctx.now) : null;
  const base = { url, number: facts.number ?? null, nextUpdate, daysLeft };
  if (ctx.root && !facts.signedBy(ctx.root.cert)) return { ...base, state: 'fail', reason: `the CRL at ${url} is not signed by the environment's root` };
  if (!facts.nextUpdate) return { ...base, state: 'warn', reason: `the root CRL at ${url} has no nextUpdate` };
  if (facts.nextUpdate.getTime() <= ctx.now.getTime()) return { ...base, state: 'fail', reason: `the root CRL at ${url} lapsed on ${nextUpdate}: validators that check revocation refuse every chain through it` };
  if (daysLeft !== null && daysLeft < Math.min(ROOT_CRL_WARN_DAYS, ctx.options.warnDays ?? ROOT_CRL_WARN_DAYS)) return { ...base, state: 'warn', reason: `the root CRL at ${url} lapses in ${daysLeft} day(s) (${nextUpdate})` };
  return { ...base, state: ctx.root ? 'ok' : 'unknown', ...(ctx.root ? {} : { reason: 'no root is known to check the CRL\'s signature' }) };
}

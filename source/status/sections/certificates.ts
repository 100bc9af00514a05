import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { daysUntil, expiryLevel, warnAtDays, windowText, worst, WORST_FIRST, type CertificateEntry, type CertificatesSection, type EventEntry, type Level } from '../types.js';
import type { StatusContext } from '../context.js';
import { certificateArtefacts } from '../estate.js';
import type { readAgentConfig as ReadAgentConfig } from '../agent-config.js';
import { readCertFile, readKeyFile, keyMatches, isSelfSigned, chainToRoot, poolOf, subjectLine, sansOf, scanCertDir, keyCandidates, fileExists } from '../cert-files.js';

/**
 * Every leaf and chain file certwright manages — the state's certificate artefacts (root,
 * intermediates, Vault's server certificate), each agent's TLS directory (issue 4: cert.pem and
 * chain.pem through the `current` link) and proxy CA file — plus --cert-dir extras. For each:
 * subject, SANs, days left, whether the key beside it matches, whether it chains to the
 * environment's root, and whether it is still what certwright (or the agent) last wrote.
 */

interface Target {
  path: string;
  source: string;
  keyFile?: string;
  /** sha256 certwright recorded when it wrote the file. */
  sha256?: string;
  /** The agent's own last render (template destination), to compare the leaf with. */
  agentRender?: string;
  workload?: string;
}

function targets(ctx: StatusContext, readAgentConfig: typeof ReadAgentConfig | undefined): { list: Target[]; notes: string[] } {
  const list: Target[] = [];
  const notes: string[] = [];
  for (const f of certificateArtefacts(ctx.state)) list.push({ path: f.path, source: f.source, ...(f.keyFile ? { keyFile: f.keyFile } : {}), ...(f.sha256 ? { sha256: f.sha256 } : {}) });
  for (const a of ctx.agents) {
    if (a.tlsDir) {
      const cfg = readAgentConfig!(a.config);
      // The template that renders the key is the agent's last write (issue 4: leaf-cache.pem); when its
      // source cannot be read, an app agent's first destination is that file.
      const templates = cfg.ok ? cfg.config.templates : [];
      const render = (templates.find((t) => t.rendersKey && t.destination) ?? (a.kind === 'app' ? templates.find((t) => t.destination) : undefined))?.destination;
      const source = `agent-${a.kind}/${a.name}`;
      list.push({ path: path.join(a.tlsDir, 'cert.pem'), source, keyFile: path.join(a.tlsDir, 'key.pem'), ...(render ? { agentRender: render } : {}), workload: `${a.kind}/${a.name}` });
      list.push({ path: path.join(a.tlsDir, 'chain.pem'), source });
    }
    if (a.caOut) list.push({ path: a.caOut, source: `agent-${a.kind}/${a.name}` });
  }
  for (const dir of ctx.options.certDirs) {
    const scan = scanCertDir(dir);
    if (scan.error) notes.push(scan.error);
    for (const file of scan.files) list.push({ path: file, source: `--cert-dir ${dir}` });
  }
  const seen = new Set<string>();
  return { list: list.filter((t) => (seen.has(t.path) ? false : (seen.add(t.path), true))), notes };
}

/**
 * What reads each file, as far as certwright knows it from what it set up: Vault's listener (the
 * vault-https step), each agent's `vault { ca_cert }`, an app's TLS directory, a proxy's CA file,
 * the Vault CA file in state and the environment's root. A file nobody is known to read gets none.
 */
function readers(ctx: StatusContext, readAgentConfig: typeof ReadAgentConfig | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (file: string | undefined, reader: string) => {
    if (!file) return;
    const list = out.get(path.resolve(file)) ?? [];
    if (!list.includes(reader)) list.push(reader);
    out.set(path.resolve(file), list);
  };
  const https = ctx.state?.steps['vault-https'];
  if (https?.status === 'done' && typeof https.facts.tlsDir === 'string') add(path.join(https.facts.tlsDir, 'fullchain.pem'), `Vault's HTTPS listener (its tls_cert_file${typeof https.facts.apiAddr === 'string' ? `, serving ${https.facts.apiAddr}` : ''})`);
  if (ctx.state?.vault?.caFile) add(ctx.state.vault.caFile, "certwright's Vault connection (the CA file recorded in state)");
  if (ctx.root) add(ctx.root.file, "status and doctor (the environment's root)");
  for (const a of ctx.agents) {
    const who = `${a.kind} ${a.name}`;
    if (a.tlsDir) {
      add(path.join(a.tlsDir, 'cert.pem'), `${who}'s server (through ${path.join(a.tlsDir, 'current')}; the hook swaps it in)`);
      add(path.join(a.tlsDir, 'chain.pem'), `${who}'s server (through ${path.join(a.tlsDir, 'current')}; the hook swaps it in)`);
    }
    if (a.caOut) add(a.caOut, `${who}'s clients (the CA chain they are given)`);
    const cfg = readAgentConfig?.(a.config);
    if (!cfg?.ok) continue;
    if (cfg.config.vault.caCert) add(cfg.config.vault.caCert, `the bao agent of ${who} (Vault's CA: ca_cert in ${a.config})`);
    // The hook the agent runs checks each render against its pinned root (hook --trust FILE).
    for (const t of cfg.config.templates) {
      const at = t.command?.indexOf('--trust') ?? -1;
      if (at >= 0 && t.command![at + 1]) add(t.command![at + 1], `the hook of ${who} (the pinned root each render must chain to)`);
    }
  }
  return out;
}

export async function certificatesSection(ctx: StatusContext, lastWritten: Map<string, EventEntry>): Promise<CertificatesSection> {
  const reader = ctx.agents.length ? (await import('../agent-config.js')).readAgentConfig : undefined;
  const { list, notes } = targets(ctx, reader);
  const readBy = readers(ctx, reader);
  const readersOf = (file: string) => readBy.get(path.resolve(file)) ?? [];
  const counts = { total: 0, ok: 0, expiring: 0, expired: 0, failing: 0, unreadable: 0 };
  if (list.length === 0) return { state: 'unknown', reason: notes.join('; ') || ctx.selection.stateReason || 'no certificate file is recorded for this environment (pass --cert-dir DIR)', certificates: [], counts };
  // Pass 1: read every file (cached); CA certificates from all of them form the path-building pool.
  const reads = list.map((t) => ({ t, read: readCertFile(t.path) }));
  const cas: X509Certificate[] = [];
  for (const r of reads) if (r.read.ok) for (const c of r.read.file.certs) if (c.ca) cas.push(c);
  if (ctx.root) cas.push(ctx.root.cert);
  const pool = poolOf(cas);
  const warnDays = ctx.options.warnDays;
  const certificates: CertificateEntry[] = [];
  for (const { t, read } of reads) {
    counts.total += 1;
    if (!read.ok) {
      // A TLS dir's chain.pem that was never written is not a second failure next to cert.pem.
      if (read.missing && t.path.endsWith('chain.pem') && reads.some((r) => r.t.source === t.source && r.t.path !== t.path && !r.read.ok)) {
        counts.total -= 1;
        continue;
      }
      counts.unreadable += 1;
      certificates.push({ path: t.path, source: t.source, role: 'leaf', subject: '', sans: [], notAfter: '', daysLeft: 0, fingerprint: '', count: 0, keyFile: t.keyFile ?? null, keyMatches: null, chainVerifies: null, sameAsWritten: null, state: 'fail', reason: read.reason, readBy: readersOf(t.path), holds: [], alsoIn: [] });
      continue;
    }
    const certs = read.file.certs;
    const first = certs[0]!;
    const role: CertificateEntry['role'] = !first.ca ? 'leaf' : certs.length > 1 ? 'chain' : isSelfSigned(first) ? 'root' : 'intermediate';
    const levels: Level[] = [];
    const reasons: string[] = [];
    const daysLeft = daysUntil(new Date(first.validTo), ctx.now);
    const warnAt = warnAtDays(warnDays, first.validFrom, first.validTo);
    const exp = expiryLevel(daysLeft, warnAt);
    levels.push(exp);
    if (exp === 'fail') {
      counts.expired += 1;
      reasons.push(`expired on ${new Date(first.validTo).toISOString()}`);
    } else if (exp === 'warn') {
      counts.expiring += 1;
      reasons.push(`expires in ${daysLeft} days, ${windowText(warnDays, warnAt)}`);
    }
    // Chain files: every certificate in them counts, the soonest expiry too.
    if (role === 'chain') {
      for (const c of certs.slice(1)) {
        const d = daysUntil(new Date(c.validTo), ctx.now);
        const l = expiryLevel(d, warnAtDays(warnDays, c.validFrom, c.validTo));
        if (l !== 'ok') {
          levels.push(l);
          reasons.push(`${subjectLine(c)} ${d < 0 ? 'expired' : `expires in ${d} days`}`);
        }
      }
    }
    const entry: CertificateEntry = {
      path: t.path,
      source: t.source,
      role,
      subject: subjectLine(first),
      sans: role === 'leaf' ? sansOf(first) : [],
      notAfter: new Date(first.validTo).toISOString(),
      daysLeft,
      warnAtDays: warnAt,
      fingerprint: first.fingerprint256,
      count: certs.length,
      keyFile: null,
      keyMatches: null,
      chainVerifies: null,
      sameAsWritten: null,
      state: 'unknown',
      readBy: readersOf(t.path),
      holds: certs.map((c) => ({ subject: subjectLine(c), ca: c.ca, notAfter: new Date(c.validTo).toISOString(), daysLeft: daysUntil(new Date(c.validTo), ctx.now), fingerprint: c.fingerprint256 })),
      alsoIn: [],
    };
    if (role === 'leaf') {
      const keyFile = t.keyFile ?? keyCandidates(t.path).find(fileExists);
      if (keyFile) {
        entry.keyFile = keyFile;
        const key = readKeyFile(keyFile);
        if (key.ok) {
          entry.keyMatches = keyMatches(first, key.key);
          if (!entry.keyMatches) {
            levels.push('fail');
            reasons.push(`the key ${keyFile} does not match this certificate`);
          }
        } else reasons.push(`key not checked: ${key.reason}`);
      }
    }
    if (ctx.root) {
      if (role === 'root') {
        entry.chainVerifies = first.fingerprint256 === ctx.root.cert.fingerprint256;
        if (!entry.chainVerifies) {
          levels.push('fail');
          reasons.push(`this root is not the environment's root (${ctx.root.file})`);
        }
      } else {
        const res = chainToRoot(first, pool, ctx.root.cert, ctx.now);
        entry.chainVerifies = res.ok;
        if (!res.ok) {
          entry.chainError = res.reason;
          levels.push('fail');
          reasons.push(`does not chain to the environment's root: ${res.reason}`);
        }
      }
    } else entry.chainError = ctx.rootReason ?? 'no environment root is known';
    if (t.sha256) {
      entry.sameAsWritten = t.sha256 === read.file.sha256;
      entry.sameAsWrittenDetail = entry.sameAsWritten ? 'identical to what certwright wrote' : 'changed since certwright wrote it (sha256 differs from the state record)';
    } else if (t.agentRender) {
      const rendered = readCertFile(t.agentRender);
      if (rendered.ok) {
        const leaf = rendered.file.certs.find((c) => !c.ca);
        entry.sameAsWritten = leaf ? leaf.fingerprint256 === first.fingerprint256 : null;
        entry.sameAsWrittenDetail = entry.sameAsWritten ? `the agent's last render (${t.agentRender}) holds this certificate` : `the agent's last render (${t.agentRender}) holds another certificate; the hook has not swapped it in`;
      } else {
        const ev = t.workload ? lastWritten.get(t.workload) : undefined;
        if (ev?.fingerprint) {
          entry.sameAsWritten = ev.fingerprint === first.fingerprint256;
          entry.sameAsWrittenDetail = entry.sameAsWritten ? `the hook's last ${ev.event} event (${ev.time}) wrote this certificate` : `the hook's last ${ev.event} event (${ev.time}) wrote ${ev.fingerprint}`;
        } else entry.sameAsWrittenDetail = rendered.reason;
      }
    }
    if (entry.sameAsWritten === false) {
      levels.push('warn');
      reasons.push(entry.sameAsWrittenDetail!);
    }
    entry.state = worst(levels);
    if (entry.state === 'ok') counts.ok += 1;
    if (entry.state === 'fail' && exp !== 'fail') counts.failing += 1;
    if (reasons.length) entry.reason = reasons.join('; ');
    certificates.push(entry);
  }
  // One certificate in several files (a leaf and its fullchain, the root and each agent's copy): each file says where else it is.
  for (const c of certificates) if (c.fingerprint) c.alsoIn = certificates.filter((o) => o !== c && o.fingerprint === c.fingerprint).map((o) => o.path);
  // Worst first, then soonest expiry: the order every view shows (screen, --format text, JSON).
  certificates.sort((a, b) => WORST_FIRST[a.state] - WORST_FIRST[b.state] || a.daysLeft - b.daysLeft || a.path.localeCompare(b.path));
  const bad = certificates.filter((c) => c.state !== 'ok').length;
  return {
    state: worst(certificates.map((c) => c.state), 'unknown'),
    ...(bad || notes.length ? { reason: [bad ? `${bad} of ${certificates.length} need attention` : '', ...notes].filter(Boolean).join('; ') } : {}),
    certificates,
    counts,
  };
}


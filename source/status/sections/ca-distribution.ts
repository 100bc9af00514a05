import path from 'node:path';
import { worst, type CaDistributionSection, type TrustEntry } from '../types.js';
import type { StatusContext } from '../context.js';
import { serviceUsers } from '../estate.js';
import { readCertFile, subjectLine } from '../cert-files.js';

/**
 * CA distribution: per service user (issue 4's agents' users and --users), whether the trust file
 * distribute-ca writes (~USER/.config/certwright/ca.pem, or --trust-path) holds the environment's
 * root; per agent, whether the CA its config trusts for Vault (vault { ca_cert }) holds it.
 */
export async function caDistributionSection(ctx: StatusContext): Promise<CaDistributionSection> {
  const users = serviceUsers(ctx.agents, ctx.options.users);
  const readAgentConfig = ctx.agents.length ? (await import('../agent-config.js')).readAgentConfig : undefined;
  const agentCas = ctx.agents.map((a) => ({ a, cfg: readAgentConfig!(a.config) })).filter((x) => x.cfg.ok && x.cfg.config.vault.caCert);
  if (!ctx.root) return { state: 'unknown', reason: ctx.rootReason ?? 'no environment root is known', root: null, entries: [] };
  const root = { file: ctx.root.file, fingerprint: ctx.root.cert.fingerprint256, subject: subjectLine(ctx.root.cert) };
  if (users.length === 0 && agentCas.length === 0) return { state: 'unknown', reason: 'no service user or agent CA file to check (pass --users U1,U2)', root, entries: [] };
  const entries: TrustEntry[] = [];
  const { userHome } = await import('../users.js');
  for (const user of users) {
    const home = await userHome(user, ctx.signal);
    if (!home.ok) {
      entries.push({ subject: `user:${user}`, file: '', state: 'fail', matches: null, reason: home.reason });
      continue;
    }
    entries.push(compare(`user:${user}`, path.join(home.home, ctx.options.trustPath), ctx, 'distribute it: certwright distribute-ca --ca ROOT --users ' + user));
  }
  for (const { a, cfg } of agentCas) {
    if (!cfg.ok) continue;
    entries.push(compare(`agent:${a.name}`, cfg.config.vault.caCert!, ctx, `point vault { ca_cert } of ${a.config} at the environment's root`));
  }
  const bad = entries.filter((e) => e.state !== 'ok');
  return { state: worst(entries.map((e) => e.state), 'unknown'), ...(bad.length ? { reason: bad.map((e) => `${e.subject}: ${e.reason}`).join('; ') } : {}), root, entries };
}

function compare(subject: string, file: string, ctx: StatusContext, next: string): TrustEntry {
  const read = readCertFile(file);
  if (!read.ok) return { subject, file, state: 'fail', matches: false, reason: read.missing ? `${file} does not exist; ${next}` : read.reason };
  const want = ctx.root!.cert.fingerprint256;
  if (read.file.certs.some((c) => c.fingerprint256 === want)) return { subject, file, state: 'ok', matches: true };
  const first = read.file.certs[0]!;
  return { subject, file, state: 'fail', matches: false, reason: `${file} has drifted: it holds ${subjectLine(first)} (${first.fingerprint256}), not the environment's root; ${next}` };
}

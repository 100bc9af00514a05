import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes, type X509Certificate } from 'node:crypto';
import { parseCertificates, certPem } from '../pki/pem.js';
import { subjectHash } from '../pki/subject-hash.js';
import { commonNameOf } from '../pki/chain.js';
import { writeFileAtomic, ensureDir, readTextFile } from '../system/files.js';
import { OperatorError } from '../errors.js';
import type { Plan } from './context.js';

/**
 * hashdir (offline) — an OpenSSL -CApath directory.
 * plan reads: every certificate in the given files (bundles are split), the directory's existing
 *   <hash>.N links.
 * apply writes: one PEM file per certificate (0644, named after its CN and fingerprint) and a
 *   symlink <subject_hash>.<N> to it, N counting up on hash collisions; a certificate already
 *   linked is left alone, so a second run changes nothing.
 */
export const STEP_ID = 'hashdir';

export interface HashdirEntry {
  hash: string;
  link: string;
  file: string;
  subject: string;
  fingerprint: string;
  added: boolean;
}

function fileNameFor(cert: X509Certificate): string {
  const cn = (commonNameOf(cert) ?? 'certificate').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'certificate';
  return `${cn}-${cert.fingerprint256.replace(/:/g, '').slice(0, 12).toLowerCase()}.pem`;
}

async function readCerts(files: string[]): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    for (const cert of parseCertificates(await readTextFile(file, 'FILES'), file)) {
      if (seen.has(cert.fingerprint256)) continue;
      seen.add(cert.fingerprint256);
      out.push(cert);
    }
  }
  return out;
}

/** The fingerprint each existing <hash>.N link points at (unreadable links count as taken). */
function existingLinks(dir: string): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  if (!fs.existsSync(dir)) return map;
  for (const name of fs.readdirSync(dir)) {
    if (!/^[0-9a-f]{8}\.\d+$/.test(name)) continue;
    try {
      const cert = parseCertificates(fs.readFileSync(path.join(dir, name), 'utf8'), name)[0]!;
      map.set(name, cert.fingerprint256);
    } catch {
      map.set(name, undefined);
    }
  }
  return map;
}

export async function planHashdir(outDir: string, files: string[]): Promise<Plan & { entries: HashdirEntry[] }> {
  if (files.length === 0) throw new OperatorError('No certificate files were given.', 'Pass the CA files after the flags: certwright hashdir --out DIR root-a.pem root-b.pem ...');
  const certs = await readCerts(files);
  const links = existingLinks(outDir);
  const entries: HashdirEntry[] = [];
  const taken = new Map(links);
  for (const cert of certs) {
    const hash = subjectHash(cert);
    const present = [...taken.entries()].find(([name, fp]) => name.startsWith(`${hash}.`) && fp === cert.fingerprint256);
    if (present) {
      entries.push({ hash, link: present[0], file: fs.realpathSync(path.join(outDir, present[0])), subject: cert.subject.replace(/\n/g, ', '), fingerprint: cert.fingerprint256, added: false });
      continue;
    }
    let n = 0;
    while (taken.has(`${hash}.${n}`)) n += 1;
    taken.set(`${hash}.${n}`, cert.fingerprint256);
    entries.push({ hash, link: `${hash}.${n}`, file: path.join(outDir, fileNameFor(cert)), subject: cert.subject.replace(/\n/g, ', '), fingerprint: cert.fingerprint256, added: true });
  }
  const plan = { actions: [] as string[], facts: [['Directory', outDir]] as Array<[string, string]>, warnings: [] as string[], entries };
  for (const e of entries) if (e.added) plan.actions.push(`Link ${e.link} -> ${path.basename(e.file)} (${e.subject})`);
  return plan;
}

export async function applyHashdir(outDir: string, files: string[]): Promise<HashdirEntry[]> {
  await ensureDir(outDir, 0o755);
  const plan = await planHashdir(outDir, files);
  const certs = new Map((await readCerts(files)).map((c) => [c.fingerprint256, c]));
  for (const e of plan.entries.filter((x) => x.added)) {
    const cert = certs.get(e.fingerprint)!;
    await writeFileAtomic(e.file, certPem(cert), { mode: 0o644 });
    // A relative symlink, created under a temp name and renamed: the directory can be moved whole.
    const temp = path.join(outDir, `.${e.link}.${randomBytes(4).toString('hex')}.tmp`);
    await fsp.symlink(path.basename(e.file), temp);
    await fsp.rename(temp, path.join(outDir, e.link));
  }
  return plan.entries;
}

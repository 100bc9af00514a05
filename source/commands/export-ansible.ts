import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { loadEstate } from '../estate/load.js';
import { renderAnsibleExport } from '../ansible/export.js';
import { ensureOutputDir, planOutputDir, sha256Hex, writeFileAtomic } from '../system/files.js';
import { printJson } from '../output.js';
import { FILE_FLAG } from './estate-flags.js';

/** The export's own list of the files it wrote: a re-export removes those it no longer writes. */
const MANIFEST = '.certwright-export';

function controllerCommand(): string[] {
  const script = process.argv[1] ? fs.realpathSync(process.argv[1]) : 'certwright';
  return [process.execPath, script];
}

/**
 * export ansible --file ESTATE --out DIR: the estate's managed hosts as an Ansible inventory, a
 * playbook and two roles (source/ansible/). Reads the estate file and the root certificate; never
 * talks to Vault and holds no secret. Writes only DIR: unchanged files are not rewritten (their
 * mtime stays), files a previous export wrote and this one does not are removed.
 */
export const command: CommandSpec = {
  name: 'export ansible',
  summary: 'Writes the estate\'s managed hosts (hosts: and the agents with host:) as plain Ansible: inventory, playbook and roles. Reads no Vault; no secret is written (the play fetches wrapped secret_ids from `certwright ansible-secret` by a lookup).',
  usage: 'export ansible --file ESTATE.yaml --out DIR [--controller-certwright ARGV] [--json]',
  flags: [
    FILE_FLAG,
    { name: 'out', type: 'string', value: 'DIR', description: 'the directory of the export (created 0700 when missing)' },
    { name: 'controller-certwright', type: 'string', value: 'COMMAND', description: 'how the play runs certwright on the controller for the secret lookup (default: this certwright)' },
  ],
  async run(ctx) {
    const file = ctx.flags.require('file', 'the estate file');
    const out = ctx.flags.require('out', 'the export directory');
    const estate = loadEstate(file);
    const controller = ctx.flags.string('controller-certwright');
    const files = renderAnsibleExport(estate, { estateFile: estate.absFile, controllerCertwright: controller ? controller.split(' ').filter(Boolean) : controllerCommand() });
    const dir = path.resolve(out);
    const createDir = await planOutputDir(dir, '--out');
    const oldManifest = fs.existsSync(path.join(dir, MANIFEST)) ? fs.readFileSync(path.join(dir, MANIFEST), 'utf8').split('\n').filter(Boolean) : [];
    if (!createDir && !oldManifest.length && fs.readdirSync(dir).length > 0) {
      throw new UsageError(`${dir} is not empty and holds no earlier export (${MANIFEST} is missing).`, 'Pass --out with an empty or new directory, or the directory of an earlier export.');
    }
    const actions: string[] = createDir ? [createDir] : [];
    const writes: Array<[string, string]> = [];
    for (const [rel, text] of files) {
      const target = path.join(dir, rel);
      const same = fs.existsSync(target) && sha256Hex(fs.readFileSync(target)) === sha256Hex(text);
      if (!same) {
        writes.push([target, text]);
        actions.push(`${fs.existsSync(target) ? 'Update' : 'Write'} ${rel}`);
      }
    }
    const removals = oldManifest.filter((rel) => !files.has(rel) && !rel.includes('..') && fs.existsSync(path.join(dir, rel)));
    for (const rel of removals) actions.push(`Remove ${rel} (no longer in the estate)`);
    {
      await ensureOutputDir(dir);
      for (const [target, text] of writes) {
        await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
        await writeFileAtomic(target, text, { mode: 0o644 });
      }
      for (const rel of removals) await fsp.rm(path.join(dir, rel), { force: true });
      const manifest = `${[...files.keys()].sort().join('\n')}\n`;
      if (!fs.existsSync(path.join(dir, MANIFEST)) || fs.readFileSync(path.join(dir, MANIFEST), 'utf8') !== manifest) await writeFileAtomic(path.join(dir, MANIFEST), manifest, { mode: 0o644 });
    }
    const hosts = (estate.spec.hosts ?? []).map((h) => h.name);
    if (ctx.flags.bool('json')) {
      printJson({ environment: estate.spec.environment, out: dir, hosts, files: [...files.keys()].sort(), actions });
      return 0;
    }
    const lines = [
      `Exported environment ${estate.spec.environment} for Ansible: ${hosts.length} host(s) (${hosts.join(', ')}) in ${dir}`,
      ...(actions.length ? actions.map((a) => `  - ${a}`) : ['  Nothing changed: the export is up to date.']),
      '',
      'Run it (VAULT_TOKEN set on this controller: the play mints each restarting agent\'s wrapped secret_id by a lookup):',
      `  cd ${dir} && ansible-playbook site.yml`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

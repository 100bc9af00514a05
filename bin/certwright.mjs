#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in build/ (npm run build). Only Node built-ins that are
// already loaded at start-up are imported here, so `certwright --version` and every
// non-interactive command stay cheap.
//
// On Node >= 22.1, Node's module compile cache keeps V8's compiled code of build/ between runs, in
// the user's cache home ($XDG_CACHE_HOME/certwright/compile-cache, else ~/.cache/...), never in the
// state dir: it is a disposable cache, holds no secret, and is checked against each file's content
// by Node before use. NODE_DISABLE_COMPILE_CACHE=1 turns it off. The CLI is imported only after
// the cache is on (a static import would be compiled before this code runs).
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

if (typeof module.enableCompileCache === 'function') {
  try {
    const xdg = process.env.XDG_CACHE_HOME;
    const cacheHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
    // Never relative to the working directory. enableCompileCache does not throw for an
    // unwritable directory: it reports a status, and the CLI runs uncached.
    if (path.isAbsolute(cacheHome)) module.enableCompileCache(path.join(cacheHome, 'certwright', 'compile-cache'));
  } catch {
    // No home directory to put a cache in: run uncached.
  }
}
const { main } = await import('../build/source/cli.js');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });

#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in build/ (npm run build). Nothing else is imported here,
// so `certwright --version` and every non-interactive command stay cheap.
import { main } from '../build/source/cli.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });

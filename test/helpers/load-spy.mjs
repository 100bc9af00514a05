// Preloaded (node --import) into a certwright run by test/offline-bundle.test.ts. It changes no
// behaviour: it counts WebAssembly compilations (Ink's layout engine, Yoga, compiles WebAssembly
// when Ink is first evaluated) and, at exit, writes to $CERTWRIGHT_SPY_OUT whether node:vm was
// loaded (the bundle loads it only to compile its lazy part) and that count.
import fs from 'node:fs';

let wasm = 0;
for (const name of ['instantiate', 'compile']) {
  const original = WebAssembly[name];
  WebAssembly[name] = function counted(...args) {
    wasm += 1;
    return original.apply(this, args);
  };
}
process.on('exit', () => {
  if (!process.env.CERTWRIGHT_SPY_OUT) return;
  fs.writeFileSync(process.env.CERTWRIGHT_SPY_OUT, JSON.stringify({ vmLoaded: process.moduleLoadList.includes('NativeModule vm'), wasmCompilations: wasm }));
});

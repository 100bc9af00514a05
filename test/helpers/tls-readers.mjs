// A reader process for the hook hammer test: reads the TLS dir the way an app must (resolve
// `current` once, then read key and cert from that one version; or read bundle.pem in one go) and
// counts any key/cert mismatch. Prints one JSON line when it gets SIGTERM or after maxMs.
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';

const [dir, mode, maxMs] = [process.argv[2], process.argv[3], Number(process.argv[4] ?? 60000)];
const stats = { mode, reads: 0, mismatches: 0, retries: 0, serials: new Set(), errors: [] };
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const started = Date.now();

function check(keyPem, certPem) {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  stats.reads += 1;
  stats.serials.add(cert.serialNumber);
  if (!cert.checkPrivateKey(key)) stats.mismatches += 1;
}

function once() {
  try {
    if (mode === 'resolve-once') {
      const version = fs.realpathSync(path.join(dir, 'current'));
      check(fs.readFileSync(path.join(version, 'key.pem'), 'utf8'), fs.readFileSync(path.join(version, 'fullchain.pem'), 'utf8'));
    } else {
      const bundle = fs.readFileSync(path.join(dir, 'bundle.pem'), 'utf8');
      const key = bundle.slice(0, bundle.indexOf('-----END PRIVATE KEY-----') + 25);
      check(key, bundle.slice(key.length));
    }
  } catch (error) {
    if (error.code === 'ENOENT') stats.retries += 1; // a pruned version: try again, never a mix
    else if (stats.errors.length < 5) stats.errors.push(String(error.message));
  }
}

function loop() {
  const until = Date.now() + 20;
  while (Date.now() < until) once();
  if (stop || Date.now() - started > maxMs) {
    process.stdout.write(`${JSON.stringify({ ...stats, serials: stats.serials.size })}\n`);
    process.exit(0);
  }
  setImmediate(loop);
}
process.stdout.write('ready\n');
loop();

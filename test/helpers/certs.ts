import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * A real root -> intermediate chain made with openssl, for hook tests that need many leaves fast
 * without a Vault round trip. openssl is the independent tool here.
 */
export interface TestCa {
  dir: string;
  rootPem: string;
  intPem: string;
  rootFile: string;
  issue(cn: string, options?: { days?: number }): { cert: string; key: string };
}

function ossl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCa(dir: string, name = 'Test'): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  fs.writeFileSync(path.join(dir, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:web.test\n');
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', `/CN=${name} Root`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', `/CN=${name} Intermediate`], dir);
  ossl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '20', '-extfile', 'ca.ext'], dir);
  let n = 0;
  return {
    dir,
    rootFile: path.join(dir, 'root.pem'),
    rootPem: fs.readFileSync(path.join(dir, 'root.pem'), 'utf8'),
    intPem: fs.readFileSync(path.join(dir, 'int.pem'), 'utf8'),
    issue(cn, options = {}) {
      n += 1;
      const base = `leaf${n}`;
      ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`], dir);
      const validity = ['-days', String(options.days ?? 5)];
      ossl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', `${base}.pem`, ...validity, '-extfile', 'leaf.ext'], dir);
      return { cert: fs.readFileSync(path.join(dir, `${base}.pem`), 'utf8'), key: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8') };
    },
  };
}

/** The JSON an app agent's template renders. */
export function leafPayload(ca: Pick<TestCa, 'intPem'>, leaf: { cert: string; key: string }): string {
  return JSON.stringify({ certificate: leaf.cert.trim(), issuing_ca: ca.intPem.trim(), private_key: leaf.key.trim() });
}

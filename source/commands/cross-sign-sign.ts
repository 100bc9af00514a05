import type { CommandSpec } from '../command.js';
import { command as intermediateSign } from './intermediate-sign.js';

// The offline half of cross-signing is the intermediate signer itself: a CSR, a root, a pathlen.
// Same code, same checks (CSR signature, pathlen below the root's, never outliving the root).
export const command: CommandSpec = {
  ...intermediateSign,
  name: 'cross-sign sign',
  summary: 'Offline, no Vault: the second root signs the cross-sign CSR (the same signer as `intermediate sign`). Use the --path-len and --ttl that `cross-sign request` printed.',
  usage: 'cross-sign sign --root-dir DIR --passphrase-file FILE --csr FILE --out FILE [--ttl DURATION] [--path-len N] [--permitted-dns DOMAINS]',
};

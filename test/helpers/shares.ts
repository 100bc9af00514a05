import fs from 'node:fs';
import { parseShare, passphraseFromShares } from '../../source/pki/shares.js';

/**
 * Test-only: the root key's passphrase combined from share files, so that openssl (the
 * independent judge) can open the key with it. certwright itself never writes it anywhere.
 */
export async function passphraseFromTestShares(files: string[]): Promise<string> {
  const shares = files.map((f) => parseShare(fs.readFileSync(f, 'utf8'), f));
  const passphrase = await passphraseFromShares(shares);
  try {
    return passphrase.toString('utf8');
  } finally {
    passphrase.fill(0);
  }
}

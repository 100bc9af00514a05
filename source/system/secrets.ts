import fsp from 'node:fs/promises';
import { OperatorError } from '../errors.js';

/** Reads a secret file (passphrase, unseal share) and warns nobody: it only refuses bad modes. */
export async function readPrivateFile(file: string, flag: string): Promise<Buffer> {
  let stat;
  try {
    stat = await fsp.stat(file);
  } catch {
    throw new OperatorError(`${flag} ${file} does not exist.`, `Check the path given to ${flag}.`);
  }
  if (!stat.isFile()) throw new OperatorError(`${flag} ${file} is not a regular file.`, `Pass a file to ${flag}.`);
  if (stat.mode & 0o007) {
    throw new OperatorError(`${flag} ${file} is readable or writable by every user (mode ${(stat.mode & 0o777).toString(8)}).`, `Restrict it: chmod 600 ${file}.`);
  }
  try {
    return await fsp.readFile(file);
  } catch {
    throw new OperatorError(`${flag} ${file} is not readable by this user.`, 'Run as its owner or fix its permissions.');
  }
}

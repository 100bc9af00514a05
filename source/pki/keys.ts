import crypto, { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { der } from './der.js';
import { OperatorError, UsageError } from '../errors.js';

const pbkdf2 = promisify(crypto.pbkdf2);

export const ROOT_KEY_TYPES = ['ec-p384', 'ec-p256', 'rsa-4096', 'rsa-3072'] as const;
export const INTERMEDIATE_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'] as const;
export type KeyType = (typeof ROOT_KEY_TYPES)[number] | (typeof INTERMEDIATE_KEY_TYPES)[number];

/** PBKDF2-HMAC-SHA256 iterations for the offline root key (Node's own export uses only 2,048). */
export const ROOT_KEY_PBKDF2_ITERATIONS = 600_000;

export function parseKeyType(value: string, allowed: readonly string[], flag = '--key-type'): KeyType {
  if (!allowed.includes(value)) {
    throw new UsageError(`${flag} "${value}" is not supported here.`, `Use one of: ${allowed.join(', ')}.`);
  }
  return value as KeyType;
}

/** WebCrypto parameters for generating a key and for signing with it. */
export function webCryptoAlgorithm(type: KeyType): RsaHashedKeyGenParams | EcKeyGenParams & { hash: string } {
  switch (type) {
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    case 'rsa-4096':
    case 'rsa-3072':
    case 'rsa-2048':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(type.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** Vault's key_type/key_bits for a key type. */
export function vaultKeyParams(type: KeyType): { key_type: 'ec' | 'rsa'; key_bits: number } {
  if (type.startsWith('ec-')) return { key_type: 'ec', key_bits: Number(type.slice(4)) };
  return { key_type: 'rsa', key_bits: Number(type.slice(4)) };
}

/** Describes a key object: "EC P-384", "RSA 4096". */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve ?? 'unknown curve';
    const names: Record<string, string> = { secp384r1: 'P-384', prime256v1: 'P-256', secp521r1: 'P-521', secp224r1: 'P-224' };
    return `EC ${names[curve] ?? curve}`;
  }
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details.modulusLength ?? '?'}`;
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/**
 * A key's type name in certwright's vocabulary, for any key: "ec-p256", "rsa-1024", "ed25519".
 * The same spelling --key-type and --allow-key-type use.
 */
export function keyTypeName(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const names: Record<string, string> = { secp384r1: 'ec-p384', prime256v1: 'ec-p256', secp521r1: 'ec-p521', secp224r1: 'ec-p224' };
    return names[details.namedCurve ?? ''] ?? `ec-${details.namedCurve ?? 'unknown'}`;
  }
  if (key.asymmetricKeyType === 'rsa') return `rsa-${details.modulusLength ?? 0}`;
  return key.asymmetricKeyType ?? 'unknown';
}

/**
 * The key types the offline root signs as a CA by default: the intermediate key types certwright
 * documents, RSA from 2048 up to 4096 bits.
 */
export const SIGNABLE_CA_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;

/** Whether a CA key of type `name` may be signed: the default list or one the operator widened to. */
export function signableKeyType(name: string, extra: readonly string[] = []): boolean {
  if ((SIGNABLE_CA_KEY_TYPES as readonly string[]).includes(name) || extra.includes(name)) return true;
  const rsa = /^rsa-(\d+)$/.exec(name);
  return rsa !== null && Number(rsa[1]) >= 2048 && Number(rsa[1]) <= 4096;
}

/** The key type in our vocabulary, when it is one we know. */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  const d = describeKey(key);
  const map: Record<string, KeyType> = { 'EC P-384': 'ec-p384', 'EC P-256': 'ec-p256', 'RSA 4096': 'rsa-4096', 'RSA 3072': 'rsa-3072', 'RSA 2048': 'rsa-2048' };
  return map[d];
}

/** Signing algorithm (WebCrypto) for a signing key: ECDSA with the curve's hash, RSA with SHA-256. */
export function signingAlgorithmFor(key: KeyObject): EcdsaParams | (Algorithm & { hash: string }) {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return { name: 'ECDSA', hash: curve === 'secp384r1' ? 'SHA-384' : curve === 'secp521r1' ? 'SHA-512' : 'SHA-256' };
  }
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

export function importAlgorithmFor(key: KeyObject): EcKeyImportParams | RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const names: Record<string, string> = { secp384r1: 'P-384', prime256v1: 'P-256', secp521r1: 'P-521' };
    const namedCurve = names[curve ?? ''];
    if (!namedCurve) throw new OperatorError(`The key uses the curve ${curve}, which certwright does not sign with.`, 'Use a P-256 or P-384 key.');
    return { name: 'ECDSA', namedCurve };
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new OperatorError(`The key is of type ${key.asymmetricKeyType}, which certwright does not sign with.`, 'Use an EC P-384/P-256 or RSA key.');
}

/** Turns a Node KeyObject into a non-extractable WebCrypto signing key. */
export async function toSigningCryptoKey(key: KeyObject): Promise<CryptoKey> {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  try {
    return await crypto.webcrypto.subtle.importKey('pkcs8', pkcs8, importAlgorithmFor(key), false, ['sign']);
  } finally {
    pkcs8.fill(0);
  }
}

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256cbc: '2.16.840.1.101.3.4.1.42',
};

/**
 * Encrypts a PKCS#8 PrivateKeyInfo as PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with our own
 * iteration count, because Node's KeyObject.export uses only 2,048 iterations. OpenSSL reads it:
 * `openssl pkey -in root-ca.key -passin file:...`.
 */
export async function encryptPkcs8(privateKeyInfoDer: Buffer, passphrase: Buffer, iterations = ROOT_KEY_PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const key = await pbkdf2(passphrase, salt, iterations, 32, 'sha256');
  const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(privateKeyInfoDer), cipher.final()]);
  key.fill(0);
  const info = der.sequence(
    der.sequence(
      der.oid(OID.pbes2),
      der.sequence(
        der.sequence(
          der.oid(OID.pbkdf2),
          der.sequence(der.octetString(salt), der.integer(iterations), der.integer(32), der.sequence(der.oid(OID.hmacWithSHA256), der.null())),
        ),
        der.sequence(der.oid(OID.aes256cbc), der.octetString(iv)),
      ),
    ),
    der.octetString(encrypted),
  );
  const b64 = info.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** Generates a key pair of the given type with Node's native crypto. */
export async function generateKeyPair(type: KeyType): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const gen = promisify(crypto.generateKeyPair) as unknown as (
    type: 'ec' | 'rsa',
    options: object,
  ) => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;
  if (type.startsWith('ec-')) {
    return gen('ec', { namedCurve: type === 'ec-p384' ? 'secp384r1' : 'prime256v1' });
  }
  return gen('rsa', { modulusLength: Number(type.slice(4)), publicExponent: 0x10001 });
}

/** Opens an encrypted root key. A wrong passphrase is an operator error, never a crash. */
export function decryptPrivateKey(pem: string, passphrase: Buffer, source: string): KeyObject {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    if (/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) {
      throw new OperatorError(`${source} holds an unencrypted private key.`, 'certwright only uses an encrypted root key (PKCS#8, PBES2). Re-create the root with `certwright root create`.');
    }
    throw new OperatorError(`${source} is not a PEM-encoded encrypted private key.`, 'Point --root-dir at the directory `certwright root create` wrote.');
  }
  try {
    return crypto.createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (error) {
    const message = (error as Error).message;
    if (/bad decrypt|decrypt|unsupported|wrong/i.test(message)) {
      throw new OperatorError(`The passphrase does not open ${source}.`, 'Check the passphrase file (a trailing newline is ignored; other whitespace is not).', { cause: error });
    }
    throw new OperatorError(`${source} could not be read as a private key: ${message}`, 'Check that the file is intact (compare its SHA-256 with the ceremony transcript).', { cause: error });
  }
}

/** Reads a passphrase file: one trailing newline is dropped, nothing else. */
export function parsePassphrase(content: Buffer, source: string, options: { minLength?: number } = {}): Buffer {
  let end = content.length;
  if (end > 0 && content[end - 1] === 0x0a) end -= 1;
  if (end > 0 && content[end - 1] === 0x0d) end -= 1;
  const passphrase = Buffer.from(content.subarray(0, end));
  content.fill(0);
  const min = options.minLength ?? 1;
  if (passphrase.length < min) {
    throw new OperatorError(`The passphrase in ${source} is ${passphrase.length === 0 ? 'empty' : 'too short'}.`, `Use a passphrase of at least ${min} characters.`);
  }
  return passphrase;
}

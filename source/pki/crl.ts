import 'reflect-metadata';
import crypto, { type KeyObject, type X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { toSigningCryptoKey, signingAlgorithmFor } from './keys.js';
import { toPem } from './pem.js';
import { certificateName } from './subject-hash.js';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

/** The RFC 5280 5.3.1 reasons an operator gives (never "unspecified": then the code is left out). */
export const REVOCATION_REASONS = ['keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface RevokedEntry {
  /** Lower-case hex, no colons. */
  serial: string;
  revokedAt: string;
  /**
   * Every entry carries a reason code: @peculiar/x509 writes an empty crlEntryExtensions SEQUENCE
   * for an entry without one, which RFC 5280 forbids (SIZE (1..MAX)) and pkilint cannot decode.
   */
  reason: RevocationReason;
}

export interface RootCrlProfile {
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: RevokedEntry[];
}

/**
 * A CRL signed by the offline root (RFC 5280 5.1): version 2, the root's subject as issuer (its DER,
 * byte for byte), thisUpdate / nextUpdate, one entry per revoked serial, and the two extensions a
 * complete CRL must carry: authority key identifier (the root's SKI) and CRL number.
 */
export async function signRootCrl(root: X509Certificate, rootKey: KeyObject, profile: RootCrlProfile): Promise<{ pem: string; der: Buffer }> {
  const rootPeculiar = new x509.X509Certificate(root.raw);
  const ski = rootPeculiar.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(rootPeculiar);
  const crl = await x509.X509CrlGenerator.create({
    issuer: new x509.Name(new Uint8Array(certificateName(root, 'subject'))),
    thisUpdate: profile.thisUpdate,
    nextUpdate: profile.nextUpdate,
    signingAlgorithm: signingAlgorithmFor(rootKey),
    signingKey: await toSigningCryptoKey(rootKey),
    extensions: [aki, new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(profile.number)))],
    entries: profile.revoked.map((r) => ({ serialNumber: r.serial, revocationDate: new Date(r.revokedAt), reason: x509.X509CrlReason[r.reason] })),
  });
  const der = Buffer.from(crl.rawData);
  return { pem: toPem('X509 CRL', der), der };
}

/** The facts of a CRL file: issuer, number, dates, listed serials; and whether `root` signed it. */
export async function readCrl(pem: string, root?: X509Certificate): Promise<{ number: number | undefined; thisUpdate: Date; nextUpdate: Date | undefined; serials: string[]; signedByRoot: boolean | undefined }> {
  const crl = new x509.X509Crl(pem);
  const ext = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  const number = ext ? Number(AsnConvert.parse(ext.value, CRLNumber).value) : undefined;
  const signedByRoot = root ? await crl.verify({ publicKey: new x509.X509Certificate(root.raw).publicKey }) : undefined;
  return { number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, serials: crl.entries.map((e) => normaliseSerial(e.serialNumber)), signedByRoot };
}

/** "0A:1b:..." / "0a1B..." -> "a1b..." (lower case, no colons, no leading zeros). */
export function normaliseSerial(serial: string): string {
  return serial.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
}

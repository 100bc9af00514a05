import 'reflect-metadata';
import crypto, { KeyObject, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { NameConstraints, GeneralSubtrees, GeneralSubtree, GeneralName, id_ce_nameConstraints, Name as AsnName, RelativeDistinguishedName, AttributeTypeAndValue, AttributeValue } from '@peculiar/asn1-x509';
import { OperatorError } from '../errors.js';
import { toSigningCryptoKey, signingAlgorithmFor, describeKey } from './keys.js';
import { toPem } from './pem.js';
import { certificateName } from './subject-hash.js';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

/** A positive, non-zero 128-bit serial (RFC 5280 allows up to 20 octets). */
export function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** id-at-commonName. */
export const OID_COMMON_NAME = '2.5.4.3';

/**
 * A distinguished name of one common name, built structurally: the value goes into a UTF8String
 * byte for byte (RFC 5280 4.1.2.6). Never `new x509.Name('CN=...')` nor `{ CN: [value] }`: both run
 * @peculiar/x509's string parser over the value, which unquotes and unescapes it
 * (`The "Root" CA` became `Root`).
 */
export function commonNameDn(commonName: string): x509.Name {
  const asn = new AsnName([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) })])]);
  return new x509.Name(AsnConvert.serialize(asn));
}

/** The common names in a DER name, exactly as encoded (no escaping, no unquoting). */
export function commonNamesOf(nameDer: ArrayBuffer | Buffer): string[] {
  const asn = AsnConvert.parse(nameDer, AsnName);
  return asn.flatMap((rdn) => rdn.filter((atv) => atv.type === OID_COMMON_NAME).map((atv) => atv.value.toString()));
}

/** The DER of a certificate's subject and issuer names, the bytes as they are in the certificate. */
export function certificateNames(cert: X509Certificate): { subject: Buffer; issuer: Buffer } {
  return { subject: certificateName(cert, 'subject'), issuer: certificateName(cert, 'issuer') };
}

export interface RootProfile {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  pathLen?: number | undefined;
}

/**
 * Self-signed root: critical basicConstraints CA:true (pathlen when given), critical keyUsage
 * keyCertSign + cRLSign, subject key identifier and an authority key identifier equal to it.
 */
export async function createRootCertificate(profile: RootProfile, privateKey: KeyObject, publicKey: KeyObject): Promise<X509Certificate> {
  const signingKey = await toSigningCryptoKey(privateKey);
  const publicCryptoKey = await crypto.webcrypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), importPublic(publicKey), true, ['verify']);
  const name = commonNameDn(profile.commonName);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicCryptoKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    notBefore: profile.notBefore,
    notAfter: profile.notAfter,
    signingAlgorithm: signingAlgorithmFor(privateKey),
    publicKey: publicCryptoKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, profile.pathLen, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      // RFC 5280 lets a self-signed root omit it; OpenBao's roots carry it (AKI = SKI) and pkilint's chain linter expects it.
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  const result = new X509Certificate(Buffer.from(cert.rawData));
  const got = commonNamesOf(certificateNames(result).subject);
  if (got.length !== 1 || got[0] !== profile.commonName) throw new Error(`bug: the root's subject CN is ${JSON.stringify(got)}, not the confirmed ${JSON.stringify(profile.commonName)}`);
  return result;
}

function importPublic(key: KeyObject): EcKeyImportParams | RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return { name: 'ECDSA', namedCurve: curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : 'P-256' };
  }
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

export interface CsrInfo {
  subject: string;
  commonName: string | undefined;
  publicKey: KeyObject;
  keyDescription: string;
  spkiDer: Buffer;
  csr: x509.Pkcs10CertificateRequest;
}

/** Parses a CSR and checks its self-signature; a tampered CSR is refused. */
export async function readCsr(pem: string, source: string, options: { checkKey?: (key: KeyObject) => void } = {}): Promise<CsrInfo> {
  if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) {
    throw new OperatorError(`${source} is not a PEM certificate signing request.`, 'Pass the CSR that `certwright intermediate request` wrote (--csr).');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'));
  } catch (error) {
    throw new OperatorError(`${source} cannot be parsed as a CSR (damaged or truncated).`, 'Copy the CSR again from the online machine and compare its SHA-256.', { cause: error });
  }
  // The key policy is checked before the signature: a refused key type is named as such, even
  // one (Ed25519, RSA-8192) whose signature the verifier would otherwise have to handle.
  const spkiDer = Buffer.from(csr.publicKey.rawData);
  const publicKey = crypto.createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  options.checkKey?.(publicKey);
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new OperatorError(`The signature on ${source} does not verify: the request was altered after Vault made it.`, 'Do not sign it. Copy the CSR again from the online machine (compare SHA-256 with the one `intermediate request` printed).');
  }
  const cn = csr.subjectName.getField('CN')[0];
  return { subject: csr.subject, commonName: cn, publicKey, keyDescription: describeKey(publicKey), spkiDer, csr };
}

/** Name constraints of an intermediate: DNS names cover themselves and every name below; IPs are CIDR blocks. */
export interface NameConstraintSet {
  permittedDns?: string[] | undefined;
  permittedIps?: string[] | undefined;
  excludedDns?: string[] | undefined;
}

export interface IntermediateProfile extends NameConstraintSet {
  notBefore: Date;
  notAfter: Date;
  pathLen: number;
  /** Where the root's CRL is published (CRL distribution point), so the root can revoke it. */
  crlUrl?: string | undefined;
  /** Where the root's certificate is published (AIA caIssuers). */
  caIssuersUrl?: string | undefined;
}

/** The critical nameConstraints extension (RFC 5280 4.2.1.10), or undefined when there is none. */
export function nameConstraintsExtension(nc: NameConstraintSet): x509.Extension | undefined {
  const permitted = [
    ...(nc.permittedDns ?? []).map((dns) => new GeneralSubtree({ base: new GeneralName({ dNSName: dns }) })),
    // iPAddress in a constraint: address and mask, 8 octets (IPv4) or 32 (IPv6).
    ...(nc.permittedIps ?? []).map((cidr) => new GeneralSubtree({ base: new GeneralName({ iPAddress: cidr }) })),
  ];
  const excluded = (nc.excludedDns ?? []).map((dns) => new GeneralSubtree({ base: new GeneralName({ dNSName: dns }) }));
  if (permitted.length === 0 && excluded.length === 0) return undefined;
  const constraints = new NameConstraints({
    ...(permitted.length ? { permittedSubtrees: new GeneralSubtrees(permitted) } : {}),
    ...(excluded.length ? { excludedSubtrees: new GeneralSubtrees(excluded) } : {}),
  });
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(constraints));
}

/**
 * Signs a CSR as an intermediate CA: critical basicConstraints CA:true with pathlen, critical
 * keyUsage (keyCertSign, cRLSign, digitalSignature), SKI of the CSR key, AKI of the root, optional
 * critical name constraints (permitted DNS and IP, excluded DNS). The subject comes from the CSR.
 */
export async function signIntermediate(csr: CsrInfo, root: X509Certificate, rootKey: KeyObject, profile: IntermediateProfile): Promise<X509Certificate> {
  const signingKey = await toSigningCryptoKey(rootKey);
  const rootPeculiar = new x509.X509Certificate(root.raw);
  const csrPublic = await csr.csr.publicKey.export(crypto.webcrypto as unknown as Crypto);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, profile.pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(csrPublic),
  ];
  const rootSki = rootPeculiar.getExtension(x509.SubjectKeyIdentifierExtension);
  extensions.push(rootSki ? new x509.AuthorityKeyIdentifierExtension(rootSki.keyId) : await x509.AuthorityKeyIdentifierExtension.create(rootPeculiar));
  const constraints = nameConstraintsExtension(profile);
  if (constraints) extensions.push(constraints);
  if (profile.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([profile.crlUrl]));
  if (profile.caIssuersUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: new x509.GeneralName('url', profile.caIssuersUrl) }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // Names are copied as DER, never through a string: the subject exactly as the CSR has it, the
    // issuer exactly as the root's subject (so every validator matches them byte for byte).
    subject: new x509.Name(csr.csr.subjectName.toArrayBuffer()),
    issuer: new x509.Name(rootPeculiar.subjectName.toArrayBuffer()),
    notBefore: profile.notBefore,
    notAfter: profile.notAfter,
    signingAlgorithm: signingAlgorithmFor(rootKey),
    publicKey: csrPublic,
    signingKey,
    extensions,
  });
  const result = new X509Certificate(Buffer.from(cert.rawData));
  const names = certificateNames(result);
  if (!names.subject.equals(Buffer.from(csr.csr.subjectName.toArrayBuffer())) || !names.issuer.equals(certificateNames(root).subject)) {
    throw new Error('bug: the signed certificate\'s subject or issuer is not byte for byte the CSR\'s subject and the root\'s subject');
  }
  return result;
}

export interface CaFacts {
  isCa: boolean;
  pathLen: number | undefined;
  keyUsage: string[];
  /** Permitted DNS names. */
  nameConstraints: string[];
  /** Permitted IP blocks (CIDR). */
  permittedIps: string[];
  excludedDns: string[];
  /** Constraint kinds certwright does not write (excluded IPs, e-mail, URI, directory names): present or not. */
  otherConstraints: boolean;
}

export function caFacts(cert: X509Certificate): CaFacts {
  const pc = new x509.X509Certificate(cert.raw);
  const bc = pc.getExtension(x509.BasicConstraintsExtension);
  const ku = pc.getExtension(x509.KeyUsagesExtension);
  const usage: string[] = [];
  if (ku) {
    const flags = ku.usages;
    if (flags & x509.KeyUsageFlags.keyCertSign) usage.push('keyCertSign');
    if (flags & x509.KeyUsageFlags.cRLSign) usage.push('cRLSign');
    if (flags & x509.KeyUsageFlags.digitalSignature) usage.push('digitalSignature');
  }
  const nc = pc.extensions.find((e) => e.type === id_ce_nameConstraints);
  const names: string[] = [];
  const ips: string[] = [];
  const excludedDns: string[] = [];
  let other = false;
  if (nc) {
    const parsed = AsnConvert.parse(nc.value, NameConstraints);
    for (const sub of parsed.permittedSubtrees ?? []) {
      if (sub.base.dNSName !== undefined) names.push(sub.base.dNSName);
      else if (sub.base.iPAddress !== undefined) ips.push(sub.base.iPAddress);
      else other = true;
    }
    for (const sub of parsed.excludedSubtrees ?? []) {
      if (sub.base.dNSName !== undefined) excludedDns.push(sub.base.dNSName);
      else other = true;
    }
  }
  return { isCa: bc?.ca ?? false, pathLen: bc?.pathLength, keyUsage: usage, nameConstraints: names, permittedIps: ips, excludedDns, otherConstraints: other };
}

export function csrPem(info: CsrInfo): string {
  return toPem('CERTIFICATE REQUEST', Buffer.from(info.csr.rawData));
}

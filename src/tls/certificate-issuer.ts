// @peculiar/x509 resolves its algorithms through tsyringe, which needs the metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
// Backdating tolerates small clock skew between this host and the apiserver.
const BACKDATE_MS = 5 * 60_000;

export type CertificateUsage = 'server' | 'client';

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Colon-separated uppercase hex, as `openssl x509 -fingerprint -sha256` and node's X509Certificate print it. */
  readonly fingerprint256: string;
  readonly notAfter: Date;
}

export interface CertificateAuthority extends IssuedCertificate {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly usages: readonly CertificateUsage[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly validityDays?: number;
  /** Overrides the validity window, e.g. to make an already-expired certificate for tests. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const generateKeys = (): Promise<CryptoKeyPair> =>
  webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function validity(request: { validityDays?: number; notBefore?: Date; notAfter?: Date }): {
  notBefore: Date;
  notAfter: Date;
} {
  const now = Date.now();
  return {
    notBefore: request.notBefore ?? new Date(now - BACKDATE_MS),
    notAfter: request.notAfter ?? new Date(now + (request.validityDays ?? 365) * DAY_MS),
  };
}

function leafExtensions(request: CertificateRequest): x509.Extension[] {
  const usages = request.usages.map((u) =>
    u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
  );
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(usages),
  ];
  const names = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return extensions;
}

async function toIssued(certificate: x509.X509Certificate, keys: CryptoKeyPair): Promise<IssuedCertificate> {
  const certificatePem = certificate.toString('pem');
  return {
    certificatePem,
    privateKeyPem: await privateKeyPem(keys),
    fingerprint256: new X509Certificate(certificatePem).fingerprint256,
    notAfter: certificate.notAfter,
  };
}

export async function createCertificateAuthority(request: {
  commonName: string;
  validityDays?: number;
}): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${request.commonName}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(request),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...(await toIssued(certificate, keys)), certificate, keys };
}

export async function issueCertificate(
  issuer: CertificateAuthority,
  request: CertificateRequest,
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${request.commonName}`,
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(request),
    extensions: [
      ...leafExtensions(request),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
  return toIssued(certificate, keys);
}

/** A server certificate that is its own issuer, for starting with no certificate configured. */
export async function createSelfSignedCertificate(request: CertificateRequest): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${request.commonName}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(request),
    extensions: leafExtensions(request),
  });
  return toIssued(certificate, keys);
}

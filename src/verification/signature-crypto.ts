import * as x509 from '@peculiar/x509';
import { KeyObject, X509Certificate, verify as cryptoVerify } from 'node:crypto';
import { CertificateTrust, TrustedIdentity, TrustedKey } from './trust';

/** Fulcio's OIDC issuer extensions: v2 holds a DER UTF8String, v1 (deprecated) the raw string. */
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
/** A leaf, at most a few intermediates, a root. */
const MAX_CHAIN = 5;

/**
 * Whether `signature` is `key`'s over `data`. ECDSA and RSA keys sign a SHA-256 of the data, as
 * cosign does by default; Ed25519 signs the data itself. A malformed signature is simply false.
 */
export function signatureVerifies(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** The trusted key whose signature this is, if any. */
export function keyThatSigned(
  keys: readonly TrustedKey[],
  data: Buffer,
  signature: Buffer,
): TrustedKey | undefined {
  return keys.find(({ key }) => signatureVerifies(key, data, signature));
}

/** DSSE's pre-authentication encoding: what a DSSE signature covers, never the bare payload. */
export function preAuthenticationEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** The identity a signing certificate carries: its SAN and the OIDC issuer Fulcio recorded. */
export interface CertificateIdentity {
  readonly subjects: readonly string[];
  readonly issuer?: string;
}

export function certificateIdentity(certificate: X509Certificate): CertificateIdentity {
  const parsed = new x509.X509Certificate(certificate.raw);
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const subjects = (san?.names.items ?? [])
    .filter((name) => name.type === 'url' || name.type === 'email')
    .map((name) => name.value);
  const v2 = parsed.extensions.find((e) => e.type === FULCIO_ISSUER_V2);
  const v1 = parsed.extensions.find((e) => e.type === FULCIO_ISSUER_V1);
  let issuer: string | undefined;
  if (v2) issuer = derUtf8String(Buffer.from(v2.value));
  else if (v1) issuer = Buffer.from(v1.value).toString('utf8');
  return { subjects, issuer };
}

/** A DER UTF8String (tag 12) as text; anything else is not an issuer. */
function derUtf8String(der: Buffer): string | undefined {
  if (der[0] !== 0x0c) return undefined;
  let length = der[1];
  let offset = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = der.subarray(2, 2 + bytes).reduce((n, b) => n * 256 + b, 0);
    offset += bytes;
  }
  return der.subarray(offset, offset + length).toString('utf8');
}

const matches = (value: string | undefined, exact?: string, pattern?: RegExp): boolean =>
  value !== undefined &&
  (exact === undefined || value === exact) &&
  (pattern === undefined || pattern.test(value));

function identityMatches(identity: CertificateIdentity, trusted: TrustedIdentity): boolean {
  return (
    matches(identity.issuer, trusted.issuer, trusted.issuerRegExp) &&
    identity.subjects.some((subject) => matches(subject, trusted.subject, trusted.subjectRegExp))
  );
}

const validAt = (certificate: X509Certificate, at: Date): boolean =>
  new Date(certificate.validFrom) <= at && at <= new Date(certificate.validTo);

const issuedBy = (certificate: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
};

/**
 * Why a signing certificate is not trusted, or undefined when it is: it must be a code-signing
 * certificate valid at `at`, chain through the given intermediates (which are untrusted until they
 * chain) to one of the configured authorities, and carry one of the trusted identities.
 */
export function certificateProblem(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: CertificateTrust,
  at: Date,
): string | undefined {
  if (!validAt(leaf, at)) return `the signing certificate is not valid at ${at.toISOString()}`;
  const extendedUsages = leaf.keyUsage;
  if (extendedUsages !== undefined && !extendedUsages.includes(CODE_SIGNING))
    return 'the signing certificate is not for code signing';
  let current = leaf;
  let chained = false;
  for (let depth = 0; depth < MAX_CHAIN && !chained; depth++) {
    const authority = trust.authorities.find((ca) => issuedBy(current, ca) && validAt(ca, at));
    if (authority) {
      chained = true;
      break;
    }
    const next = intermediates.find((ca) => ca.ca && issuedBy(current, ca) && validAt(ca, at));
    if (!next) break;
    current = next;
  }
  if (!chained) return 'the signing certificate does not chain to a trusted authority';
  const identity = certificateIdentity(leaf);
  if (!trust.identities.some((trusted) => identityMatches(identity, trusted)))
    return `the certificate's identity (${identity.subjects.join(', ') || 'no SAN'}, issuer ${identity.issuer ?? 'none'}) is not a trusted one`;
  return undefined;
}

/** How explanations name a certificate identity that verified a signature. */
export function describeIdentity(leaf: X509Certificate): string {
  const identity = certificateIdentity(leaf);
  return `identity ${identity.subjects.join(', ')} (issuer ${identity.issuer ?? 'none'})`;
}

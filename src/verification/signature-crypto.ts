import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  anyExtendedKeyUsage,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_codeSigning,
  id_kp_timeStamping,
} from '@peculiar/asn1-x509';
import { KeyObject, X509Certificate, constants, verify as cryptoVerify } from 'node:crypto';
import { asn1Certificate, sctProblem } from './certificate-transparency';
import { CertificateTrust, TrustedIdentity, TrustedKey, ValidityWindow, withinWindow } from './trust';

/** Fulcio's OIDC issuer extensions: v2 holds a DER UTF8String, v1 (deprecated) the raw string. */
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const CODE_SIGNING = id_kp_codeSigning;
/**
 * The longest certificate path judged: a leaf, at most three intermediates, a root. Fulcio's is
 * three long (leaf, intermediate, root); a longer one is refused as not chaining.
 */
export const MAX_CHAIN = 5;

/**
 * How a signature other than cosign's default is made: the hash (an RFC 3161 timestamp's algorithm
 * may name SHA-384), ECDSA's r‖s as JOSE and COSE write it (`ieee-p1363`) rather than DER, and
 * RSASSA-PSS with a salt as long as the hash (the Notary Project's PS256, PS384, PS512).
 */
export interface SignatureScheme {
  readonly hash?: 'sha256' | 'sha384' | 'sha512';
  readonly encoding?: 'der' | 'ieee-p1363';
  readonly pss?: boolean;
}

/**
 * Whether `signature` is `key`'s over `data`. ECDSA and RSA keys sign a SHA-256 of the data, as
 * cosign does by default, unless `scheme` says otherwise; Ed25519 signs the data itself. A
 * malformed signature is simply false.
 */
export function signatureVerifies(
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
  scheme: SignatureScheme = {},
): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return cryptoVerify(null, data, key, signature);
    return cryptoVerify(
      scheme.hash ?? 'sha256',
      data,
      {
        key,
        ...(scheme.encoding === 'ieee-p1363' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
        ...(scheme.pss
          ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : {}),
      },
      signature,
    );
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

/** Its SAN URIs and e-mails, in order; a certificate that cannot be read carries none. */
export function certificateIdentity(certificate: X509Certificate): CertificateIdentity {
  const extensions = asn1Certificate(certificate)?.tbsCertificate.extensions ?? [];
  const find = (oid: string): Buffer | undefined => {
    const found = extensions.find((extension) => extension.extnID === oid);
    return found && Buffer.from(found.extnValue.buffer);
  };
  const san = find(id_ce_subjectAltName);
  let subjects: string[] = [];
  try {
    subjects = (san ? AsnConvert.parse(san, SubjectAlternativeName) : []).flatMap(
      (name) => name.uniformResourceIdentifier ?? name.rfc822Name ?? [],
    );
  } catch {
    // A SAN that cannot be read names no one.
  }
  const v2 = find(FULCIO_ISSUER_V2);
  const v1 = find(FULCIO_ISSUER_V1);
  let issuer: string | undefined;
  if (v2) issuer = derUtf8String(v2);
  else if (v1) issuer = v1.toString('utf8');
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

export const validAt = (certificate: X509Certificate, at: Date): boolean =>
  new Date(certificate.validFrom) <= at && at <= new Date(certificate.validTo);

/** The indices of the trusted identities a signing certificate carries. */
export function matchedIdentities(leaf: X509Certificate, trusted: readonly TrustedIdentity[]): number[] {
  const identity = certificateIdentity(leaf);
  return trusted.flatMap((candidate, index) => (identityMatches(identity, candidate) ? [index] : []));
}

/**
 * What certificateProblem answers when the verification's budget of signature checks ran out
 * before the chain was judged: every link checked is a signature check like any other, and a signer
 * chooses the chain (certificates named as a trusted CA is, each link then tried against the CA and
 * against the next of theirs: two checks a link, on keys of their choosing).
 */
export const CHAIN_CHECKS_OVER_BUDGET = 'its chain was not checked: the budget of signature checks ran out';

/** Takes one signature check from the verification's budget; false once there is none. */
export type TakeCheck = () => boolean;

/** Thrown by issuedBy once the budget is spent, so that a chain walk stops where it is. */
export class ChecksSpent extends Error {}

/**
 * Whether `issuer` signed `certificate`: OpenSSL's X509_check_issued (names, key identifiers, and
 * keyCertSign where the issuer has a key usage), then the signature itself, paid from the budget.
 */
export const issuedBy = (
  certificate: X509Certificate,
  issuer: X509Certificate,
  takeCheck: TakeCheck,
): boolean => {
  try {
    if (!certificate.checkIssued(issuer)) return false;
  } catch {
    return false;
  }
  if (!takeCheck()) throw new ChecksSpent();
  try {
    return certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
};

/** What RFC 5280's extensions let a certificate do; absent extensions are undefined. */
export interface Capabilities {
  readonly ca: boolean;
  /** Whether basicConstraints is present and critical, as the Notary Project requires of a CA. */
  readonly basicConstraintsCritical: boolean;
  readonly pathLength?: number;
  readonly keyUsage?: KeyUsageFlags;
  readonly keyUsageCritical: boolean;
  readonly extendedUsages?: readonly string[];
  /** RFC 3161 §2.3: a TSA's extended key usage must be critical. */
  readonly extendedUsagesCritical: boolean;
}

/**
 * Read from the certificate with @peculiar/asn1-x509, or undefined when it cannot be read or
 * names one of these extensions twice (RFC 5280 §4.2 allows each once).
 */
export function capabilitiesOf(certificate: X509Certificate): Capabilities | undefined {
  const read = asn1Certificate(certificate);
  if (!read) return undefined;
  const extensions = read.tbsCertificate.extensions ?? [];
  const extension = (oid: string) => {
    const found = extensions.filter((candidate) => candidate.extnID === oid);
    if (found.length > 1) throw new Error(`${oid} twice`);
    return found[0];
  };
  const value = <T>(oid: string, type: new () => T): T | undefined => {
    const found = extension(oid);
    return found === undefined ? undefined : AsnConvert.parse(found.extnValue.buffer, type);
  };
  try {
    const basic = value(id_ce_basicConstraints, BasicConstraints);
    return {
      ca: basic?.cA === true,
      basicConstraintsCritical: extension(id_ce_basicConstraints)?.critical === true,
      pathLength: basic?.pathLenConstraint,
      keyUsage: value(id_ce_keyUsage, KeyUsage)?.toNumber(),
      keyUsageCritical: extension(id_ce_keyUsage)?.critical === true,
      extendedUsages: value(id_ce_extKeyUsage, ExtendedKeyUsage)?.map(String),
      extendedUsagesCritical: extension(id_ce_extKeyUsage)?.critical === true,
    };
  } catch {
    return undefined;
  }
}

/**
 * What a leaf must be to sign: not a CA, for code signing, and (where it says) for signatures.
 * The code-signing EKU is required outright, stricter than Go's x509 (which sigstore-go and cosign
 * use, and which lets a leaf without any EKU do anything): Fulcio always writes it, and without
 * it any certificate the authorities ever issued, a TLS server's for one, could sign images.
 */
function signingCertificateProblem(leaf: X509Certificate): string | undefined {
  const capabilities = capabilitiesOf(leaf);
  if (!capabilities) return 'the signing certificate cannot be read';
  if (capabilities.ca) return 'the signing certificate is a certificate authority';
  if (!capabilities.extendedUsages?.includes(CODE_SIGNING))
    return 'the signing certificate is not for code signing';
  if (capabilities.keyUsage !== undefined && (capabilities.keyUsage & KeyUsageFlags.digitalSignature) === 0)
    return "the signing certificate's key usage does not allow digital signatures";
  return undefined;
}

/** What a certificate path is for: signing code (cosign, notation) or timestamps (a TSA). */
export type CertificatePurpose = 'code signing' | 'timestamping';

const PURPOSE_USAGE: Readonly<Record<CertificatePurpose, string>> = {
  'code signing': CODE_SIGNING,
  timestamping: id_kp_timeStamping,
};

/**
 * What a certificate above the leaf must be to have issued the one below it (RFC 5280 §6.1.4):
 * a CA, with no more intermediates below it than its path length constraint allows, and not
 * restricted to other purposes than the path's where it names extended key usages (Go's x509
 * checks that nesting too). `below` counts the intermediates between it and the leaf. That its key
 * usage, where present, includes keyCertSign is OpenSSL's check, in `checkIssued` (issuedBy).
 */
function issuingCertificateProblem(
  issuer: X509Certificate,
  below: number,
  purpose: CertificatePurpose,
): string | undefined {
  const capabilities = capabilitiesOf(issuer);
  if (!capabilities?.ca) return 'an issuing certificate in its chain is not a certificate authority';
  if (capabilities.pathLength !== undefined && below > capabilities.pathLength)
    return "its chain breaks an issuing certificate's path length constraint";
  const extended = capabilities.extendedUsages;
  if (
    extended !== undefined &&
    !extended.includes(PURPOSE_USAGE[purpose]) &&
    !extended.includes(anyExtendedKeyUsage)
  )
    return `an issuing certificate in its chain is not for ${purpose}`;
  return undefined;
}

const DOES_NOT_CHAIN = 'the signing certificate does not chain to a trusted authority';

/** Certificates trusted as authorities, each (where a trusted root says so) only within its windows. */
export interface Anchors {
  readonly authorities: readonly X509Certificate[];
  /** By `fingerprint256`; an authority without an entry is trusted whenever it is itself valid. */
  readonly authorityValidFor?: ReadonlyMap<string, readonly ValidityWindow[]>;
}

/**
 * The path from `leaf` up to a trusted authority (one the trusted root had in service at `at`),
 * each certificate valid at `at` and allowed to issue the one below it for `purpose`, or why
 * there is none. Authorities are preferred at every step, so the shortest path is found; of the
 * given intermediates (untrusted until they chain) only the first MAX_CHAIN are looked at, and a
 * path is at most MAX_CHAIN certificates long.
 */
export function pathToAuthority(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: Anchors,
  at: Date,
  takeCheck: TakeCheck,
  purpose: CertificatePurpose = 'code signing',
): X509Certificate[] | { problem: string } {
  const inService = (ca: X509Certificate): boolean => {
    const windows = trust.authorityValidFor?.get(ca.fingerprint256);
    return windows === undefined || windows.some((window) => withinWindow(window, at));
  };
  const authorities = trust.authorities.filter(inService);
  const candidates = intermediates.slice(0, MAX_CHAIN);
  const path = [leaf];
  for (let depth = 1; depth < MAX_CHAIN; depth++) {
    const current = path[depth - 1];
    let refusal: string | undefined;
    const fitIssuer = (pool: readonly X509Certificate[]): X509Certificate | undefined =>
      pool.find((ca) => {
        if (path.includes(ca) || !validAt(ca, at) || !issuedBy(current, ca, takeCheck)) return false;
        const problem = issuingCertificateProblem(ca, depth - 1, purpose);
        refusal ??= problem;
        return problem === undefined;
      });
    const authority = fitIssuer(authorities);
    if (authority) return [...path, authority];
    const intermediate = fitIssuer(candidates);
    if (!intermediate) return { problem: refusal ?? DOES_NOT_CHAIN };
    path.push(intermediate);
  }
  return { problem: DOES_NOT_CHAIN };
}

/**
 * Why a signing certificate is not trusted, or undefined when it is. Every check sigstore's own
 * verifiers make of a keyless certificate, and the code-signing EKU besides: the leaf is valid at
 * `at` and fit to sign (signingCertificateProblem); it chains through the given intermediates
 * (untrusted until they chain) to one of the configured authorities, every certificate on the
 * way valid at `at` and fit to issue (pathToAuthority); when the trust material lists CT logs, it
 * carries an SCT one of them signed over it (sctProblem); and it carries one of the trusted
 * identities.
 */
export function certificateProblem(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: CertificateTrust,
  at: Date,
  takeCheck: TakeCheck = () => true,
): string | undefined {
  if (!validAt(leaf, at)) return `the signing certificate is not valid at ${at.toISOString()}`;
  const unfit = signingCertificateProblem(leaf);
  if (unfit) return unfit;
  let path: X509Certificate[] | { problem: string };
  try {
    path = pathToAuthority(leaf, intermediates, trust, at, takeCheck);
  } catch (error) {
    if (error instanceof ChecksSpent) return CHAIN_CHECKS_OVER_BUDGET;
    throw error;
  }
  if ('problem' in path) return path.problem;
  if (trust.ctLogs.length > 0) {
    const untracked = sctProblem(leaf, path[1], trust.ctLogs);
    if (untracked) return untracked;
  }
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

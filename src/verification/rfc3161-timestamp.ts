import {
  Attribute,
  ContentInfo,
  EncapsulatedContentInfo,
  SignerIdentifier,
  id_signedData,
} from '@peculiar/asn1-cms';
import {
  AsnArray,
  AsnConvert,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, KeyUsageFlags, id_kp_timeStamping } from '@peculiar/asn1-x509';
import { PKIStatus, TSTInfo, TimeStampResp, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { BaseBlock, Sequence, Set, fromBER } from 'asn1js';
import { X509Certificate, createHash } from 'node:crypto';
import { asn1Certificate } from './certificate-transparency';
import {
  Anchors,
  ChecksSpent,
  SignatureScheme,
  TakeCheck,
  capabilitiesOf,
  pathToAuthority,
  validAt,
} from './signature-crypto';
import type { SignatureCheck } from './transparency-log';
import { MAX_CHAIN_CERTIFICATES } from './verification-budgets';

// RFC 3161 timestamps, as a sigstore bundle's `timestampVerificationData`, cosign's classic
// `dev.sigstore.cosign/rfc3161timestamp` annotation and a Notary Project countersignature carry
// them. The CMS and TSTInfo structures are read with @peculiar/asn1-cms and @peculiar/asn1-tsp
// (the family that already reads our certificates); every signature is checked by node:crypto and
// paid from the verification's budget. A timestamp says that the bytes it stamps (a signature)
// existed at `genTime`, in the word of the authority whose certificate signed it.
// https://www.rfc-editor.org/rfc/rfc3161 https://www.rfc-editor.org/rfc/rfc5652

/**
 * The most bytes one timestamp may have: a token with its authority's chain of two or three
 * certificates is 1 to 7 KiB (sigstore's TSA writes about 1.3 KiB, commercial TSAs about 6 KiB).
 * DER past this is not parsed.
 */
export const MAX_TIMESTAMP_BYTES = 16 * 1024;

const CONTENT_TYPE = '1.2.840.113549.1.9.3';
const MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** ESS signing-certificate (RFC 2634, SHA-1) and signing-certificate-v2 (RFC 5035). */
const SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
const SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Readonly<Record<string, HashName>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms a TSA signs with, and the hash each names (none: the digest algorithm's). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, { readonly hash?: HashName }>> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256' },
  '1.2.840.10045.4.3.3': { hash: 'sha384' },
  '1.2.840.10045.4.3.4': { hash: 'sha512' },
  '1.2.840.113549.1.1.11': { hash: 'sha256' },
  '1.2.840.113549.1.1.12': { hash: 'sha384' },
  '1.2.840.113549.1.1.13': { hash: 'sha512' },
  // rsaEncryption and id-ecPublicKey: the hash is the SignerInfo's digest algorithm.
  '1.2.840.113549.1.1.1': {},
  '1.2.840.10045.2.1': {},
};

@AsnType({ type: AsnTypeTypes.Sequence })
class EssCertIdV2 {
  @AsnProp({ type: AlgorithmIdentifier, optional: true })
  hashAlgorithm?: AlgorithmIdentifier;

  @AsnProp({ type: OctetString })
  certHash = new OctetString();

  @AsnProp({ type: AsnPropTypes.Any, optional: true })
  issuerSerial?: ArrayBuffer;
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: EssCertIdV2 })
class EssCertIdsV2 extends AsnArray<EssCertIdV2> {}

@AsnType({ type: AsnTypeTypes.Sequence })
class SigningCertificateV2 {
  @AsnProp({ type: EssCertIdsV2 })
  certs = new EssCertIdsV2();

  @AsnProp({ type: AsnPropTypes.Any, optional: true })
  policies?: ArrayBuffer;
}

@AsnType({ type: AsnTypeTypes.Sequence })
class EssCertId {
  @AsnProp({ type: OctetString })
  certHash = new OctetString();

  @AsnProp({ type: AsnPropTypes.Any, optional: true })
  issuerSerial?: ArrayBuffer;
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: EssCertId })
class EssCertIds extends AsnArray<EssCertId> {}

@AsnType({ type: AsnTypeTypes.Sequence })
class SigningCertificateV1 {
  @AsnProp({ type: EssCertIds })
  certs = new EssCertIds();

  @AsnProp({ type: AsnPropTypes.Any, optional: true })
  policies?: ArrayBuffer;
}

@AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })
class SignedAttributes extends AsnArray<Attribute> {}

@AsnType({ type: AsnTypeTypes.Set, itemType: AsnPropTypes.Any })
class RawCertificates extends AsnArray<ArrayBuffer> {}

/**
 * RFC 5652's SignedData with its certificates left as DER, for OpenSSL (node:crypto) to read:
 * asn1-x509's full schema of each certificate is most of what parsing a token costs.
 */
@AsnType({ type: AsnTypeTypes.Sequence })
class TimestampSignedData {
  @AsnProp({ type: AsnPropTypes.Integer })
  version = 0;

  @AsnProp({ type: AsnPropTypes.Any })
  digestAlgorithms = new ArrayBuffer(0);

  @AsnProp({ type: EncapsulatedContentInfo })
  encapContentInfo = new EncapsulatedContentInfo();

  @AsnProp({ type: RawCertificates, context: 0, implicit: true, optional: true })
  certificates?: RawCertificates;

  @AsnProp({ type: AsnPropTypes.Any, context: 1, implicit: true, optional: true })
  crls?: ArrayBuffer;

  /** Read with asn1js below, to keep the signed attributes' DER exactly as it was signed. */
  @AsnProp({ type: AsnPropTypes.Any })
  signerInfos = new ArrayBuffer(0);
}

/**
 * RFC 5652's SignerInfo, read element by element from asn1js's tree: asn1-cms's schema reads the
 * implicitly tagged signed attributes by re-encoding them (most of what a token cost to parse) and
 * does not keep their DER, which is what the signature covers.
 */
interface TimestampSignerInfo {
  readonly sid: SignerIdentifier;
  readonly digestAlgorithm: AlgorithmIdentifier;
  /** The signed attributes' DER, re-tagged as the SET the signature covers. */
  readonly signedAttributes: Buffer;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Buffer;
}

/** The only SignerInfo of a SET of them, or undefined when there is not exactly one that fits. */
function signerInfoOf(set: ArrayBuffer): TimestampSignerInfo | undefined {
  const read = fromBER(set);
  if (read.offset === -1 || !(read.result instanceof Set) || read.result.valueBlock.value.length !== 1)
    return undefined;
  const [info] = read.result.valueBlock.value;
  if (!(info instanceof Sequence)) return undefined;
  const der = (element: BaseBlock): ArrayBuffer => element.toBER(false);
  const [, sid, digestAlgorithm, attributes, signatureAlgorithm, signature] = info.valueBlock.value;
  // [0] IMPLICIT SET OF Attribute: context-specific (class 3), constructed, tag 0.
  if (!attributes || attributes.idBlock.tagClass !== 3 || attributes.idBlock.tagNumber !== 0)
    return undefined;
  if (!signatureAlgorithm || !signature) return undefined;
  const signedAttributes = Buffer.from(attributes.valueBeforeDecodeView);
  signedAttributes[0] = 0x31;
  return {
    sid: AsnConvert.parse(der(sid), SignerIdentifier),
    digestAlgorithm: AsnConvert.parse(der(digestAlgorithm), AlgorithmIdentifier),
    signedAttributes,
    signatureAlgorithm: AsnConvert.parse(der(signatureAlgorithm), AlgorithmIdentifier),
    signature: buffer(AsnConvert.parse(der(signature), OctetString).buffer),
  };
}

/** A bare OBJECT IDENTIFIER, as the content-type attribute holds one. */
@AsnType({ type: AsnTypeTypes.Choice })
class ObjectIdentifierValue {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier })
  value = '';
}

/** Which certificate signed: by issuer and serial number (DER), or by subject key identifier. */
export type TimestampSignerId =
  { readonly issuer: Buffer; readonly serial: Buffer } | { readonly keyId: Buffer };

/**
 * A timestamp read into its validated shape, nothing of it believed yet: what it stamps, when, and
 * what would prove that its authority said so.
 */
export interface SignedTimestamp {
  readonly genTime: Date;
  /** TSTInfo's accuracy, in milliseconds (0 when it states none). */
  readonly accuracyMs: number;
  /** The hash of what it stamps, and with which algorithm. */
  readonly imprint: { readonly hash: HashName; readonly digest: Buffer };
  /** The TSTInfo's DER, which the message-digest attribute must hash to. */
  readonly tstInfo: Buffer;
  readonly contentType?: string;
  readonly messageDigest?: Buffer;
  /** The signed attributes as DER with their SET tag, which is what the signature covers. */
  readonly signedAttributes: Buffer;
  readonly digestHash: HashName;
  readonly scheme: SignatureScheme;
  readonly signature: Buffer;
  readonly signer: TimestampSignerId;
  /** The first ESSCertID(v2) of the signing-certificate attribute: the signer's certificate hash. */
  readonly signingCertificate?: { readonly hash: HashName; readonly digest: Buffer };
  /** The certificates the token carries, at most MAX_CHAIN_CERTIFICATES. */
  readonly certificates: readonly X509Certificate[];
}

/** Why bytes are not a timestamp, before anything about them is judged. */
export type TimestampShapeProblem = 'too long' | 'unreadable' | 'not granted' | 'unsupported algorithm';

const buffer = (bytes: ArrayBuffer | ArrayBufferView): Buffer =>
  ArrayBuffer.isView(bytes)
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : Buffer.from(bytes);

/**
 * The token of a TimeStampResp (what TSAs answer, and what sigstore stores), or a bare token
 * (notation's). A response's first element is a SEQUENCE (its status), a token's an OBJECT
 * IDENTIFIER (its content type): the tag after the outer header tells them apart without a parse.
 */
function tokenOf(der: Buffer): ContentInfo | 'not granted' | 'unreadable' {
  const lengthBytes = der[1] & 0x80 ? 1 + (der[1] & 0x7f) : 1;
  const first = der[1 + lengthBytes];
  if (der[0] !== 0x30 || (first !== 0x30 && first !== 0x06)) return 'unreadable';
  if (first === 0x06) return AsnConvert.parse(der, ContentInfo);
  const response = AsnConvert.parse(der, TimeStampResp);
  const { status } = response.status;
  if (status !== PKIStatus.granted && status !== PKIStatus.grantedWithMods) return 'not granted';
  return response.timeStampToken ?? 'not granted';
}

/**
 * A timestamp's DER (a TimeStampResp or a TimeStampToken) in the validated shape, or why it is
 * none. Nothing here throws: asn1js bounds nesting and node count itself, and DER past
 * MAX_TIMESTAMP_BYTES is not read at all.
 */
export function signedTimestampOf(der: Buffer): SignedTimestamp | TimestampShapeProblem {
  if (der.length > MAX_TIMESTAMP_BYTES) return 'too long';
  try {
    const token = tokenOf(der);
    if (typeof token === 'string') return token;
    if (token.contentType !== id_signedData) return 'unreadable';
    const signed = AsnConvert.parse(token.content, TimestampSignedData);
    if (signed.encapContentInfo.eContentType !== id_ct_tstInfo) return 'unreadable';
    const content = signed.encapContentInfo.eContent?.single;
    const signer = signerInfoOf(signed.signerInfos);
    if (!content || !signer) return 'unreadable';
    const tstInfo = buffer(content.buffer);
    const info = AsnConvert.parse(tstInfo, TSTInfo);
    const { signedAttributes } = signer;
    const attributes = AsnConvert.parse(signedAttributes, SignedAttributes);
    const imprintHash = HASHES[info.messageImprint.hashAlgorithm.algorithm];
    const digestHash = HASHES[signer.digestAlgorithm.algorithm];
    const algorithm = SIGNATURE_ALGORITHMS[signer.signatureAlgorithm.algorithm];
    if (!imprintHash || !digestHash || digestHash === 'sha1' || !algorithm) return 'unsupported algorithm';
    const hash = algorithm.hash ?? digestHash;
    const attribute = (oid: string): Buffer | undefined => {
      const found = attributes.filter((a) => a.attrType === oid);
      // RFC 5652 §5.3: each of these attributes appears once, with one value.
      if (found.length !== 1 || found[0].attrValues.length !== 1) return undefined;
      return buffer(found[0].attrValues[0]);
    };
    const contentType = attribute(CONTENT_TYPE);
    const messageDigest = attribute(MESSAGE_DIGEST);
    const v2 = attribute(SIGNING_CERTIFICATE_V2);
    const v1 = attribute(SIGNING_CERTIFICATE);
    let signingCertificate: SignedTimestamp['signingCertificate'];
    if (v2) {
      const first = AsnConvert.parse(v2, SigningCertificateV2).certs[0];
      const certificateHash = first?.hashAlgorithm ? HASHES[first.hashAlgorithm.algorithm] : 'sha256';
      if (first && certificateHash)
        signingCertificate = { hash: certificateHash, digest: buffer(first.certHash.buffer) };
    } else if (v1) {
      const first = AsnConvert.parse(v1, SigningCertificateV1).certs[0];
      if (first) signingCertificate = { hash: 'sha1', digest: buffer(first.certHash.buffer) };
    }
    const accuracy = info.accuracy;
    const sid = signer.sid;
    return {
      genTime: info.genTime,
      accuracyMs: accuracy
        ? (accuracy.seconds ?? 0) * 1000 + (accuracy.millis ?? 0) + Math.ceil((accuracy.micros ?? 0) / 1000)
        : 0,
      imprint: { hash: imprintHash, digest: buffer(info.messageImprint.hashedMessage.buffer) },
      tstInfo,
      contentType: contentType && AsnConvert.parse(contentType, ObjectIdentifierValue).value,
      messageDigest: messageDigest && buffer(AsnConvert.parse(messageDigest, OctetString).buffer),
      signedAttributes,
      digestHash,
      scheme: { hash: hash === 'sha1' ? 'sha256' : hash },
      signature: signer.signature,
      signer: sid.issuerAndSerialNumber
        ? {
            issuer: Buffer.from(AsnConvert.serialize(sid.issuerAndSerialNumber.issuer)),
            serial: buffer(sid.issuerAndSerialNumber.serialNumber),
          }
        : { keyId: buffer(sid.subjectKeyIdentifier!.buffer) },
      ...(signingCertificate ? { signingCertificate } : {}),
      // Certificates other than X.509 ones (attribute certificates, tagged) do not parse, and are passed over.
      certificates: (signed.certificates ?? []).slice(0, MAX_CHAIN_CERTIFICATES).flatMap((raw) => {
        try {
          return [new X509Certificate(Buffer.from(raw))];
        } catch {
          return [];
        }
      }),
    };
  } catch {
    return 'unreadable';
  }
}

/**
 * The timestamp authorities a rule trusts: their certificates (a TSA's own, its intermediates and
 * roots, as a trusted root's `timestampAuthorities` or a PEM file lists them), each within its
 * trusted root's `validFor` where one is given.
 */
export type TrustedTimestampAuthorities = Anchors;

/** Why a timestamp does not count, as a code; verification-words.ts gives its words. */
export type TimestampProblem =
  | { readonly code: 'other signature' }
  | { readonly code: 'not signed' }
  | { readonly code: 'no signing certificate' }
  | { readonly code: 'signing certificate attribute' }
  | { readonly code: 'not for timestamping' }
  | { readonly code: 'untrusted authority'; readonly detail: string }
  | { readonly code: 'over budget' };

/** A timestamp that verified: when, within what accuracy, and by which authority. */
export interface VerifiedTimestamp {
  readonly time: Date;
  readonly accuracyMs: number;
  readonly authority: X509Certificate;
}

const hashOf = (hash: HashName, bytes: Buffer): Buffer => createHash(hash).update(bytes).digest();

const sameSigner = (certificate: X509Certificate, signer: TimestampSignerId): boolean => {
  const read = asn1Certificate(certificate);
  if (!read) return false;
  if ('keyId' in signer) return subjectKeyId(read)?.equals(signer.keyId) === true;
  return (
    buffer(read.tbsCertificate.serialNumber).equals(signer.serial) &&
    Buffer.from(AsnConvert.serialize(read.tbsCertificate.issuer)).equals(signer.issuer)
  );
};

const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

function subjectKeyId(certificate: Certificate): Buffer | undefined {
  const extension = certificate.tbsCertificate.extensions?.find((e) => e.extnID === SUBJECT_KEY_IDENTIFIER);
  if (!extension) return undefined;
  try {
    return buffer(AsnConvert.parse(extension.extnValue.buffer, OctetString).buffer);
  } catch {
    return undefined;
  }
}

/**
 * RFC 3161 §2.3: a TSA's certificate carries exactly one extended key usage, timeStamping, marked
 * critical; where it has a key usage, that allows digital signatures; it is no CA.
 */
function timestampingCertificateProblem(certificate: X509Certificate): boolean {
  const capabilities = capabilitiesOf(certificate);
  return (
    capabilities === undefined ||
    capabilities.ca ||
    !capabilities.extendedUsagesCritical ||
    capabilities.extendedUsages?.length !== 1 ||
    capabilities.extendedUsages[0] !== id_kp_timeStamping ||
    (capabilities.keyUsage !== undefined && (capabilities.keyUsage & KeyUsageFlags.digitalSignature) === 0)
  );
}

/**
 * Whether `timestamp` stamps exactly `stamped` (a signature's bytes), in the word of an authority
 * the rule trusts: the imprint is the hash of those bytes; the signed attributes name a TSTInfo
 * and hash to this one; the certificate they name (by issuer and serial, or key identifier, and by
 * the signing-certificate attribute where there is one, which `requireSigningCertificate` makes a
 * must, as the Notary Project does) signed them; that certificate is for timestamping only and
 * chains to a trusted authority, every certificate on the way valid at the stamped time. One
 * signature check, paid from the budget.
 */
export function timestampOutcome(
  timestamp: SignedTimestamp,
  stamped: Buffer,
  authorities: TrustedTimestampAuthorities,
  check: SignatureCheck,
  options: {
    readonly requireSigningCertificate?: boolean;
    /** Pays each link of the TSA's chain checked, as a signature check. */
    readonly takeCheck?: TakeCheck;
  } = {},
): VerifiedTimestamp | { readonly problem: TimestampProblem } {
  const problem = (p: TimestampProblem) => ({ problem: p });
  if (!hashOf(timestamp.imprint.hash, stamped).equals(timestamp.imprint.digest))
    return problem({ code: 'other signature' });
  if (
    timestamp.contentType !== id_ct_tstInfo ||
    !timestamp.messageDigest?.equals(hashOf(timestamp.digestHash, timestamp.tstInfo))
  )
    return problem({ code: 'not signed' });
  const pool = [...timestamp.certificates, ...authorities.authorities];
  const signer = pool.find((certificate) => sameSigner(certificate, timestamp.signer));
  if (!signer) return problem({ code: 'no signing certificate' });
  const named = timestamp.signingCertificate;
  if (named ? !hashOf(named.hash, signer.raw).equals(named.digest) : options.requireSigningCertificate)
    return problem({ code: 'signing certificate attribute' });
  if (timestampingCertificateProblem(signer)) return problem({ code: 'not for timestamping' });
  const at = timestamp.genTime;
  if (!validAt(signer, at))
    return problem({
      code: 'untrusted authority',
      detail: `its certificate is not valid at ${at.toISOString()}`,
    });
  let path: X509Certificate[] | { problem: string };
  try {
    const takeCheck = options.takeCheck ?? (() => true);
    path = pathToAuthority(signer, timestamp.certificates, authorities, at, takeCheck, 'timestamping');
  } catch (error) {
    if (error instanceof ChecksSpent) return problem({ code: 'over budget' });
    throw error;
  }
  if ('problem' in path)
    return problem({
      code: 'untrusted authority',
      detail: path.problem.replace('the signing certificate', "the timestamp authority's certificate"),
    });
  const verified = check(signer.publicKey, timestamp.signedAttributes, timestamp.signature, timestamp.scheme);
  if (verified === 'over budget') return problem({ code: 'over budget' });
  if (!verified) return problem({ code: 'not signed' });
  return { time: at, accuracyMs: timestamp.accuracyMs, authority: signer };
}

import type { X509Certificate } from 'node:crypto';
import type { NotationHeaders, NotationAlgorithm } from './notation-envelope';

// The one shape every kind of evidence is read into before anything about it is judged: cosign's
// classic `.sig` and `.att` layers and sigstore bundles alike. Its fields have the types they claim
// and its lists their bounds; none of it is believed until a signature over it verifies.

/** Where a piece of evidence was found, as explanations name it. */
export type EvidenceSource = 'sig tag' | 'att tag' | 'sigstore bundle' | 'notation signature';

/**
 * An RFC 3161 timestamp's DER, at most MAX_TIMESTAMP_BYTES, not yet read: parsing the CMS costs
 * about what a signature check costs, so it is done when the timestamp is judged, and paid from the
 * same budget (rfc3161-timestamp.ts reads it into its validated shape then, or discards it).
 */
export type TimestampBytes = Buffer;

/** A signature that passed the structural checks: base64 of a plausible signature, never empty. */
export interface CandidateSignature {
  readonly bytes: Buffer;
  /** The key the signer names (DSSE `keyid`): tried first, never the only one tried. */
  readonly keyHint?: string;
}

/** Who claims to have signed: a key named by a hint, or a certificate with the chain it came with. */
export interface SignerMaterial {
  /** A bundle's `verificationMaterial.publicKey.hint`. */
  readonly keyHint?: string;
  readonly certificate?: X509Certificate;
  /** Untrusted intermediates (and perhaps a root), at most MAX_CHAIN_CERTIFICATES. */
  readonly chain: readonly X509Certificate[];
  /**
   * RFC 3161 timestamps over the signature (a bundle's `timestampVerificationData`, cosign's
   * `dev.sigstore.cosign/rfc3161timestamp` annotation), at most MAX_TIMESTAMPS_PER_SIGNATURE.
   */
  readonly timestamps: readonly TimestampBytes[];
}

/**
 * A transparency-log entry as a bundle carries it, every field present having the type it claims
 * (numbers written as JSON numbers are read as the strings protobuf's JSON form writes).
 * https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_rekor.proto
 */
export interface TlogEntry {
  readonly logIndex?: string;
  readonly logId?: { readonly keyId?: string };
  readonly kindVersion?: { readonly kind?: string; readonly version?: string };
  readonly integratedTime?: string;
  /** Rekor's signed entry timestamp: the log's signature over the body, the time and the index. */
  readonly inclusionPromise?: { readonly signedEntryTimestamp?: string };
  readonly canonicalizedBody?: string;
  readonly inclusionProof?: {
    readonly logIndex?: string;
    readonly rootHash?: string;
    readonly treeSize?: string;
    readonly hashes?: readonly string[];
    readonly checkpoint?: { readonly envelope?: string };
  };
}

/** cosign's classic signature: a simple-signing payload, one signature over its exact bytes. */
export interface SimpleSigningArtifact {
  readonly kind: 'simple signing';
  readonly source: 'sig tag';
  /** The digest of the blob it came from. */
  readonly artifact: string;
  readonly payload: Buffer;
  readonly signatures: readonly CandidateSignature[];
  readonly signer: SignerMaterial;
  /** What its timestamps stamp: the signature's bytes, as cosign sends them to its TSA. */
  readonly stamped: Buffer;
}

/** A DSSE envelope, from a classic `.att` layer or a sigstore bundle; its payload decoded once. */
export interface EnvelopeArtifact {
  readonly kind: 'dsse';
  readonly source: 'att tag' | 'sigstore bundle';
  /** The blob (classic) or the bundle's manifest (referrer) it came from. */
  readonly artifact: string;
  readonly payloadType: string;
  readonly payload: Buffer;
  /** The usable signatures, at most MAX_SIGNATURES_PER_ENVELOPE. */
  readonly signatures: readonly CandidateSignature[];
  /** Signature entries as written, usable or not: a sigstore bundle's envelope must carry exactly one. */
  readonly writtenSignatures: number;
  readonly signer: SignerMaterial;
  /** At most MAX_TLOG_ENTRIES_PER_BUNDLE; none in cosign's classic layout. */
  readonly tlogEntries: readonly TlogEntry[];
  /**
   * What its timestamps stamp: a bundle's one signature, or (cosign's classic `.att`, whose
   * envelope may carry several) the layer's whole blob.
   */
  readonly stamped: Buffer;
}

/**
 * A Notary Project signature: a JWS or COSE envelope with the `notary.x509` scheme's headers, its
 * certificate chain (signing certificate first), and perhaps a timestamp countersignature.
 * https://github.com/notaryproject/specifications/blob/main/specs/signature-specification.md
 */
export interface NotationArtifact {
  readonly kind: 'notation';
  readonly source: 'notation signature';
  /** The signature manifest it came from. */
  readonly artifact: string;
  readonly format: 'JWS' | 'COSE';
  /** The algorithm the protected header names, if it is one the Notary Project allows. */
  readonly algorithm?: NotationAlgorithm;
  /** What the signature covers: JWS's signing input, or COSE's Sig_structure. */
  readonly signed: Buffer;
  readonly signature: Buffer;
  readonly payload: Buffer;
  readonly headers: NotationHeaders;
  /** At most MAX_CHAIN_CERTIFICATES + 1, as written. */
  readonly chain: readonly X509Certificate[];
  /** The countersignature, if any: a timestamp over `signature`. */
  readonly timestamps: readonly TimestampBytes[];
}

/** A sigstore bundle over something other than a DSSE envelope (a message signature, for blobs). */
export interface OtherBundleArtifact {
  readonly kind: 'no envelope';
  readonly source: 'sigstore bundle';
  readonly artifact: string;
}

export type Artifact = SimpleSigningArtifact | EnvelopeArtifact | OtherBundleArtifact | NotationArtifact;

/**
 * Why something read was discarded before any judgement, one metric label each: what did not fit
 * the shape (malformed), and what a budget left unread.
 */
export const DISCARD_REASONS = [
  'malformed descriptor',
  'malformed manifest',
  'unreadable artifact',
  'malformed envelope',
  'malformed bundle',
  'malformed signature',
  'malformed certificate',
  'malformed log entry',
  'malformed timestamp',
  'artifacts over budget',
  'signatures over budget',
  'log entries over budget',
  'certificates over budget',
  'timestamps over budget',
  'signature checks over budget',
] as const;
export type DiscardReason = (typeof DISCARD_REASONS)[number];

/** What exactly did not fit, as a code; `discardText` gives its words. */
export type DiscardCause =
  | 'not an object'
  | 'not JSON'
  | 'no sha256 digest'
  | 'field of the wrong type'
  | 'layers not a list'
  | 'referrers not a list'
  | 'no signature annotation'
  | 'no payload'
  | 'payload not base64'
  | 'no payload type'
  | 'signatures not a list'
  | 'empty signature'
  | 'signature not base64'
  | 'signature too long'
  | 'certificate unreadable'
  | 'log entries not a list'
  | 'proof too long'
  | 'chain not a list'
  | 'registry failure'
  | 'timestamp unreadable'
  | 'timestamp too long'
  | 'timestamp not granted'
  | 'unsupported algorithm'
  | 'too deeply nested'
  | 'over budget';

/** Something discarded, with how many of it; never judged, never counted toward a verdict. */
export interface Discard {
  readonly source: EvidenceSource;
  readonly reason: DiscardReason;
  readonly cause: DiscardCause;
  /** The digest, or the registry's own words for a failure, where there is one. */
  readonly subject?: string;
  readonly count: number;
}

export const discard = (
  source: EvidenceSource,
  reason: DiscardReason,
  cause: DiscardCause,
  extra: { subject?: string; count?: number } = {},
): Discard => ({
  source,
  reason,
  cause,
  count: extra.count ?? 1,
  ...(extra.subject ? { subject: extra.subject } : {}),
});

/** Everything read about one image: the artifacts to judge, and what was discarded on the way. */
export interface ReadEvidence {
  readonly artifacts: readonly Artifact[];
  readonly discarded: readonly Discard[];
  /**
   * Whether an artifact went unread for a reason that may pass (anything but not found or an
   * invalid answer, e.g. a download refused for this review's byte budget): a verdict without it
   * says nothing lasting about the image, and is not cached.
   */
  readonly transient: boolean;
}

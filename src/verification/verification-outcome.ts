import type { X509Certificate } from 'node:crypto';
import type { RegistryFailureReason } from '../registry';
import type { EvidenceSource } from './evidence';
import type { TimestampProblem, VerifiedTimestamp } from './rfc3161-timestamp';
import type { TlogProblem } from './transparency-log';
import type { TrustedKey } from './trust';

// What verification decides, as codes. The words kubectl, `explain` and metrics show are made from
// these in one place, verification-words.ts, once a verdict is reached.

/** Who a verified signature is by. */
export type Signer =
  | { readonly key: TrustedKey }
  | { readonly certificate: X509Certificate }
  | { readonly notation: X509Certificate; readonly format: 'JWS' | 'COSE' };

/** Why a Notary Project signature does not count, before or beside its certificate chain. */
export type NotationProblem =
  | { readonly code: 'signing scheme'; readonly scheme: string | undefined }
  | { readonly code: 'critical header'; readonly header: string }
  | { readonly code: 'critical header absent'; readonly header: string }
  | { readonly code: 'header not critical'; readonly header: string }
  | { readonly code: 'content type'; readonly contentType: string | undefined }
  | { readonly code: 'no signing time' }
  | { readonly code: 'algorithm'; readonly algorithm: string | undefined }
  | { readonly code: 'chain'; readonly detail: ChainProblem }
  | { readonly code: 'not in trust store' }
  | { readonly code: 'identity'; readonly subject: string }
  | { readonly code: 'expired'; readonly expiry: Date };

/** Why a Notary Project certificate chain is not one, as the specification's requirements say. */
export type ChainProblem =
  | 'unreadable'
  | 'too long'
  | 'out of order'
  | 'no root'
  | 'signing certificate'
  | 'issuing certificate'
  | 'path length'
  | 'weak key'
  | 'sha1'
  | 'not valid now'
  | 'not valid at timestamp';

/** What became of one RFC 3161 timestamp. */
export type TimestampJudgement =
  { readonly verified: VerifiedTimestamp } | { readonly problem: TimestampProblem };

/** Why one piece of evidence does not count. */
export type EvidenceProblem =
  /** Evidence of the other kind: an attestation met while looking for signatures, or the reverse. */
  | { readonly code: 'not asked for' }
  | { readonly code: 'no tlog proof'; readonly classicLayout: boolean }
  | { readonly code: 'tlog'; readonly problem: TlogProblem }
  | { readonly code: 'no envelope' }
  | { readonly code: 'payload type'; readonly payloadType: string }
  /** A sigstore bundle's envelope carries exactly one signature (sigstore-go refuses any other count). */
  | { readonly code: 'not one signature'; readonly count: number }
  | { readonly code: 'untrusted key' }
  | { readonly code: 'no certificate' }
  /** certificateProblem's own words, kept as they are. */
  | { readonly code: 'certificate'; readonly detail: string }
  | { readonly code: 'certificate key' }
  /** The budget of signature checks ran out before one verified. */
  | { readonly code: 'unchecked' }
  /** Signed by a trusted key or identity, but the rule wants a verified signed time and there is none. */
  | { readonly code: 'no verified timestamp' }
  | { readonly code: 'notation'; readonly problem: NotationProblem }
  | { readonly code: 'payload not JSON' }
  | { readonly code: 'not a cosign signature' }
  | { readonly code: 'not a statement' }
  | { readonly code: 'other digest' }
  | { readonly code: 'predicate type'; readonly predicateType: string | undefined };

/** What one piece of evidence proves, for the request it was judged for. */
export interface Judgement {
  readonly source: EvidenceSource;
  /** Set when a trusted signature verified, whether or not its payload then counted. */
  readonly signer?: Signer;
  /**
   * With `signer`: who signed (a key, a certificate's identity, a Notary Project subject), so that
   * one signer counts once toward a threshold however many of its signatures are present, and
   * the rule's trusted keys or identities it stands for, each of which it can satisfy for a
   * threshold (but only one of them at a time).
   */
  readonly signerId?: string;
  readonly entries?: readonly string[];
  readonly problem?: EvidenceProblem;
  /** The predicate type the (verified or not) DSSE payload claims. */
  readonly predicateType?: string;
  /**
   * The in-toto statement, parsed, of an attestation that counts: a trusted signature over it
   * verified, its subject names the digest and its type is the one asked for. Nothing else that
   * was read is ever handed on as a statement.
   */
  readonly statement?: VerifiedStatement;
  /** Every timestamp the evidence carried, judged. */
  readonly timestamps?: readonly TimestampJudgement[];
}

/** A verified statement as JSON, and the size of the payload it was read from. */
export interface VerifiedStatement {
  readonly json: Readonly<Record<string, unknown>>;
  readonly bytes: number;
}

/** The verdict over everything found about one digest. */
export type VerificationOutcome =
  | { readonly code: 'verified' }
  | { readonly code: 'no signature' }
  | { readonly code: 'signature for another digest' }
  | { readonly code: 'no tlog proof' }
  | { readonly code: 'no trusted signature'; readonly signers: 'keys' | 'identities' }
  | { readonly code: 'no attestation'; readonly predicateType: string }
  | { readonly code: 'attestation for another digest' }
  | {
      readonly code: 'no trusted attestation';
      readonly predicateType: string;
      readonly signers: 'keys' | 'identities';
    }
  | { readonly code: 'registry failure'; readonly reason: RegistryFailureReason }
  | { readonly code: 'no verified timestamp' }
  | { readonly code: 'no notation signature' }
  | { readonly code: 'not enough signers'; readonly counted: number; readonly threshold: number };

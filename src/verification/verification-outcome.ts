import type { X509Certificate } from 'node:crypto';
import type { RegistryFailureReason } from '../registry';
import type { EvidenceSource } from './evidence';
import type { TlogProblem } from './transparency-log';
import type { TrustedKey } from './trust';

// What verification decides, as codes. The words kubectl, `explain` and metrics show are made from
// these in one place, verification-words.ts, once a verdict is reached.

/** Who a verified signature is by. */
export type Signer = { readonly key: TrustedKey } | { readonly certificate: X509Certificate };

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
  readonly problem?: EvidenceProblem;
  /** The predicate type the (verified or not) DSSE payload claims. */
  readonly predicateType?: string;
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
  | { readonly code: 'registry failure'; readonly reason: RegistryFailureReason };

/**
 * What this process serves and enforces, and since when: the certificate and the policy revision.
 * A cluster worker reports it to the primary, whose /readyz lists every worker's and fails when
 * they disagree for too long; a single process shows it in its own /readyz.
 */
export interface ServingStateSnapshot {
  readonly fingerprint256: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** When this certificate was loaded or rotated in. */
  readonly certificateSince: string;
  readonly policyRevision: string;
  /** When this policy revision was loaded or reloaded. */
  readonly policySince: string;
}

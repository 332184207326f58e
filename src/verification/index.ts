// Cosign signature and attestation verification as the engine sees it: trust material compiled
// from files, and one verifier with its cache.
export * from './trust';
export {
  DistinguishedNameError,
  X509_SUBJECT,
  isSubsetName,
  parseDistinguishedName,
} from './notation-identity';
export { ImageVerifier, registryFailureReason } from './image-verifier.service';
export type { Discard, DiscardReason } from './evidence';
export type {
  EvidenceReport,
  VerificationRequest,
  VerificationResult,
  VerificationTarget,
  VerifiedAttestation,
} from './image-verifier.service';
export { VerificationModule } from './verification.module';
export { verifyLocalAttestations } from './local-attestations';
export { countDistinctSigners } from './evidence-verifier';
export type { SignerTally } from './evidence-verifier';
export type { LocalAttestation } from './local-attestations';
export type { DsseEnvelope, TlogEntry } from './cosign-evidence';

// Cosign signature and attestation verification as the engine sees it: trust material compiled
// from files, and one verifier with its cache.
export * from './trust';
export { ImageVerifier, registryFailureReason } from './image-verifier.service';
export type { Discard, DiscardReason } from './evidence';
export type {
  EvidenceReport,
  VerificationRequest,
  VerificationResult,
  VerificationTarget,
} from './image-verifier.service';
export { VerificationModule } from './verification.module';

// The policy feature as other features see it: the engine, the store whose reloads they observe,
// and the decision they report. What lies behind (the compiler, the rules) stays inside.
export { PolicyModule } from './policy.module';
export { ImagePolicyService } from './image-policy.service';
export { DigestPinningService, ledgerPinWarnings, pinnedImage } from './digest-pinning.service';
export type { ImagePin, PinOutcome, PinningDecision } from './digest-pinning.service';
export type {
  DecideOptions,
  PolicyExplanation,
  ImageTrace,
  RuleTrace,
  RuleSkip,
  VerificationEvent,
} from './image-policy.service';
export { PolicyStore } from './policy-file/policy-store.service';
export type { PolicyNoticeLevel, PolicyReloadResult } from './policy-file/policy-store.service';
export type { CompiledImagePolicy } from './policy-file/compiled-image-policy';
export type * from './image-policy.types';
export type { AttestationJudgement } from './rules/image-rule';
export * from './policy-decision';
export { describeTicket } from './break-glass';
export { withPolicyEngine } from './policy-engine';
export { INVALID_REFERENCE_RULE, RULE_FAILURE_RULE } from './image-policy.service';
export { didYouMean } from './policy-file/image-policy.compiler';
export { IMAGE_POLICY_API_VERSION, OBJECT_METADATA_SCHEMA } from './policy-file/image-policy.schema';
export type { Enforcement } from './policy-file/image-policy.schema';
export { InvalidPolicyError, formatPolicyPath } from './policy-file/invalid-policy.error';
export { parsePolicyDocument, pointerToPath, valueAt } from './policy-file/policy-document';

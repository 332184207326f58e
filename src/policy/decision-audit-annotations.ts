import { ImageVerdict, PolicyDecision } from './image-policy.types';

/** "allow", or "deny:" and the rules that denied it. */
const imageOutcome = (verdict: ImageVerdict): string =>
  verdict.violations.length === 0 ? 'allow' : `deny:${verdict.violations.map((v) => v.rule).join(',')}`;

/**
 * The decision as audit annotations, identical for both review types. The apiserver prefixes each
 * key (`imagepolicywebhook.image-policy.k8s.io/<key>` for ImageReview, `<webhook name>/<key>` for
 * AdmissionReview), so keys must be valid label-name parts; per-image outcomes share one JSON value.
 */
export function decisionAuditAnnotations(decision: PolicyDecision): Record<string, string> {
  const images = Object.fromEntries(decision.verdicts.map((v) => [v.subject.image, imageOutcome(v)]));
  return { decision: decision.allowed ? 'allow' : 'deny', images: JSON.stringify(images) };
}

import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import { ImageVerdict, PolicyDecision } from './image-policy.types';

export interface ImageReviewResponse {
  apiVersion: typeof IMAGE_REVIEW_API_VERSION;
  kind: typeof IMAGE_REVIEW_KIND;
  status: { allowed: boolean; reason?: string; auditAnnotations: Record<string, string> };
}

/** "allow", or "deny:" and the rules that denied it. */
const imageOutcome = (verdict: ImageVerdict): string =>
  verdict.violations.length === 0 ? 'allow' : `deny:${verdict.violations.map((v) => v.rule).join(',')}`;

/**
 * Audit annotation keys reach the audit log as `imagepolicywebhook.image-policy.k8s.io/<key>`,
 * so they must be valid label-name parts. Per-image outcomes go in one JSON value to stay compact.
 */
export function decisionAuditAnnotations(decision: PolicyDecision): Record<string, string> {
  const images = Object.fromEntries(decision.verdicts.map((v) => [v.subject.image, imageOutcome(v)]));
  return { decision: decision.allowed ? 'allow' : 'deny', images: JSON.stringify(images) };
}

/**
 * One clause per rule, each listing the images it denied:
 * "Images using latest tag are not allowed: nginx, registry:5000/app".
 */
export function denialReason(decision: PolicyDecision): string {
  const clauses = new Map<string, { summary: string; images: Set<string> }>();
  for (const verdict of decision.verdicts) {
    for (const violation of verdict.violations) {
      const clause = clauses.get(violation.rule) ?? { summary: violation.summary, images: new Set<string>() };
      clauses.set(violation.rule, clause);
      clause.images.add(
        violation.detail === undefined
          ? verdict.subject.image
          : `${JSON.stringify(verdict.subject.image)} (${violation.detail})`,
      );
    }
  }
  return [...clauses.values()].map((c) => `${c.summary}: ${[...c.images].join(', ')}`).join('; ');
}

export function toImageReviewResponse(decision: PolicyDecision): ImageReviewResponse {
  return {
    apiVersion: IMAGE_REVIEW_API_VERSION,
    kind: IMAGE_REVIEW_KIND,
    status: {
      allowed: decision.allowed,
      ...(decision.allowed ? {} : { reason: denialReason(decision) }),
      auditAnnotations: decisionAuditAnnotations(decision),
    },
  };
}

import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import { decisionAuditAnnotations } from './decision-audit-annotations';
import { PolicyDecision } from './image-policy.types';

export interface ImageReviewResponse {
  apiVersion: typeof IMAGE_REVIEW_API_VERSION;
  kind: typeof IMAGE_REVIEW_KIND;
  status: { allowed: boolean; reason?: string; auditAnnotations: Record<string, string> };
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

import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import {
  PolicyDecision,
  decisionAuditAnnotations,
  decisionWarnings,
  displayImage,
  violationsWith,
} from '../policy';

export interface ImageReviewResponse {
  apiVersion: typeof IMAGE_REVIEW_API_VERSION;
  kind: typeof IMAGE_REVIEW_KIND;
  status: { allowed: boolean; reason?: string; auditAnnotations: Record<string, string> };
}

/**
 * One clause per enforced rule finding, each listing the images:
 * "Images using latest tag are not allowed: nginx, registry:5000/app (rule no-latest)".
 * Refused break-glass tickets follow, so the user learns why their ticket did not help.
 */
export function denialReason(decision: PolicyDecision): string {
  const clauses = new Map<string, { text: string; rule: string; images: Set<string> }>();
  for (const { verdict, violation } of violationsWith(decision, 'enforce')) {
    const key = `${violation.rule}\n${violation.summary}`;
    const clause = clauses.get(key) ?? {
      text: violation.summary,
      rule: violation.rule,
      images: new Set<string>(),
    };
    clauses.set(key, clause);
    clause.images.add(
      violation.detail === undefined
        ? displayImage(verdict)
        : `${displayImage(verdict)} (${violation.detail})`,
    );
  }
  return [
    ...[...clauses.values()].map((c) => `${c.text}: ${[...c.images].join(', ')} (rule ${c.rule})`),
    ...decision.breakGlassRefusals,
  ].join('; ');
}

export function toImageReviewResponse(decision: PolicyDecision): ImageReviewResponse {
  // ImageReview has no warnings field; warn-mode findings go to the audit log instead.
  const warnings = decisionWarnings(decision);
  const auditAnnotations = decisionAuditAnnotations(decision);
  if (warnings.length > 0) auditAnnotations.warnings = warnings.join('; ');
  return {
    apiVersion: IMAGE_REVIEW_API_VERSION,
    kind: IMAGE_REVIEW_KIND,
    status: decision.allowed
      ? { allowed: true, auditAnnotations }
      : { allowed: false, reason: denialReason(decision), auditAnnotations },
  };
}

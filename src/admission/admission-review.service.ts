import { Injectable } from '@nestjs/common';
import {
  ImagePolicyService,
  PolicyDecision,
  decisionAuditAnnotations,
  decisionWarnings,
  describeViolation,
  violationsWith,
} from '../policy';
import { AdmissionOutcome } from './admission-review-response';
import { AdmissionRequestDto } from './dto/admission-review.dto';
import { admissionPodSpec } from './admission-pod-spec';
import { podSpecReviewRequest } from './pod-spec';

export const allowedUnchecked = (why: string): AdmissionOutcome => ({
  allowed: true,
  auditAnnotations: { decision: 'allow', unchecked: why },
  unchecked: why,
});

/** Every enforced violation, one clause each, then any refused break-glass ticket. */
export function admissionDenialMessage(decision: PolicyDecision): string {
  return [...violationsWith(decision, 'enforce').map(describeViolation), ...decision.breakGlassRefusals].join(
    '; ',
  );
}

/**
 * Turns an AdmissionRequest into the images to decide on, and the ImagePolicyService's decision
 * into an admission outcome. It holds no rule logic of its own: ImageReview and AdmissionReview get
 * the same decisions for the same images.
 */
@Injectable()
export class AdmissionReviewService {
  constructor(private readonly imagePolicy: ImagePolicyService) {}

  async decide(request: AdmissionRequestDto): Promise<AdmissionOutcome> {
    const reviewed = admissionPodSpec(request);
    if ('unchecked' in reviewed) return allowedUnchecked(reviewed.unchecked);
    const decision = await this.imagePolicy.evaluate(podSpecReviewRequest(reviewed.pod));
    return {
      allowed: decision.allowed,
      message: decision.allowed ? undefined : admissionDenialMessage(decision),
      warnings: decisionWarnings(decision),
      auditAnnotations: decisionAuditAnnotations(decision),
      decision,
    };
  }
}

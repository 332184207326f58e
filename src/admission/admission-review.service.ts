import { Injectable } from '@nestjs/common';
import { ImagePolicyService } from '../policy/image-policy.service';
import { PolicyDecision } from '../policy/image-policy.types';
import {
  decisionAuditAnnotations,
  decisionWarnings,
  describeViolation,
  violationsWith,
} from '../policy/policy-decision';
import { AdmissionOutcome } from './admission-review-response';
import { AdmissionRequestDto } from './dto/admission-review.dto';
import { MalformedPodSpecError, locatePodSpec, podSpecReviewRequest } from './pod-spec';

/** `kubectl debug` adds ephemeral containers through this subresource of a Pod. */
const EPHEMERAL_CONTAINERS_SUBRESOURCE = 'ephemeralcontainers';

const allowedUnchecked = (why: string): AdmissionOutcome => ({
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
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
      return allowedUnchecked(`operation ${request.operation}`);
    }
    if (request.subResource && request.subResource !== EPHEMERAL_CONTAINERS_SUBRESOURCE) {
      return allowedUnchecked(`subresource ${request.subResource}`);
    }
    const location = locatePodSpec(request.kind.group, request.kind.kind);
    if (!location)
      return allowedUnchecked(`kind ${request.kind.group || 'core'}/${request.kind.kind} has no pod spec`);
    if (typeof request.object !== 'object' || request.object === null) {
      throw new MalformedPodSpecError(`request.object must be an object for ${request.operation}`);
    }

    const decision = await this.imagePolicy.evaluate(
      podSpecReviewRequest({
        object: request.object,
        location,
        objectName: 'request.object',
        namespace: request.namespace,
        previous:
          request.operation === 'UPDATE'
            ? { object: request.oldObject, objectName: 'request.oldObject' }
            : undefined,
      }),
    );
    return {
      allowed: decision.allowed,
      message: decision.allowed ? undefined : admissionDenialMessage(decision),
      warnings: decisionWarnings(decision),
      auditAnnotations: decisionAuditAnnotations(decision),
      decision,
    };
  }
}

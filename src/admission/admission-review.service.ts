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
import {
  MalformedPodSpecError,
  PodSpecLocation,
  locatePodSpec,
  readImagePolicyAnnotations,
  readPodImages,
} from './pod-spec';

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

  decide(request: AdmissionRequestDto): AdmissionOutcome {
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

    const images = readPodImages(request.object, location, 'request.object');
    const previous =
      request.operation === 'UPDATE' ? this.previousImages(request.oldObject, location) : new Set();
    // Images the object already ran are not judged again, so an old workload can still be scaled,
    // relabelled or rolled back after the policy tightens; only what the update introduces is.
    const introduced = images.filter(({ image }) => !previous.has(image));

    const decision = this.imagePolicy.evaluate({
      images: introduced,
      namespace: request.namespace,
      annotations: readImagePolicyAnnotations(request.object, location),
    });
    return {
      allowed: decision.allowed,
      message: decision.allowed ? undefined : admissionDenialMessage(decision),
      warnings: decisionWarnings(decision),
      auditAnnotations: decisionAuditAnnotations(decision),
      decision,
    };
  }

  /** An unreadable oldObject grandfathers nothing: every image is then judged as new. */
  private previousImages(oldObject: unknown, location: PodSpecLocation): Set<string> {
    try {
      return new Set(readPodImages(oldObject, location, 'request.oldObject').map(({ image }) => image));
    } catch (error) {
      if (error instanceof MalformedPodSpecError) return new Set();
      throw error;
    }
  }
}

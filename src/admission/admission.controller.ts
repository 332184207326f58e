import { Body, Controller, HttpCode, HttpStatus, Post, UseFilters } from '@nestjs/common';
import { ReviewAuditService, ReviewSubject } from '../audit';
import { REVIEW_ROUTES } from '../http';
import { AdmissionReviewFailureFilter } from './admission-review-failure.filter';
import { AdmissionReviewResponse, toAdmissionReviewResponse } from './admission-review-response';
import { AdmissionReviewService } from './admission-review.service';
import { AdmissionRequestDto, AdmissionReviewDto } from './dto/admission-review.dto';

/** The ValidatingAdmissionWebhook backend for admission.k8s.io v1 and v1beta1. */
@Controller()
@UseFilters(AdmissionReviewFailureFilter)
export class AdmissionController {
  constructor(
    private readonly admissionReview: AdmissionReviewService,
    private readonly audit: ReviewAuditService,
  ) {}

  @Post([...REVIEW_ROUTES.validate])
  @HttpCode(HttpStatus.OK)
  async review(@Body() review: AdmissionReviewDto): Promise<AdmissionReviewResponse> {
    const outcome = await this.admissionReview.decide(review.request);
    const subject = admissionSubject(review.request);
    if (outcome.decision) this.audit.recordDecision('validate', subject, outcome.decision);
    else this.audit.recordUnchecked('validate', subject, outcome.unchecked ?? 'no images');
    return toAdmissionReviewResponse(review.apiVersion, review.request.uid, outcome);
  }
}

export function admissionSubject(request: AdmissionRequestDto): ReviewSubject {
  const { group, kind } = request.kind;
  return {
    uid: request.uid,
    namespace: request.namespace,
    kind: `${group ? `${group}/` : ''}${kind}${request.subResource ? `/${request.subResource}` : ''}`,
    name: request.name,
    operation: request.operation,
  };
}

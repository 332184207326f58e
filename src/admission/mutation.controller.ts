import { Body, Controller, HttpCode, HttpStatus, Post, UseFilters } from '@nestjs/common';
import { ReviewAuditService } from '../audit';
import { REVIEW_ROUTES } from '../http';
import { admissionSubject } from './admission.controller';
import { AdmissionMutationService } from './admission-mutation.service';
import { AdmissionReviewFailureFilter } from './admission-review-failure.filter';
import { AdmissionReviewResponse, toAdmissionReviewResponse } from './admission-review-response';
import { AdmissionReviewDto } from './dto/admission-review.dto';

/** The MutatingAdmissionWebhook backend for admission.k8s.io v1 and v1beta1: digest pinning. */
@Controller()
@UseFilters(AdmissionReviewFailureFilter)
export class MutationController {
  constructor(
    private readonly mutation: AdmissionMutationService,
    private readonly audit: ReviewAuditService,
  ) {}

  @Post([...REVIEW_ROUTES.mutate])
  @HttpCode(HttpStatus.OK)
  async review(@Body() review: AdmissionReviewDto): Promise<AdmissionReviewResponse> {
    const outcome = await this.mutation.mutate(review.request);
    const subject = admissionSubject(review.request);
    if (outcome.pinning) this.audit.recordPinning(subject, outcome.pinning);
    else this.audit.recordUnchecked('mutate', subject, outcome.unchecked ?? 'no images');
    return toAdmissionReviewResponse(review.apiVersion, review.request.uid, outcome);
  }
}

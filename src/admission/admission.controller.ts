import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { TlsListenerGuard } from '../http/tls-listener.guard';
import { AdmissionReviewFailureInterceptor } from './admission-review-failure.interceptor';
import { AdmissionReviewResponse, toAdmissionReviewResponse } from './admission-review-response';
import { AdmissionReviewService } from './admission-review.service';
import { AdmissionReviewDto } from './dto/admission-review.dto';

/**
 * The ValidatingAdmissionWebhook backend for admission.k8s.io v1 and v1beta1. `/` is kept for the
 * original bouncer's users, whose webhook configurations point at the root path.
 */
@Controller()
@UseGuards(TlsListenerGuard)
@UseInterceptors(AdmissionReviewFailureInterceptor)
export class AdmissionController {
  constructor(private readonly admissionReview: AdmissionReviewService) {}

  @Post(['validate', '/'])
  @HttpCode(HttpStatus.OK)
  review(@Body() review: AdmissionReviewDto): AdmissionReviewResponse {
    return toAdmissionReviewResponse(
      review.apiVersion,
      review.request.uid,
      this.admissionReview.decide(review.request),
    );
  }
}

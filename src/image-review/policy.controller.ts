import { Body, Controller, HttpCode, HttpStatus, Post, UseFilters } from '@nestjs/common';
import { ReviewAuditService } from '../audit';
import { REVIEW_ROUTES } from '../http';
import { ImageReviewDto } from './dto/image-review.dto';
import { ImagePolicyService } from '../policy';
import { ImageReviewResponse, toImageReviewResponse } from './image-review-response';
import { ImageReviewFailureFilter } from './image-review-failure.filter';

/** The ImagePolicyWebhook backend, on the original bouncer's paths so existing kubeconfigs keep working. */
@Controller()
@UseFilters(ImageReviewFailureFilter)
export class PolicyController {
  constructor(
    private readonly imagePolicy: ImagePolicyService,
    private readonly audit: ReviewAuditService,
  ) {}

  @Post([...REVIEW_ROUTES.image_policy])
  @HttpCode(HttpStatus.OK)
  async review(@Body() review: ImageReviewDto): Promise<ImageReviewResponse> {
    const decision = await this.imagePolicy.evaluate({
      images: review.spec.containers.map(({ image }) => ({ image })),
      namespace: review.spec.namespace,
      annotations: review.spec.annotations,
    });
    this.audit.recordDecision('image_policy', { namespace: review.spec.namespace }, decision);
    return toImageReviewResponse(decision);
  }
}

import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ReviewAuditService } from '../audit';
import { respondWithHttpError, classifyFailure } from '../http';
import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import { ImageReviewResponse } from './image-review-response';

const INTERNAL_ERROR_DENIAL: ImageReviewResponse = {
  apiVersion: IMAGE_REVIEW_API_VERSION,
  kind: IMAGE_REVIEW_KIND,
  status: {
    allowed: false,
    reason: 'the image policy could not be evaluated, so the images are denied; see the bouncer log',
    auditAnnotations: { decision: 'deny', error: 'internal' },
  },
};

/**
 * A request we could not read is the client's problem and keeps its 4xx. Anything that fails
 * while deciding becomes a denial: the apiserver then forbids the pod with our reason instead of
 * applying its defaultAllow, which may be true. Both are counted and logged. A filter, unlike an
 * interceptor, costs nothing on the requests that succeed.
 */
@Catch()
export class ImageReviewFailureFilter implements ExceptionFilter {
  constructor(private readonly audit: ReviewAuditService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = host.switchToHttp().getRequest<Request>().body as
      { spec?: { namespace?: unknown } } | undefined;
    const namespace = typeof body?.spec?.namespace === 'string' ? body.spec.namespace : undefined;
    const failure = classifyFailure(exception);
    const answered = failure.reason === 'malformed' ? 'error-status' : 'denial';
    this.audit.recordFailure('image_policy', { namespace }, failure.reason, failure.detail, answered);
    if (answered === 'error-status') respondWithHttpError(failure, host);
    else host.switchToHttp().getResponse<Response>().status(200).json(INTERNAL_ERROR_DENIAL);
  }
}

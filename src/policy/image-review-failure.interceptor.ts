import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { Observable, catchError, of, throwError } from 'rxjs';
import { ReviewAuditService } from '../audit/review-audit.service';
import { httpExceptionMessage } from '../http/http-exception-message';
import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import { ImageReviewResponse } from './image-review-response';

/**
 * A request we could not read is the client's problem and keeps its 4xx. Anything that fails
 * while deciding becomes a denial: the apiserver then forbids the pod with our reason instead of
 * applying its defaultAllow, which may be true. Both are counted and logged.
 */
@Injectable()
export class ImageReviewFailureInterceptor implements NestInterceptor {
  constructor(private readonly audit: ReviewAuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<Request>().body as
      { spec?: { namespace?: unknown } } | undefined;
    const namespace = typeof body?.spec?.namespace === 'string' ? body.spec.namespace : undefined;
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof HttpException && error.getStatus() < 500) {
          this.audit.recordFailure('image_policy', { namespace }, 'malformed', httpExceptionMessage(error));
          return throwError(() => error);
        }
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        this.audit.recordFailure('image_policy', { namespace }, 'internal', detail);
        const denial: ImageReviewResponse = {
          apiVersion: IMAGE_REVIEW_API_VERSION,
          kind: IMAGE_REVIEW_KIND,
          status: {
            allowed: false,
            reason: 'the image policy could not be evaluated, so the images are denied; see the bouncer log',
            auditAnnotations: { decision: 'deny', error: 'internal' },
          },
        };
        return of(denial);
      }),
    );
  }
}

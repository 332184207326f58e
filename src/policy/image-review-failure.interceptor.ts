import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import { Observable, catchError, of, throwError } from 'rxjs';
import { IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
import { ImageReviewResponse } from './image-review-response';

/**
 * A request we could not read is the client's problem and keeps its 4xx. Anything that fails
 * while deciding becomes a denial: the apiserver then forbids the pod with our reason instead of
 * applying its defaultAllow, which may be true.
 */
@Injectable()
export class ImageReviewFailureInterceptor implements NestInterceptor {
  private readonly logger = new Logger(ImageReviewFailureInterceptor.name);

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof HttpException && error.getStatus() < 500) return throwError(() => error);
        this.logger.error(
          `ImageReview denied after an internal error: ${error instanceof Error ? error.stack : String(error)}`,
        );
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

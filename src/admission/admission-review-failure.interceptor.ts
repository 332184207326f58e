import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { ReviewAuditService } from '../audit/review-audit.service';
import type { Request } from 'express';
import { Observable, catchError, of, throwError } from 'rxjs';
import { httpExceptionMessage } from '../http/http-exception-message';
import { toAdmissionReviewResponse } from './admission-review-response';
import { MalformedPodSpecError } from './pod-spec';

interface ReadableReview {
  apiVersion?: unknown;
  request?: { uid?: unknown; namespace?: unknown };
}

function readableUid(body: unknown): string | undefined {
  const uid = (body as ReadableReview | undefined)?.request?.uid;
  return typeof uid === 'string' && uid.length > 0 ? uid : undefined;
}

/**
 * Once a review's uid can be read, every problem in it is answered with a denial that says what was
 * wrong. The apiserver would show a 4xx or 5xx only as an opaque "failed calling webhook" error,
 * and for a failurePolicy of Ignore it would even let the object through.
 */
@Injectable()
export class AdmissionReviewFailureInterceptor implements NestInterceptor {
  constructor(private readonly audit: ReviewAuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body: unknown = context.switchToHttp().getRequest<Request>().body;
    return next.handle().pipe(
      catchError((error: unknown) => {
        const uid = readableUid(body);
        const namespace = (body as ReadableReview | undefined)?.request?.namespace;
        const subject = { uid, namespace: typeof namespace === 'string' ? namespace : undefined };
        if (uid === undefined) {
          const detail = error instanceof HttpException ? httpExceptionMessage(error) : String(error);
          this.audit.recordFailure('validate', subject, 'malformed', detail);
          return throwError(() => error);
        }
        const message = this.explain(subject, error);
        return of(
          toAdmissionReviewResponse((body as ReadableReview).apiVersion, uid, {
            allowed: false,
            message,
            auditAnnotations: { decision: 'deny', error: 'unreadable-review' },
          }),
        );
      }),
    );
  }

  private explain(subject: { uid?: string; namespace?: string }, error: unknown): string {
    if (
      error instanceof MalformedPodSpecError ||
      (error instanceof HttpException && error.getStatus() < 500)
    ) {
      const detail = error instanceof HttpException ? httpExceptionMessage(error) : error.message;
      this.audit.recordFailure('validate', subject, 'malformed', detail);
      return `kube-image-bouncer could not read the AdmissionReview: ${detail}`;
    }
    this.audit.recordFailure(
      'validate',
      subject,
      'internal',
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    return 'kube-image-bouncer could not evaluate the image policy, so the request is denied; see its log';
  }
}

import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import { Observable, catchError, of, throwError } from 'rxjs';
import { httpExceptionMessage } from '../http/http-exception-message';
import { toAdmissionReviewResponse } from './admission-review-response';
import { MalformedPodSpecError } from './pod-spec';

interface ReadableReview {
  apiVersion?: unknown;
  request?: { uid?: unknown };
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
  private readonly logger = new Logger(AdmissionReviewFailureInterceptor.name);

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body: unknown = context.switchToHttp().getRequest<Request>().body;
    return next.handle().pipe(
      catchError((error: unknown) => {
        const uid = readableUid(body);
        if (uid === undefined) return throwError(() => error);
        const message = this.explain(uid, error);
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

  private explain(uid: string, error: unknown): string {
    if (
      error instanceof MalformedPodSpecError ||
      (error instanceof HttpException && error.getStatus() < 500)
    ) {
      const detail = error instanceof HttpException ? httpExceptionMessage(error) : error.message;
      this.logger.warn(`AdmissionReview ${uid} denied, malformed: ${detail}`);
      return `kube-image-bouncer could not read the AdmissionReview: ${detail}`;
    }
    this.logger.error(
      `AdmissionReview ${uid} denied after an internal error: ${error instanceof Error ? error.stack : String(error)}`,
    );
    return 'kube-image-bouncer could not evaluate the image policy, so the request is denied; see its log';
  }
}

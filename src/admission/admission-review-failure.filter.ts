import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ReviewAuditService, ReviewSubject } from '../audit';
import { respondWithHttpError, REVIEW_ENDPOINT_BY_PATH, classifyFailure } from '../http';
import { toAdmissionReviewResponse } from './admission-review-response';

interface ReadableReview {
  apiVersion?: unknown;
  request?: { uid?: unknown; namespace?: unknown };
}

/**
 * Once a review's uid can be read, every problem in it is answered with a denial that says what was
 * wrong. The apiserver would show a 4xx or 5xx only as an opaque "failed calling webhook" error,
 * and for a failurePolicy of Ignore it would even let the object through. Without a uid there is
 * nothing to answer, and the request gets a 4xx.
 */
@Catch()
export class AdmissionReviewFailureFilter implements ExceptionFilter {
  constructor(private readonly audit: ReviewAuditService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const body = request.body as ReadableReview | undefined;
    // /validate and /mutate answer alike; the record says which one was asked.
    const endpoint = REVIEW_ENDPOINT_BY_PATH.get(request.path) ?? 'validate';
    const uid =
      typeof body?.request?.uid === 'string' && body.request.uid.length > 0 ? body.request.uid : undefined;
    const namespace = typeof body?.request?.namespace === 'string' ? body.request.namespace : undefined;
    const subject: ReviewSubject = { uid, namespace };
    const failure = classifyFailure(exception);
    const answered = uid === undefined ? 'error-status' : 'denial';
    this.audit.recordFailure(endpoint, subject, failure.reason, failure.detail, answered);

    if (uid === undefined) {
      respondWithHttpError(failure, host);
      return;
    }
    const message =
      failure.reason === 'malformed'
        ? `kube-image-bouncer could not read the AdmissionReview: ${failure.message}`
        : 'kube-image-bouncer could not evaluate the image policy, so the request is denied; see its log';
    const denial = toAdmissionReviewResponse(body?.apiVersion, uid, {
      allowed: false,
      message,
      auditAnnotations: { decision: 'deny', error: 'unreadable-review' },
    });
    host.switchToHttp().getResponse<Response>().status(200).json(denial);
  }
}

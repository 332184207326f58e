import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { httpExceptionMessage } from './http-exception-message';

/**
 * A review whose content is not shaped as Kubernetes sends it (a container list that is not an
 * array, an image that is not a string). Thrown past the DTO, where the envelope was fine but what
 * it carries is not; readers of the object extend it.
 */
export class UnreadableReviewError extends Error {
  override name = 'UnreadableReviewError';
}

/** Errors raised by Express middleware (body-parser, raw-body) carry their HTTP status this way. */
interface StatusCarryingError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
  type?: unknown;
}

const BODY_PARSER_MESSAGES: Record<string, string> = {
  'entity.too.large': 'request body is larger than the 7 MiB limit',
  'encoding.unsupported': 'request body has an unsupported content encoding',
  'charset.unsupported': 'request body has an unsupported charset',
  'request.aborted': 'request was aborted before its body arrived',
};

/**
 * What went wrong with a request, said once for every endpoint. `malformed`: the client sent
 * something we cannot read, and `status` is the 4xx it earns when it cannot be answered in kind.
 * `internal`: we failed, and the request must be refused without blaming the client.
 */
export interface RequestFailure {
  readonly reason: 'malformed' | 'internal';
  readonly status: number;
  /** For the client: what to fix, or that the server failed. */
  readonly message: string;
  /** For the log: the message, or the stack of an internal failure. */
  readonly detail: string;
}

export function classifyFailure(exception: unknown): RequestFailure {
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    const message = httpExceptionMessage(exception);
    return { reason: 'malformed', status: exception.getStatus(), message, detail: message };
  }
  if (exception instanceof UnreadableReviewError) {
    return {
      reason: 'malformed',
      status: HttpStatus.BAD_REQUEST,
      message: exception.message,
      detail: exception.message,
    };
  }
  const carrier = (exception ?? {}) as StatusCarryingError;
  const status = Number(carrier.status ?? carrier.statusCode);
  if (!(exception instanceof HttpException) && Number.isInteger(status) && status >= 400 && status < 500) {
    const known = typeof carrier.type === 'string' ? BODY_PARSER_MESSAGES[carrier.type] : undefined;
    const message =
      known ?? (carrier.expose === true ? String(carrier.message) : (STATUS_CODES[status] ?? ''));
    return { reason: 'malformed', status, message, detail: message };
  }
  const detail = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
  return { reason: 'internal', status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error', detail };
}

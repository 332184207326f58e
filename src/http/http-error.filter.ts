import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { RequestFailure, classifyFailure } from './review-failure';

export interface HttpErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

const logger = new Logger('HttpErrorFilter');

/** Answers a failure with its status and a JSON body a person can act on, and logs it. */
export function respondWithHttpError(failure: RequestFailure, host: ArgumentsHost): void {
  const request = host.switchToHttp().getRequest<Request>();
  const response = host.switchToHttp().getResponse<Response>();
  const route = `${request.method} ${request.originalUrl}`;
  if (failure.reason === 'internal') logger.error(`${route} failed: ${failure.detail}`);
  else logger.warn(`${route} refused with ${failure.status}: ${failure.message}`);
  if (response.headersSent) return;
  const body: HttpErrorBody = {
    statusCode: failure.status,
    error: STATUS_CODES[failure.status] ?? 'Error',
    message: failure.message,
  };
  response.status(failure.status).json(body);
}

/**
 * The last resort for every route: always JSON, always a message a person can act on. Review
 * endpoints answer their own failures in kind (a denial, fail closed) through the filters beside
 * their controllers, which classify with the same `classifyFailure`; what reaches this one is a
 * request no review filter claims.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    respondWithHttpError(classifyFailure(exception), host);
  }
}

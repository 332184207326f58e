import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { httpExceptionMessage } from './http-exception-message';

export interface HttpErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/**
 * Errors raised by Express middleware (body-parser, raw-body) carry their HTTP status this way.
 * Nest itself already maps body-parser's SyntaxError for malformed JSON to a BadRequestException.
 */
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

function describe(exception: unknown): { status: number; message: string } {
  if (exception instanceof HttpException) {
    return { status: exception.getStatus(), message: httpExceptionMessage(exception) };
  }
  const carrier = (exception ?? {}) as StatusCarryingError;
  const status = Number(carrier.status ?? carrier.statusCode);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    const known = typeof carrier.type === 'string' ? BODY_PARSER_MESSAGES[carrier.type] : undefined;
    return {
      status,
      message: known ?? (carrier.expose === true ? String(carrier.message) : (STATUS_CODES[status] ?? '')),
    };
  }
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' };
}

/**
 * The one place errors become HTTP responses: always JSON, always a message a person can act on.
 * Review endpoints turn their own failures into denials before reaching here (fail closed), so
 * what arrives is a request we could not read at all.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    const { status, message } = describe(exception);
    const route = `${request.method} ${request.originalUrl}`;
    if (status >= 500) {
      this.logger.error(
        `${route} failed: ${exception instanceof Error ? exception.stack : String(exception)}`,
      );
    } else {
      this.logger.warn(`${route} refused with ${status}: ${message}`);
    }
    if (response.headersSent) return;
    const body: HttpErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    response.status(status).json(body);
  }
}

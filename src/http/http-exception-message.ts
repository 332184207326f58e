import { HttpException } from '@nestjs/common';

/** The human-readable message of an HttpException, however Nest or our pipes shaped its response. */
export function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  const message: unknown =
    typeof response === 'string' ? response : (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

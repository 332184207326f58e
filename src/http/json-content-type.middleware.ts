import { Injectable, NestMiddleware, UnsupportedMediaTypeException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

export const JSON_CONTENT_TYPES = ['application/json', 'application/*+json'];

/** The apiserver always sends JSON; anything else is refused before its body is read. */
@Injectable()
export class JsonContentTypeMiddleware implements NestMiddleware {
  use(request: Request, _response: Response, next: NextFunction): void {
    if (request.method === 'POST' && !request.is(JSON_CONTENT_TYPES)) {
      const given = request.headers['content-type'];
      throw new UnsupportedMediaTypeException(
        `request Content-Type must be application/json${given ? ` (got ${JSON.stringify(given)})` : ' (none given)'}`,
      );
    }
    next();
  }
}

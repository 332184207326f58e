import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Express, RequestHandler } from 'express';
import { JSON_CONTENT_TYPES } from './json-content-type.middleware';

/** controller-runtime's cap: an object and its oldObject can each approach etcd's 3 MB limit. */
export const MAX_REVIEW_BYTES = 7 * 1024 * 1024;

/**
 * Express as reviews need it, before Nest initialises: `observe` first in the chain, so refusals by
 * the body parser (413) are timed and counted too; JSON bodies up to the review limit (Express's
 * default of 100 kB is far below what the apiserver sends); no ETag, since a review is never
 * cached, and no X-Powered-By. The server and the controller specs both call this.
 */
export function prepareReviewExpress(app: NestExpressApplication, observe?: RequestHandler): Express {
  const express: Express = app.getHttpAdapter().getInstance();
  if (observe) express.use(observe);
  app.useBodyParser('json', { limit: MAX_REVIEW_BYTES, type: JSON_CONTENT_TYPES });
  express.disable('x-powered-by');
  express.disable('etag');
  return express;
}

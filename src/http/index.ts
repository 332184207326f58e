// The HTTP edge every review endpoint shares: envelope validation, routes, the error shape.
export { EnvelopeField, IsStringMap, NestedEnvelope, OpaqueJson } from './envelope-fields';
export { respondWithHttpError } from './http-error.filter';
export { JsonContentTypeMiddleware } from './json-content-type.middleware';
export { prepareReviewExpress } from './review-express';
export { UnreadableReviewError, classifyFailure } from './review-failure';
export { ReviewHttpModule } from './review-http.module';
export {
  HEALTH_PORT_ROUTES,
  LIVENESS_ROUTES,
  METRICS_ROUTE,
  READINESS_ROUTE,
  REVIEW_ENDPOINT_BY_PATH,
  REVIEW_ROUTES,
} from './review-routes';
export type { ReviewEndpoint } from './review-routes';

/**
 * Every path the bouncer answers, named once. The controllers route by these, the metrics label
 * requests by them and the health listeners filter on them, so a new route cannot go unmeasured
 * or leak onto the plain-HTTP port by an edit forgotten elsewhere.
 */
export const REVIEW_ROUTES = {
  // The original bouncer's path, and the one its README configured.
  image_policy: ['/image_policy', '/policy'],
  // `/` is kept for the original bouncer's users, whose webhook configurations point at the root.
  validate: ['/validate', '/'],
  mutate: ['/mutate'],
} as const;

/** A review endpoint, as metrics, audit lines and failure records label it. */
export type ReviewEndpoint = keyof typeof REVIEW_ROUTES;

export const LIVENESS_ROUTES = ['/healthz', '/livez'] as const;
export const READINESS_ROUTE = '/readyz';
export const METRICS_ROUTE = '/metrics';

/** What the plain-HTTP health port serves: probes and the scrape, never a review. */
export const HEALTH_PORT_ROUTES: ReadonlySet<string> = new Set([
  ...LIVENESS_ROUTES,
  READINESS_ROUTE,
  METRICS_ROUTE,
]);

/** The review endpoint a POST to `path` reaches, if any. */
export const REVIEW_ENDPOINT_BY_PATH: ReadonlyMap<string, ReviewEndpoint> = new Map(
  (Object.entries(REVIEW_ROUTES) as [ReviewEndpoint, readonly string[]][]).flatMap(([endpoint, paths]) =>
    paths.map((path) => [path, endpoint] as const),
  ),
);

import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PolicyDecision } from '../policy/image-policy.types';
import { PolicyStore } from '../policy/policy-file/policy-store.service';
import { TlsMaterialService } from '../tls/tls-material.service';

export type ReviewEndpoint = 'image_policy' | 'validate';

/** Which endpoint label a request gets; other paths (probes, metrics) are not measured. */
const ENDPOINT_BY_PATH: ReadonlyMap<string, ReviewEndpoint> = new Map([
  ['/image_policy', 'image_policy'],
  ['/policy', 'image_policy'],
  ['/validate', 'validate'],
  ['/', 'validate'],
]);

// From a cache-warm decision (~100 µs) to the apiserver's patience (seconds).
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/**
 * The bouncer's Prometheus metrics, in a registry of its own (so tests can run several servers in
 * one process), plus Node's default process metrics.
 */
/** The value under `key`, made once on first use. */
function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

@Injectable()
export class MetricsService implements OnApplicationBootstrap {
  readonly registry = new Registry();

  /** One count per rule behind a review's outcome; a clean allow counts once with rule "". */
  readonly decisions = new Counter({
    name: 'kube_image_bouncer_decisions_total',
    help: 'Reviews decided, by endpoint, decision (allow, deny, warn) and the rule behind it.',
    labelNames: ['endpoint', 'decision', 'rule'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'kube_image_bouncer_request_duration_seconds',
    help: 'Time from a review request arriving to its response being sent.',
    labelNames: ['endpoint'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'kube_image_bouncer_requests_total',
    help: 'Review requests answered, by endpoint and HTTP status code.',
    labelNames: ['endpoint', 'code'] as const,
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: 'kube_image_bouncer_policy_reloads_total',
    help: 'Policy file changes seen, by result (applied, refused).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly certificateExpiry = new Gauge({
    name: 'kube_image_bouncer_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate expires, in Unix seconds.',
    // Across cluster workers, the soonest expiry is the one to alert on.
    aggregator: 'min',
    registers: [this.registry],
  });
  /** Seconds left, worked out at each scrape, for alerts that need no PromQL arithmetic on the timestamp. */
  readonly certificateExpirySeconds = new Gauge({
    name: 'kube_image_bouncer_certificate_expiry_seconds',
    help: 'Seconds until the serving certificate expires; negative once it has.',
    aggregator: 'min',
    registers: [this.registry],
    collect: () => {
      if (this.tls.loaded)
        this.certificateExpirySeconds.set((this.tls.current.notAfter.getTime() - Date.now()) / 1000);
    },
  });
  readonly breakGlass = new Counter({
    name: 'kube_image_bouncer_break_glass_total',
    help: 'Denied reviews allowed by a break-glass annotation.',
    registers: [this.registry],
  });
  readonly reviewErrors = new Counter({
    name: 'kube_image_bouncer_review_errors_total',
    help:
      'Reviews that failed, by endpoint and reason: malformed or internal (answered with a denial), rejected ' +
      '(answered with a 4xx or 5xx, which the apiserver treats as a webhook failure).',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [this.registry],
  });
  readonly certificateRotations = new Counter({
    name: 'kube_image_bouncer_certificate_rotations_total',
    help: 'Certificate file changes seen, by result (applied, refused).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly policyStore: PolicyStore,
    private readonly tls: TlsMaterialService,
  ) {
    collectDefaultMetrics({ register: this.registry });
    // In a cluster the primary serves /metrics, summing what each worker's registry reports.
    // prom-client installs a worker's answering listener only when an AggregatorRegistry is built.
    if (cluster.isWorker) {
      AggregatorRegistry.setRegistries([this.registry]);
      new AggregatorRegistry();
    }
  }

  /** After every module's init, when the policy and TLS material have loaded. */
  onApplicationBootstrap(): void {
    this.policyStore.onReload((result) => this.policyReloads.inc({ result }));
    this.certificateExpiry.set(this.tls.current.notAfter.getTime() / 1000);
    this.tls.onRotation((result, material) => {
      this.certificateRotations.inc({ result });
      this.certificateExpiry.set(material.notAfter.getTime() / 1000);
    });
  }

  recordDecision(endpoint: ReviewEndpoint, decision: PolicyDecision): void {
    if (decision.breakGlass) this.breakGlass.inc();
    const rulesWith = (enforcement: 'enforce' | 'warn'): Set<string> =>
      new Set(
        decision.verdicts.flatMap((v) =>
          v.violations.filter((x) => x.enforcement === enforcement).map((x) => x.rule),
        ),
      );
    if (!decision.allowed) {
      for (const rule of rulesWith('enforce')) this.decisions.inc({ endpoint, decision: 'deny', rule });
      return;
    }
    const warned = rulesWith('warn');
    if (warned.size === 0) this.decisions.inc({ endpoint, decision: 'allow', rule: '' });
    for (const rule of warned) this.decisions.inc({ endpoint, decision: 'warn', rule });
  }

  /** A review allowed without consulting the policy (DELETE, a kind with no pod spec). */
  recordUnchecked(endpoint: ReviewEndpoint): void {
    this.decisions.inc({ endpoint, decision: 'allow', rule: '' });
  }

  // Label children resolved once per label set: resolving labels on every observation hashes them.
  private readonly durationByEndpoint = new Map<ReviewEndpoint, Histogram.Internal<'endpoint'>>();
  private readonly requestsByEndpointAndCode = new Map<string, Counter.Internal>();

  /** Express middleware timing every review request, including ones refused before Nest sees them. */
  readonly observeRequests = (request: Request, response: Response, next: NextFunction): void => {
    const endpoint = request.method === 'POST' ? ENDPOINT_BY_PATH.get(request.url.split('?')[0]) : undefined;
    if (endpoint !== undefined) {
      const started = process.hrtime.bigint();
      response.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const code = response.statusCode;
        cached(this.durationByEndpoint, endpoint, () => this.requestDuration.labels(endpoint)).observe(
          seconds,
        );
        cached(this.requestsByEndpointAndCode, `${endpoint} ${code}`, () =>
          this.requests.labels(endpoint, String(code)),
        ).inc();
        if (code >= 400) this.reviewErrors.inc({ endpoint, reason: 'rejected' });
      });
    }
    next();
  };
}

import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import cluster from 'node:cluster';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo, packageVersion } from '../version';
import { REVIEW_ENDPOINT_BY_PATH, ReviewEndpoint } from '../http';
import { ImagePolicyService, PinningDecision, PolicyDecision, PolicyStore, rulesWith } from '../policy';
import { DigestResolver, RegistryClient } from '../registry';
import { TlsMaterialService } from '../tls';
import { VerificationLedger } from '../verification-ledger';
import { PendingCounts } from './pending-counts';

// A loopback registry answers in a millisecond, a remote one in tens; past the 3 s budget is a timeout.
const REGISTRY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

// From a cache-warm decision (~100 µs) to the apiserver's patience (seconds).
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/**
 * The label that tells processes apart in a cluster: Node's process metrics are one process's own
 * (its memory, its file descriptors), and summing them over processes means nothing.
 */
export const PROCESS_LABEL = 'process';

/** This process's `process` label value in a cluster: `worker-<id>`, the id its log lines carry. */
export const workerProcessName = (id: number): string => `worker-${id}`;

/**
 * File changes, counted once however many processes see them: by a single process itself, and in
 * a cluster by the primary, from what its workers report (a worker does not register these).
 */
export const POLICY_RELOADS = {
  name: 'kube_image_bouncer_policy_reloads_total',
  help: 'Policy file changes seen, by result (applied, refused); one change counts once, however many workers.',
  labelNames: ['result'] as const,
};
export const CERTIFICATE_ROTATIONS = {
  name: 'kube_image_bouncer_certificate_rotations_total',
  help: 'Certificate file changes seen, by result (applied, refused); one change counts once, however many workers.',
  labelNames: ['result'] as const,
};

let buildLabelsOnce: Record<'version' | 'commit' | 'nodejs', string> | undefined;
/** Read once a process: without the build's record, finding the commit asks git. */
function buildLabels(): Record<'version' | 'commit' | 'nodejs', string> {
  if (buildLabelsOnce) return buildLabelsOnce;
  const build = buildInfo();
  return (buildLabelsOnce = {
    version: packageVersion(),
    commit: `${build.commit ?? 'unknown'}${build.treeState === 'dirty' ? '-dirty' : ''}`,
    nodejs: process.version,
  });
}

/**
 * The bouncer's Prometheus metrics, in a registry of its own (so tests can run several servers in
 * one process), plus Node's default process metrics. In a cluster worker, the primary asks for them
 * and sums them over workers (src/cluster/cluster-metrics.ts); the process metrics carry a
 * `process` label there, so they are reported per process instead.
 */
@Injectable()
export class MetricsService implements OnApplicationBootstrap {
  readonly registry = new Registry();

  /** One count per rule behind a review's outcome; a clean allow counts once with rule "". */
  readonly decisions = new Counter({
    name: 'kube_image_bouncer_decisions_total',
    help: 'Reviews decided, by endpoint, decision (allow, deny, warn) and the rule behind it.',
    labelNames: ['endpoint', 'decision', 'rule'] as const,
    registers: [this.registry],
    collect: (): void => this.pendingDecisions.flushInto(this.decisions),
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
    collect: (): void => this.pendingRequests.flushInto(this.requests),
  });
  /** Registered only by a single process: a cluster's primary counts each change once. */
  readonly policyReloads = new Counter({
    ...POLICY_RELOADS,
    registers: cluster.isWorker ? [] : [this.registry],
  });
  /** 1 while the policy file holds an edit that was refused, so what is in force is not what is on disk. */
  readonly policyReloadRefused: Gauge = new Gauge({
    name: 'kube_image_bouncer_policy_reload_refused',
    help: '1 while the policy file on disk is not what is in force: its last edit was refused (see /readyz lastReloadRefused).',
    aggregator: 'max',
    registers: [this.registry],
    collect: (): void => this.policyReloadRefused.set(this.policyStore.lastRefusal ? 1 : 0),
  });
  /** The policy in force, as labels of a constant 1, so a dashboard can show and join on its revision. */
  readonly policyInfo: Gauge<'name' | 'revision'> = new Gauge({
    name: 'kube_image_bouncer_policy_info',
    help: 'The policy in force: its name and revision, value 1 (one series per revision while workers part).',
    labelNames: ['name', 'revision'] as const,
    aggregator: 'max',
    registers: [this.registry],
    collect: (): void => {
      if (!this.policyStore.loaded) return;
      const { name, revision } = this.policyStore.current;
      this.policyInfo.reset();
      this.policyInfo.set({ name, revision }, 1);
    },
  });
  readonly buildInfo = new Gauge({
    name: 'kube_image_bouncer_build_info',
    help: 'What is running: the version, the git commit it was built from, and the Node.js it runs on; value 1.',
    labelNames: ['version', 'commit', 'nodejs'] as const,
    aggregator: 'max',
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
  readonly exceptions = new Counter({
    name: 'kube_image_bouncer_exceptions_total',
    help: 'Images let through by a spec.exceptions entry, by its ticket.',
    labelNames: ['ticket'] as const,
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
  /** Registered only by a single process: a cluster's primary counts each change once. */
  readonly certificateRotations = new Counter({
    ...CERTIFICATE_ROTATIONS,
    registers: cluster.isWorker ? [] : [this.registry],
  });

  readonly policyDeniesNothing: Gauge = new Gauge({
    name: 'kube_image_bouncer_policy_denies_nothing',
    help: '1 while the policy in force can deny no image (accepted only with spec.allowPermissive: true).',
    registers: [this.registry],
    aggregator: 'max',
    collect: (): void => this.policyDeniesNothing.set(this.policyStore.current.permissive ? 1 : 0),
  });
  readonly verifications = new Counter({
    name: 'kube_image_bouncer_verifications_total',
    help: 'Signature and attestation verifications, by rule and outcome: verified, or the reason (no signature, registry timed out, …).',
    labelNames: ['rule', 'outcome'] as const,
    registers: [this.registry],
    collect: (): void => this.pendingVerifications.flushInto(this.verifications),
  });
  readonly verificationDuration = new Histogram({
    name: 'kube_image_bouncer_verification_duration_seconds',
    help: 'Time to verify one image for one rule, by rule and whether the verdict came from the cache.',
    labelNames: ['rule', 'cache'] as const,
    buckets: REGISTRY_BUCKETS,
    registers: [this.registry],
  });
  readonly evidenceDiscarded = new Counter({
    name: 'kube_image_bouncer_evidence_discarded_total',
    help: 'Parts of signatures and attestations read from registries and discarded before judging, by reason: malformed (a descriptor, manifest, envelope, bundle, signature, certificate or log entry that does not have its shape, or an artifact the registry would not serve) or over a budget (artifacts, signatures, log entries, certificates, signature checks).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly imagePins = new Counter({
    name: 'kube_image_bouncer_image_pins_total',
    help: 'Images /mutate looked at, by result: pinned, unchanged (a digest already, exempt, invalid) or why it could not pin.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly registryRequests = new Counter({
    name: 'kube_image_bouncer_registry_requests_total',
    help: 'HTTP exchanges with registries and their token servers, by registry, operation and outcome.',
    labelNames: ['registry', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly registryRequestDuration = new Histogram({
    name: 'kube_image_bouncer_registry_request_duration_seconds',
    help: 'Time of one HTTP exchange with a registry or its token server, by registry and operation.',
    labelNames: ['registry', 'operation'] as const,
    buckets: REGISTRY_BUCKETS,
    registers: [this.registry],
  });
  readonly registryLookupsInFlight: Gauge = new Gauge({
    name: 'kube_image_bouncer_registry_lookups_in_flight',
    help: 'Tag lookups under way now; concurrent asks of one tag share one.',
    registers: [this.registry],
    collect: (): void => this.registryLookupsInFlight.set(this.digests.inFlight),
  });
  readonly registryHopsRefused = new Counter({
    name: 'kube_image_bouncer_registry_hops_refused_total',
    help:
      'Connections the registry connection guard refused to make, by hop (registry, redirect, realm) and ' +
      'reason (address, resolved address, not https, https to http, credentials, not a URL, too many redirects).',
    labelNames: ['hop', 'reason'] as const,
    registers: [this.registry],
  });
  readonly registryBudgetExceeded = new Counter({
    name: 'kube_image_bouncer_registry_budget_exceeded_total',
    help:
      'Registry bodies refused for a byte budget, by budget (review: the review would hold more than it may; ' +
      "worker: the worker's budget stayed full until the read's deadline) and operation.",
    labelNames: ['budget', 'operation'] as const,
    registers: [this.registry],
  });
  readonly registryBytesHeld: Gauge = new Gauge({
    name: 'kube_image_bouncer_registry_bytes_held',
    help: "Bytes read from registries and held now, against the worker's budget (summed over workers).",
    registers: [this.registry],
    collect: (): void => this.registryBytesHeld.set(this.registryClient.bytesHeld),
  });
  readonly cacheEvents = new Counter({
    name: 'kube_image_bouncer_cache_events_total',
    help: 'Registry caches (tag-digest, token, and the verification caches): hits, misses and evictions.',
    labelNames: ['cache', 'event'] as const,
    registers: [this.registry],
    collect: (): void => this.pendingCacheEvents.flushInto(this.cacheEvents),
  });

  readonly ledgerAdmissions = new Counter({
    name: 'kube_image_bouncer_ledger_admissions_total',
    help: 'Registry-aware checks answered from the verification ledger while the registry failed, by rule.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly ledgerPins = new Counter({
    name: 'kube_image_bouncer_ledger_pins_total',
    help: "Images /mutate pinned to their tag's last resolution in the verification ledger while the registry failed.",
    registers: [this.registry],
  });
  readonly ledgerRefreshes = new Counter({
    name: 'kube_image_bouncer_ledger_refreshes_total',
    help: 'Background re-verifications of digests in use, by outcome (verified, refused, registry failure, stale, deferred).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly ledgerRecords: Gauge = new Gauge({
    name: 'kube_image_bouncer_ledger_records',
    help: 'Records the verification ledger holds, by type (verdict, tag).',
    labelNames: ['type'] as const,
    // Every worker holds every record: the largest is the ledger's.
    aggregator: 'max',
    registers: [this.registry],
    collect: () => {
      const { verdicts, tags } = this.ledger.counts;
      this.ledgerRecords.set({ type: 'verdict' }, verdicts);
      this.ledgerRecords.set({ type: 'tag' }, tags);
    },
  });
  readonly ledgerBytes: Gauge = new Gauge({
    name: 'kube_image_bouncer_ledger_bytes',
    help: 'Size of the verification ledger file, in bytes.',
    aggregator: 'max',
    registers: [this.registry],
    collect: () => this.ledgerBytes.set(this.ledger.sizeBytes),
  });
  readonly ledgerAdmission: Gauge = new Gauge({
    name: 'kube_image_bouncer_ledger_admission',
    help: 'Whether the verification ledger may admit during an outage: 1 on; 0 with no ledger, or one damaged or unwritable.',
    aggregator: 'min',
    registers: [this.registry],
    collect: () => this.ledgerAdmission.set(this.ledger.health?.admission === 'on' ? 1 : 0),
  });
  readonly registryOutage: Gauge = new Gauge({
    name: 'kube_image_bouncer_registry_outage',
    help: 'Registries the verification ledger holds verdicts of that are failing now (their last request timed out, was unreachable or rate limited): 1 while failing, 0 once one answers.',
    labelNames: ['registry'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });

  constructor(
    private readonly policyStore: PolicyStore,
    private readonly tls: TlsMaterialService,
    private readonly registryClient: RegistryClient,
    private readonly digests: DigestResolver,
    private readonly engine: ImagePolicyService,
    private readonly ledger: VerificationLedger,
  ) {
    collectDefaultMetrics({
      register: this.registry,
      ...(cluster.worker ? { labels: { [PROCESS_LABEL]: workerProcessName(cluster.worker.id) } } : {}),
    });
    this.buildInfo.set(buildLabels(), 1);
  }

  /** After every module's init, when the policy and TLS material have loaded. */
  onApplicationBootstrap(): void {
    this.policyStore.onReload((result) => this.policyReloads.inc({ result }));
    // Several per image of every review, cache hits included.
    this.engine.onVerification(({ rule, outcome, cache, seconds }) => {
      this.pendingVerifications.add([rule, outcome]);
      this.verificationDuration.observe({ rule, cache }, seconds);
    });
    this.engine.onEvidenceDiscarded(({ reason, count }) => this.evidenceDiscarded.inc({ reason }, count));
    // Credentials never reach a label: the registry is named by its host, as images name it.
    this.registryClient.observe({
      request: ({ registry, operation, outcome, seconds }) => {
        this.registryRequests.inc({ registry, operation, outcome });
        this.registryRequestDuration.observe({ registry, operation }, seconds);
      },
      cache: (cache, event) => this.pendingCacheEvents.add([cache, event]),
      // Labelled by hop and reason only: the refused host is whatever a pod author or registry named.
      hopRefused: ({ hop, reason }) => this.registryHopsRefused.inc({ hop, reason }),
      budgetExceeded: ({ budget, operation }) => this.registryBudgetExceeded.inc({ budget, operation }),
    });
    this.ledger.onEvent((event) => {
      if (event.type === 'admission') this.ledgerAdmissions.inc({ rule: event.rule });
      else if (event.type === 'pin') this.ledgerPins.inc();
      else this.ledgerRefreshes.inc({ outcome: event.outcome });
    });
    // Only registries whose verdicts the ledger holds: a pod naming a host that does not exist is
    // no outage, and must not make a series per host it names.
    this.ledger.outages.onChange((registry, failing) => {
      if (this.ledger.holdsRegistry(registry)) this.registryOutage.set({ registry }, failing ? 1 : 0);
    });
    this.certificateExpiry.set(this.tls.current.notAfter.getTime() / 1000);
    this.tls.onRotation((result, material) => {
      this.certificateRotations.inc({ result });
      this.certificateExpiry.set(material.notAfter.getTime() / 1000);
    });
  }

  recordDecision(endpoint: ReviewEndpoint, decision: PolicyDecision): void {
    if (decision.breakGlass) this.breakGlass.inc();
    for (const verdict of decision.verdicts)
      if (verdict.exception) this.exceptions.inc({ ticket: verdict.exception.ticket });
    if (!decision.allowed) {
      for (const rule of rulesWith(decision, 'enforce')) this.countDecision(endpoint, 'deny', rule);
      return;
    }
    // Labelled by the rules behind it: a break-glass override is counted apart, above.
    const warned = rulesWith(decision, 'warn');
    if (warned.length === 0) this.countDecision(endpoint, 'allow', '');
    for (const rule of warned) this.countDecision(endpoint, 'warn', rule);
  }

  private countDecision(endpoint: ReviewEndpoint, decision: 'allow' | 'deny' | 'warn', rule: string): void {
    this.pendingDecisions.add([endpoint, decision, rule]);
  }

  recordPinning(pinning: PinningDecision): void {
    for (const { outcome } of pinning.pins)
      this.imagePins.inc({
        result: 'pinned' in outcome ? 'pinned' : 'unchanged' in outcome ? 'unchanged' : outcome.unresolved,
      });
  }

  /** A review allowed without consulting the policy (DELETE, a kind with no pod spec). */
  recordUnchecked(endpoint: ReviewEndpoint): void {
    this.countDecision(endpoint, 'allow', '');
  }

  // What every review counts, held until a read (src/metrics/pending-counts.ts).
  private readonly pendingRequests = new PendingCounts(['endpoint', 'code'] as const);
  private readonly pendingDecisions = new PendingCounts(['endpoint', 'decision', 'rule'] as const);
  private readonly pendingVerifications = new PendingCounts(['rule', 'outcome'] as const);
  private readonly pendingCacheEvents = new PendingCounts(['cache', 'event'] as const);

  /** Express middleware timing every review request, including ones refused before Nest sees them. */
  readonly observeRequests = (request: Request, response: Response, next: NextFunction): void => {
    const endpoint =
      request.method === 'POST' ? REVIEW_ENDPOINT_BY_PATH.get(request.url.split('?')[0]) : undefined;
    if (endpoint !== undefined) {
      const started = process.hrtime.bigint();
      response.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const code = response.statusCode;
        this.requestDuration.observe({ endpoint }, seconds);
        this.pendingRequests.add([endpoint, String(code)]);
        if (code >= 400) this.reviewErrors.inc({ endpoint, reason: 'rejected' });
      });
    }
    next();
  };
}

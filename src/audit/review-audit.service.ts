import { Injectable, Logger } from '@nestjs/common';
import { ReviewEndpoint } from '../http';
import { MetricsService } from '../metrics';
import { PinningDecision, PolicyDecision, exceptionsUsed } from '../policy';

/** What is known about the object under review; ImageReview carries only the namespace. */
export interface ReviewSubject {
  readonly uid?: string;
  readonly namespace?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly operation?: string;
}

/**
 * The audit trail of reviews: one structured log line per review and the decision metrics, from
 * the same call so the two can never disagree. Probes and scrapes are not reviews and never appear.
 */
@Injectable()
export class ReviewAuditService {
  private readonly logger = new Logger('ReviewAudit');

  constructor(private readonly metrics: MetricsService) {}

  recordDecision(endpoint: ReviewEndpoint, subject: ReviewSubject, decision: PolicyDecision): void {
    this.metrics.recordDecision(endpoint, decision);
    const exceptions = exceptionsUsed(decision);
    const hasExceptions = Object.keys(exceptions).length > 0;
    const rules: string[] = [];
    for (const verdict of decision.verdicts)
      for (const { rule, enforcement } of verdict.violations) {
        const named = `${rule}:${enforcement}`;
        if (!rules.includes(named)) rules.push(named);
      }
    // One line per review: the optional fields are set only when present, in a fixed order.
    const entry: Record<string, unknown> = {
      msg: decision.allowed ? 'review allowed' : 'review denied',
      endpoint,
      ...subject,
      decision: decision.allowed ? 'allow' : 'deny',
      images: decision.verdicts.map((v) => v.subject.image),
      rules,
      policyRevision: decision.policy.revision,
    };
    if (decision.exemptNamespace) entry.exemptNamespace = decision.exemptNamespace;
    if (hasExceptions) entry.exceptions = exceptions;
    if (decision.breakGlass)
      entry.breakGlass = { ticket: decision.breakGlass.ticket, expires: decision.breakGlass.expires };
    if (decision.breakGlassRefusals.length > 0) entry.breakGlassRefusals = decision.breakGlassRefusals;
    if (decision.breakGlass || hasExceptions) this.logger.warn(entry);
    else this.logger.log(entry);
  }

  /** A /mutate review: which images were pinned to which digest, and which could not be, and why. */
  recordPinning(subject: ReviewSubject, pinning: PinningDecision): void {
    this.metrics.recordPinning(pinning);
    const entry = {
      msg: 'review pinned',
      endpoint: 'mutate',
      ...subject,
      decision: 'allow',
      policyRevision: pinning.policy.revision,
      ...(pinning.skipped ? { unchecked: pinning.skipped } : {}),
      pins: pinning.pins.map(({ subject: { image }, outcome }) =>
        'pinned' in outcome
          ? { image, pinned: outcome.pinned, cache: outcome.resolution.cache, ms: outcome.resolution.ms }
          : 'unchanged' in outcome
            ? { image, unchanged: outcome.unchanged }
            : {
                image,
                unresolved: outcome.unresolved,
                detail: outcome.detail,
                registry: outcome.resolution.registry,
              },
      ),
    };
    if (pinning.pins.some((pin) => 'unresolved' in pin.outcome)) this.logger.warn(entry);
    else this.logger.log(entry);
  }

  /** An AdmissionReview allowed without consulting the policy: DELETE, a kind with no pod spec. */
  recordUnchecked(endpoint: ReviewEndpoint, subject: ReviewSubject, why: string): void {
    this.metrics.recordUnchecked(endpoint);
    this.logger.log({
      msg: 'review allowed unchecked',
      endpoint,
      ...subject,
      decision: 'allow',
      unchecked: why,
    });
  }

  /**
   * A review that could not be read or evaluated. `answered` says how: with a denial (counted
   * here), or with a 4xx or 5xx, which the request metrics count as `rejected` for every path by
   * which one can happen, body parsing included.
   */
  recordFailure(
    endpoint: ReviewEndpoint,
    subject: ReviewSubject,
    reason: 'malformed' | 'internal',
    detail: string,
    answered: 'denial' | 'error-status',
  ): void {
    if (answered === 'denial') this.metrics.reviewErrors.inc({ endpoint, reason });
    const entry = {
      msg: `review failed (${reason})`,
      endpoint,
      ...subject,
      decision: 'deny',
      answered,
      error: detail,
    };
    if (reason === 'internal') this.logger.error(entry);
    else this.logger.warn(entry);
  }
}

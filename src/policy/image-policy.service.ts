import { Injectable, Logger } from '@nestjs/common';
import { ImageReference, InvalidImageReferenceError } from '../image-reference';
import { DigestResolution, DigestResolver, registryDeadline } from '../registry';
import { ImageVerifier, VerificationResult, registryFailureReason } from '../verification';
import { describeTicket, readBreakGlass } from './break-glass';
import {
  ImagePolicyRequest,
  ImageUnderReview,
  ImageVerdict,
  PolicyDecision,
  RuleViolation,
} from './image-policy.types';
import { matchesAny } from './patterns/image-pattern';
import { violationsWith } from './policy-decision';
import { CompiledImagePolicy, CompiledRule, ruleAppliesIn } from './policy-file/compiled-image-policy';
import { PolicyStore } from './policy-file/policy-store.service';
import { ReferenceCache } from './reference-cache';

export const INVALID_REFERENCE_RULE = 'valid-reference';
export const RULE_FAILURE_RULE = 'rule-error';

function invalidReference(error: InvalidImageReferenceError): RuleViolation {
  return {
    rule: INVALID_REFERENCE_RULE,
    enforcement: 'enforce',
    summary: 'Images that are not valid references are not allowed',
    problem: `is not a valid image reference (${error.message})`,
    detail: error.message,
  };
}

/** Why a rule was not applied to an image. */
export type RuleSkip =
  | { readonly because: 'exempt-namespace'; readonly pattern: string }
  | { readonly because: 'invalid-reference' }
  | { readonly because: 'exempt-image'; readonly pattern: string }
  | { readonly because: 'rule-exempt-image'; readonly pattern: string }
  | { readonly because: 'out-of-scope'; readonly namespaces: readonly string[] }
  | { readonly because: 'exception'; readonly ticket: string; readonly expires: Date }
  | { readonly because: 'needs-registry' };

/** One rule meeting one image: skipped (and why), or applied, with what it found. */
export interface RuleTrace {
  readonly rule: CompiledRule;
  readonly skipped?: RuleSkip;
  readonly violation?: RuleViolation;
  /** What the registry said, for a rule that asked it. */
  readonly verification?: VerificationResult;
}

export interface ImageTrace {
  readonly verdict: ImageVerdict;
  /** The tag's digest, when a registry-aware rule needed it and the image named none. */
  readonly resolution?: DigestResolution;
  /** Every rule of the policy, in policy order. */
  readonly rules: readonly RuleTrace[];
}

/** Whether registry-aware rules ask the registry, or are skipped (`check` without `--online`). */
export interface DecideOptions {
  readonly registry: 'online' | 'offline';
}

/** A rule that needs the registry, waiting for what it will say. */
interface PendingCheck {
  readonly image: number;
  readonly rule: number;
}

/** One rule's verification of one image, as metrics count it. */
export interface VerificationEvent {
  readonly rule: string;
  /** `verified`, or the reason it did not verify. */
  readonly outcome: string;
  readonly cache: 'hit' | 'miss';
  readonly seconds: number;
}

/** A decision together with how it was reached. */
export interface PolicyExplanation {
  readonly policy: CompiledImagePolicy;
  readonly namespace?: string;
  readonly images: readonly ImageTrace[];
  readonly decision: PolicyDecision;
}

/**
 * The one decision engine behind both review types and the CLI: parse each image, apply the policy
 * in force (exemptions, exceptions, scopes, rules, enforcement), then break-glass. Pure rules run
 * first and synchronously; what registry-aware rules need (a tag's digest, the verification of its
 * signatures) is gathered once per review, for all images at once, under the policy's one registry
 * deadline, and those rules then read what was gathered. Rule logic lives only in the rule classes.
 */
@Injectable()
export class ImagePolicyService {
  private readonly logger = new Logger(ImagePolicyService.name);
  private readonly references = new ReferenceCache();
  private readonly verificationListeners: ((event: VerificationEvent) => void)[] = [];

  constructor(
    private readonly store: PolicyStore,
    private readonly resolver: DigestResolver,
    private readonly verifier: ImageVerifier,
  ) {}

  get policy(): CompiledImagePolicy {
    return this.store.current;
  }

  async evaluate(request: ImagePolicyRequest, options?: DecideOptions): Promise<PolicyDecision> {
    return (await this.decide(request, options)).decision;
  }

  /** The decision `evaluate` makes, with every rule's part in it, for `kube-image-bouncer explain`. */
  explain(request: ImagePolicyRequest, options?: DecideOptions): Promise<PolicyExplanation> {
    return this.decide(request, options);
  }

  /** Every verification a registry-aware rule gets; metrics count them here. */
  onVerification(listener: (event: VerificationEvent) => void): void {
    this.verificationListeners.push(listener);
  }

  /** What verifications discarded of a registry's evidence (malformed, or over a budget); metrics count it here. */
  onEvidenceDiscarded(listener: Parameters<ImageVerifier['onDiscard']>[0]): void {
    this.verifier.onDiscard(listener);
  }

  /** Whether the policy has rules that ask registries, which `check` skips unless it is online. */
  get usesRegistry(): boolean {
    return this.store.current.rules.some((rule) => rule.rule.verification !== undefined);
  }

  // The one code path behind evaluate and explain, so an explanation can never disagree with a decision.
  private async decide(
    request: ImagePolicyRequest,
    options: DecideOptions = { registry: 'online' },
  ): Promise<PolicyExplanation> {
    const policy = this.store.current;
    const namespace = request.namespace || undefined;
    const decided = { policy: { name: policy.name, revision: policy.revision }, breakGlassRefusals: [] };
    const explained = (decision: PolicyDecision, images: ImageTrace[]): PolicyExplanation => ({
      policy,
      namespace,
      images,
      decision,
    });

    const exemptNamespace = namespace && policy.exemptNamespaces.find((glob) => glob.matches(namespace));
    if (exemptNamespace) {
      this.logger.log(
        `namespace ${namespace} is exempt (${exemptNamespace.source}): allowed ${request.images.length} image(s) unchecked`,
      );
      const exemptBy = `namespace ${exemptNamespace.source}`;
      const skipped: RuleSkip = { because: 'exempt-namespace', pattern: exemptNamespace.source };
      const images = request.images.map((subject) => ({
        verdict: { subject, violations: [], exemptBy },
        rules: policy.rules.map((rule) => ({ rule, skipped })),
      }));
      return explained(
        {
          ...decided,
          allowed: true,
          exemptNamespace: exemptNamespace.source,
          verdicts: images.map((image) => image.verdict),
        },
        images,
      );
    }

    const now = new Date();
    const judged = request.images.map((subject) => this.judge(subject, policy, namespace, now));
    const pending: PendingCheck[] = [];
    judged.forEach(({ rules }, image) =>
      rules.forEach((trace, rule) => {
        if (trace.pending) pending.push({ image, rule });
      }),
    );
    const images =
      pending.length === 0
        ? judged.map((trace) => finishedTrace(trace))
        : options.registry === 'offline'
          ? judged.map((trace) => finishedTrace(trace, () => ({ because: 'needs-registry' })))
          : await this.gatherAndCheck(judged, pending, policy);

    const decision: PolicyDecision = { ...decided, allowed: true, verdicts: images.map((i) => i.verdict) };
    for (const { verdict, violation } of violationsWith(decision, 'audit')) {
      this.logger.log(
        `audit: image ${verdict.subject.image} in ${namespace ?? 'no namespace'} ${violation.problem} (rule ${violation.rule})`,
      );
    }
    if (violationsWith(decision, 'enforce').length === 0) return explained(decision, images);

    const breakGlass = readBreakGlass(request.annotations ?? {}, now, policy.breakGlassMaxHours);
    if (!policy.breakGlass) {
      const refusals = breakGlass.present ? ['break-glass annotations are disabled by the policy'] : [];
      return explained({ ...decision, allowed: false, breakGlassRefusals: refusals }, images);
    }
    if (breakGlass.active) {
      this.logger.warn(
        `break-glass ticket ${describeTicket(breakGlass.active)} allowed a denied review in ${namespace ?? 'no namespace'}`,
      );
      return explained(
        {
          ...decision,
          allowed: true,
          breakGlass: breakGlass.active,
          breakGlassRefusals: breakGlass.refusals,
        },
        images,
      );
    }
    return explained({ ...decision, allowed: false, breakGlassRefusals: breakGlass.refusals }, images);
  }

  /**
   * The registry phase: each image's digest (its own, or its tag's now), then every pending
   * rule's verification, all in parallel under one deadline. Whatever fails or runs out of time
   * reaches the rule as a failed verification, so under enforce it denies.
   */
  private async gatherAndCheck(
    judged: readonly JudgedImage[],
    pending: readonly PendingCheck[],
    policy: CompiledImagePolicy,
  ): Promise<ImageTrace[]> {
    const deadline = registryDeadline(policy.registryTimeoutMs);
    const digests = new Map<number, Promise<{ digest?: string; resolution?: DigestResolution }>>();
    const digestOf = (image: number): Promise<{ digest?: string; resolution?: DigestResolution }> => {
      let found = digests.get(image);
      if (!found) {
        const reference = judged[image].reference!;
        found =
          reference.digest !== undefined
            ? Promise.resolve({ digest: reference.digest })
            : this.resolver
                .resolve(
                  reference.domain,
                  reference.path,
                  reference.tag ?? 'latest',
                  policy.registries,
                  policy.tagTtlMs,
                  deadline,
                )
                .then((resolution) => ({ digest: resolution.digest, resolution }));
        digests.set(image, found);
      }
      return found;
    };
    const verified = await Promise.all(
      pending.map(async ({ image, rule }) => {
        const { reference } = judged[image];
        const compiled = judged[image].rules[rule].rule;
        const { digest, resolution } = await digestOf(image);
        if (digest === undefined) {
          const failure = resolution!.failure!;
          return {
            verified: false,
            reason: registryFailureReason(failure.reason),
            detail: failure.detail,
            digest: '',
            evidence: [],
            cache: 'miss',
            ms: resolution!.ms,
            registryFailure: failure.reason,
          } satisfies VerificationResult;
        }
        return this.verifier.verify(
          {
            access: policy.registries.accessFor(reference!.domain),
            repository: reference!.path,
            digest,
            policyRevision: policy.revision,
            successTtlMs: policy.verificationTtlMs,
            failureTtlMs: policy.verificationFailureTtlMs,
          },
          compiled.rule.verification!(compiled.settings),
          deadline,
        );
      }),
    );
    const results = new Map(pending.map(({ image, rule }, i) => [`${image}/${rule}`, verified[i]]));
    pending.forEach(({ image, rule }, i) => {
      const event: VerificationEvent = {
        rule: judged[image].rules[rule].rule.name,
        outcome: verified[i].verified ? 'verified' : (verified[i].reason ?? 'not verified'),
        cache: verified[i].cache,
        seconds: verified[i].ms / 1000,
      };
      for (const listener of this.verificationListeners) listener(event);
    });
    const resolutions = await Promise.all(
      [...digests].map(async ([image, found]) => [image, (await found).resolution] as const),
    );
    const resolutionOf = new Map(resolutions);
    return judged.map((trace, image) => {
      const rules = trace.rules.map((ruleTrace, rule): RuleTrace => {
        if (!ruleTrace.pending) return ruleTrace;
        const verification = results.get(`${image}/${rule}`)!;
        const violation = this.check(ruleTrace.rule, trace.subject.image, trace.reference!, verification);
        return violation
          ? { rule: ruleTrace.rule, violation, verification }
          : { rule: ruleTrace.rule, verification };
      });
      return finishedTrace({ ...trace, rules }, undefined, resolutionOf.get(image));
    });
  }

  private judge(
    subject: ImageUnderReview,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
    now: Date,
  ): JudgedImage {
    const skipAll = (skipped: RuleSkip): RuleTrace[] => policy.rules.map((rule) => ({ rule, skipped }));
    let reference: ImageReference;
    try {
      reference = this.references.parse(subject.image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      return {
        subject,
        violations: [invalidReference(error)],
        rules: skipAll({ because: 'invalid-reference' }),
      };
    }
    const exemptPattern = matchesAny(policy.exemptImages, reference);
    if (exemptPattern)
      return {
        subject,
        reference,
        violations: [],
        exemptBy: `image pattern ${exemptPattern.source}`,
        rules: skipAll({ because: 'exempt-image', pattern: exemptPattern.source }),
      };
    const exception =
      policy.exceptions.length > 0
        ? policy.exceptions.find((e) => e.covers(reference, namespace, now))
        : undefined;
    if (exception) {
      this.logger.warn(
        `exception ${describeTicket(exception)} lets image ${subject.image} in ${namespace ?? 'no namespace'} through every rule`,
      );
      return {
        subject,
        reference,
        violations: [],
        exemptBy: `exception ${describeTicket(exception)}`,
        exception: { ticket: exception.ticket, expires: exception.expires },
        rules: skipAll({ because: 'exception', ticket: exception.ticket, expires: exception.expires }),
      };
    }

    const rules = policy.rules.map((rule) => this.apply(rule, subject.image, reference, namespace));
    const violations: RuleViolation[] = [];
    for (const traced of rules) if (traced.violation) violations.push(traced.violation);
    return { subject, reference, violations, rules };
  }

  private apply(
    rule: CompiledRule,
    image: string,
    reference: ImageReference,
    namespace: string | undefined,
  ): RuleTrace & { pending?: true } {
    if (!ruleAppliesIn(rule, namespace))
      return {
        rule,
        skipped: { because: 'out-of-scope', namespaces: (rule.namespaces ?? []).map((g) => g.source) },
      };
    const exemptPattern = matchesAny(rule.exemptImages, reference);
    if (exemptPattern)
      return { rule, skipped: { because: 'rule-exempt-image', pattern: exemptPattern.source } };
    if (rule.rule.verification !== undefined) return { rule, pending: true };
    const violation = this.check(rule, image, reference);
    return violation ? { rule, violation } : { rule };
  }

  /** A rule that throws denies the image, whatever its enforcement: a bug must never become an allow. */
  private check(
    rule: CompiledRule,
    image: string,
    reference: ImageReference,
    verification?: VerificationResult,
  ): RuleViolation | undefined {
    try {
      const finding = rule.rule.check(reference, rule.settings, verification);
      return finding && { rule: rule.name, enforcement: rule.enforcement, ...finding };
    } catch (error) {
      this.logger.error(`rule ${rule.name} failed on image ${JSON.stringify(image)}: ${String(error)}`);
      return {
        rule: RULE_FAILURE_RULE,
        enforcement: 'enforce',
        summary: 'Images whose policy check failed are not allowed',
        problem: `could not be checked by rule ${rule.name}`,
      };
    }
  }
}

/** An image after the pure rules, with the registry-aware ones still pending. */
interface JudgedImage {
  readonly subject: ImageUnderReview;
  readonly reference?: ImageReference;
  readonly violations: readonly RuleViolation[];
  readonly exemptBy?: string;
  readonly exception?: { readonly ticket: string; readonly expires: Date };
  readonly rules: readonly (RuleTrace & { readonly pending?: true })[];
}

/** The image's trace once every rule has spoken; a rule still pending is skipped with `skipPending`. */
function finishedTrace(
  judged: JudgedImage,
  skipPending?: () => RuleSkip,
  resolution?: DigestResolution,
): ImageTrace {
  // Once per image of every review: plain loops, and a trace that was never pending is kept as is
  // rather than copied without its (absent) `pending` key.
  const rules: RuleTrace[] = judged.rules.map((trace) => {
    if (!trace.pending) return trace;
    const { pending, ...rest } = trace;
    return pending && skipPending ? { ...rest, skipped: skipPending() } : rest;
  });
  const violations: RuleViolation[] = [];
  for (const violation of judged.violations)
    if (violation.rule === INVALID_REFERENCE_RULE) violations.push(violation);
  for (const trace of rules) if (trace.violation) violations.push(trace.violation);
  // Keys in the order they always had, for anything that prints a verdict as JSON; the rare exempt
  // image pays for the copies.
  const { subject, reference, exemptBy, exception } = judged;
  let verdict: ImageVerdict = reference ? { subject, reference, violations } : { subject, violations };
  if (exemptBy) verdict = { ...verdict, exemptBy };
  if (exception) verdict = { ...verdict, exception };
  return resolution ? { verdict, rules, resolution } : { verdict, rules };
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConditionBudget } from '../attestation-conditions';
import { inTurns } from '../cache';
import { ImageReference, InvalidImageReferenceError } from '../image-reference';
import { DigestResolution, DigestResolver, RegistryDeadline, registryDeadline } from '../registry';
import {
  ImageVerifier,
  LocalAttestation,
  VerificationRequest,
  VerificationResult,
  VerificationTarget,
  registryFailureReason,
  verifyLocalAttestations,
} from '../verification';
import { RefreshResult, VerdictSubject, VerificationLedger, isOutage } from '../verification-ledger';
import { describeTicket, readBreakGlass } from './break-glass';
import {
  Assessment,
  FIRST_LOOK,
  ImageFacts,
  ImageTrace,
  ImageUnderPolicy,
  OFFLINE,
  RuleSkip,
  assess,
  finished,
  isSettled,
} from './image-assessment';
import { ImagePolicyRequest, ImageUnderReview, LedgerDecision, PolicyDecision } from './image-policy.types';
import { violationsWith } from './policy-decision';
import { NamespaceGlob } from './patterns/glob';
import { CompiledImagePolicy, CompiledRule } from './policy-file/compiled-image-policy';
import { PolicyStore } from './policy-file/policy-store.service';
import { ReferenceCache } from './reference-cache';

export { INVALID_REFERENCE_RULE, RULE_FAILURE_RULE } from './image-assessment';
export type { ImageTrace, RuleSkip, RuleTrace } from './image-assessment';

/**
 * Images of one review whose registry facts are gathered at once; the others wait their turn. A
 * pod spec bounds nothing (thousands of containers fit an apiserver request), and every image's
 * lookups and verifications at once took a worker past a GiB (SECURITY.md's budget table). An
 * honest pod rarely has more distinct images than this, and those it has are mostly cached.
 */
export const REVIEW_IMAGES_AT_ONCE = 16;

/** Whether registry-aware rules ask the registry, or are skipped (`check` without `--online`). */
export interface DecideOptions {
  readonly registry: 'online' | 'offline';
  /**
   * Attestations from files (a policy test's), which verifyAttestations rules read instead of the
   * registry: judged as the registry's would be, for every image of the review.
   */
  readonly attestations?: readonly LocalAttestation[];
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
 * signatures) is gathered once per review, REVIEW_IMAGES_AT_ONCE images at a time, under the
 * policy's one registry deadline, and those rules then read what was gathered. Rule logic lives only in the rule classes.
 */
@Injectable()
export class ImagePolicyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ImagePolicyService.name);
  private readonly references = new ReferenceCache();
  private readonly verificationListeners: ((event: VerificationEvent) => void)[] = [];

  constructor(
    private readonly store: PolicyStore,
    private readonly resolver: DigestResolver,
    private readonly verifier: ImageVerifier,
    private readonly ledger: VerificationLedger,
  ) {}

  /** Opens the verification ledger where the policy loaded at start says (or `--ledger-dir`). */
  async onApplicationBootstrap(): Promise<void> {
    const path = this.store.current.verificationLedger.path;
    await this.ledger.open(path);
    this.store.onReload((result) => {
      const now = this.store.current.verificationLedger.path;
      if (result === 'applied' && this.ledger.enabled && now !== undefined && now !== this.ledger.dir)
        this.logger.warn(
          `spec.verificationLedger.path is now ${now}; the ledger stays in ${this.ledger.dir} until restart`,
        );
    });
  }

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
    const exemptNamespace = namespace && policy.exemptNamespaces.find((glob) => glob.matches(namespace));
    if (exemptNamespace) return this.exemptNamespaceExplanation(request, policy, namespace, exemptNamespace);

    const now = new Date();
    const images = await this.judgeImages(request, policy, namespace, now, options);
    const decision: PolicyDecision = {
      policy: { name: policy.name, revision: policy.revision },
      breakGlassRefusals: [],
      allowed: true,
      verdicts: images.map((i) => i.verdict),
    };
    for (const { verdict, violation } of violationsWith(decision, 'audit')) {
      this.logger.log(
        `audit: image ${verdict.subject.image} in ${namespace ?? 'no namespace'} ${violation.problem} (rule ${violation.rule})`,
      );
    }
    const enforced =
      violationsWith(decision, 'enforce').length === 0
        ? decision
        : this.breakGlass(decision, request, policy, namespace, now);
    return { policy, namespace, images, decision: enforced };
  }

  /** A review in an exempt namespace: every image allowed unchecked, and logged. */
  private exemptNamespaceExplanation(
    request: ImagePolicyRequest,
    policy: CompiledImagePolicy,
    namespace: string,
    exemptNamespace: NamespaceGlob,
  ): PolicyExplanation {
    this.logger.log(
      `namespace ${namespace} is exempt (${exemptNamespace.source}): allowed ${request.images.length} image(s) unchecked`,
    );
    const exemptBy = `namespace ${exemptNamespace.source}`;
    const skipped: RuleSkip = { because: 'exempt-namespace', pattern: exemptNamespace.source };
    const images = request.images.map((subject) => ({
      verdict: { subject, violations: [], exemptBy },
      rules: policy.rules.map((rule) => ({ rule, skipped })),
    }));
    const decision: PolicyDecision = {
      policy: { name: policy.name, revision: policy.revision },
      breakGlassRefusals: [],
      allowed: true,
      exemptNamespace: exemptNamespace.source,
      verdicts: images.map((image) => image.verdict),
    };
    return { policy, namespace, images, decision };
  }

  /**
   * Every image's trace: a first look with no registry facts, then, for those that still need
   * them (and that no enforced pure rule already denies), the registry phase under the review's
   * one deadline, all images at once. What an UPDATE leaves as it was is left out where judging it
   * again could say nothing new.
   */
  private async judgeImages(
    request: ImagePolicyRequest,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
    now: Date,
    options: DecideOptions,
  ): Promise<ImageTrace[]> {
    const conditionBudget = new ConditionBudget();
    let looked = request.images.map((subject) => this.look(subject, policy, namespace, now, conditionBudget));
    const { attestations } = options;
    // Only a policy test gives attestation files; a review never waits on them.
    if (attestations)
      looked = await Promise.all(
        looked.map(async (image) => ({ ...image, given: await given(image, attestations) })),
      );
    const firstLooks = looked.map((image) => assess(image, FIRST_LOOK, this.onRuleError));
    const judged = looked.flatMap((image, i) =>
      grandfathered(image, firstLooks[i]) ? [] : [{ image, first: firstLooks[i] }],
    );
    let deadline: RegistryDeadline | undefined;
    const inTurn = inTurns(REVIEW_IMAGES_AT_ONCE);
    const images = await Promise.all(
      judged.map(async ({ image, first }): Promise<ImageTrace> => {
        if (isSettled(first) || first.deniedBy !== undefined) return finished(first);
        if (options.registry === 'offline') return finished(assess(image, OFFLINE, this.onRuleError));
        const review = (deadline ??= registryDeadline(policy.registryTimeoutMs));
        return inTurn(() => this.gatherFacts(image, first, review));
      }),
    );
    for (const { verdict } of images)
      if (verdict.exception)
        this.logger.warn(
          `exception ${describeTicket(verdict.exception)} lets image ${verdict.subject.image} in ${namespace ?? 'no namespace'} through every rule`,
        );
    return images;
  }

  /** A decision with enforced violations: denied, unless the policy honours a live break-glass ticket. */
  private breakGlass(
    decision: PolicyDecision,
    request: ImagePolicyRequest,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
    now: Date,
  ): PolicyDecision {
    const breakGlass = readBreakGlass(request.annotations ?? {}, now, policy.breakGlassMaxHours);
    if (!policy.breakGlass) {
      const refusals = breakGlass.present ? ['break-glass annotations are disabled by the policy'] : [];
      return { ...decision, allowed: false, breakGlassRefusals: refusals };
    }
    if (!breakGlass.active) return { ...decision, allowed: false, breakGlassRefusals: breakGlass.refusals };
    this.logger.warn(
      `break-glass ticket ${describeTicket(breakGlass.active)} allowed a denied review in ${namespace ?? 'no namespace'}`,
    );
    return {
      ...decision,
      allowed: true,
      breakGlass: breakGlass.active,
      breakGlassRefusals: breakGlass.refusals,
    };
  }

  /** An image parsed once (through the bounded cache), with where and when it is judged. */
  private look(
    subject: ImageUnderReview,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
    now: Date,
    conditionBudget: ConditionBudget,
  ): ImageUnderPolicy {
    let parsed: ImageReference | InvalidImageReferenceError;
    try {
      parsed = this.references.parse(subject.image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      parsed = error;
    }
    return { subject, parsed, policy, namespace, now, conditionBudget };
  }

  /**
   * The registry phase of one image, under the review's one deadline: what its tag resolves to
   * now, when a rule or a pattern that names a tag needs it, then each applicable rule's
   * verification, then the last look. Whatever fails or runs out of time reaches the rule as a
   * failed verification, so under enforce it denies. Every image of a review runs this at once.
   */
  private async gatherFacts(
    image: ImageUnderPolicy,
    first: Assessment,
    deadline: RegistryDeadline,
  ): Promise<ImageTrace> {
    const { policy } = image;
    const reference = image.parsed as ImageReference;
    // Facts are built as literals, not spread copies: Node 20 adds a key to a spread copy slowly
    // (see traceOf in image-assessment.ts), and this runs for every image of every review.
    let facts: ImageFacts = { registry: 'asked' };
    if (first.needsTagDigest)
      facts = {
        registry: 'asked',
        tagDigest: await this.resolver.resolve(
          reference.domain,
          reference.path,
          reference.tag ?? 'latest',
          policy.registries,
          policy.tagTtlMs,
          deadline,
        ),
      };
    const known = assess(image, facts, this.onRuleError);
    if (known.verify.length === 0 || known.deniedBy !== undefined) return finished(known);
    const digest = reference.digest ?? facts.tagDigest?.digest;
    const answers = await Promise.all(
      known.verify.map(
        async (rule) =>
          [
            rule,
            digest === undefined
              ? { verification: unresolvedVerification(facts.tagDigest) }
              : await this.verify(rule, reference, digest, policy, deadline),
          ] as const,
      ),
    );
    const verifications = new Map(answers.map(([rule, answer]) => [rule, answer.verification]));
    const ledger = new Map(
      answers.flatMap(([rule, answer]) => (answer.ledger ? [[rule, answer.ledger] as const] : [])),
    );
    const { tagDigest } = facts;
    const answered: ImageFacts =
      ledger.size > 0
        ? { registry: 'asked', tagDigest, verifications, ledger }
        : { registry: 'asked', tagDigest, verifications };
    return finished(assess(image, answered, this.onRuleError));
  }

  /**
   * One rule's verification of one digest. The verification ledger learns every answer the
   * registry gave, and answers in its place only while it is away (timed out, unreachable, rate
   * limited): for a digest verified within admitVerifiedWithin under this very policy revision and
   * trust material. While a registry is known to be failing, such a digest is admitted without
   * waiting for the registry's deadline again; the ledger's refresher probes it in the background.
   */
  private async verify(
    rule: CompiledRule,
    reference: ImageReference,
    digest: string,
    policy: CompiledImagePolicy,
    deadline: RegistryDeadline,
  ): Promise<{ verification: VerificationResult; ledger?: LedgerDecision }> {
    const request = rule.rule.verification!(rule.settings);
    const target: VerificationTarget = {
      access: policy.registries.accessFor(reference.domain),
      repository: reference.path,
      digest,
      policyRevision: policy.revision,
      successTtlMs: policy.verificationTtlMs,
      failureTtlMs: policy.verificationFailureTtlMs,
    };
    const subject = ledgerSubject(rule, request, target);
    let answered: { verification: VerificationResult; ledger?: LedgerDecision } | undefined;
    const failing = this.ledger.enabled ? this.ledger.outages.failure(target.access.registry) : undefined;
    if (failing !== undefined) answered = this.fromLedger(rule, subject, target, request, policy, failing);
    if (answered === undefined) {
      const verification = await this.verifier.verify(target, request, deadline);
      this.learn(subject, target, request, policy, verification);
      answered = (isOutage(verification.registryFailure) &&
        this.fromLedger(rule, subject, target, request, policy, verification.registryFailure!)) || {
        verification,
      };
    }
    const { verification } = answered;
    const event: VerificationEvent = {
      rule: rule.name,
      outcome: verification.verified ? 'verified' : (verification.reason ?? 'not verified'),
      cache: verification.cache,
      seconds: verification.ms / 1000,
    };
    for (const listener of this.verificationListeners) listener(event);
    return answered;
  }

  /** The ledger's answer for a registry that cannot give one, if it may give it. */
  private fromLedger(
    rule: CompiledRule,
    subject: VerdictSubject,
    target: VerificationTarget,
    request: VerificationRequest,
    policy: CompiledImagePolicy,
    registryFailure: NonNullable<VerificationResult['registryFailure']>,
  ): { verification: VerificationResult; ledger: LedgerDecision } | undefined {
    // Conditions judge the verified statements, which the ledger does not keep: never from it.
    if (request.kind === 'attestations' && request.keepStatements) return undefined;
    const answer = this.ledger.admissible(subject, policy.verificationLedger);
    if (answer === undefined) return undefined;
    this.ledger.admitted(rule.name);
    this.ledger.use(this.hotDigest(subject, answer.record.verifiedAt, target, request, policy));
    const { record, ageMs } = answer;
    return {
      verification: {
        verified: true,
        digest: subject.digest,
        evidence: record.evidence,
        cache: 'hit',
        ms: 0,
      },
      ledger: {
        rule: rule.name,
        digest: subject.digest,
        registryFailure,
        verifiedAt: new Date(record.verifiedAt),
        ageMs,
      },
    };
  }

  /** What the registry said, for the ledger: a verdict, a refusal, or nothing it may keep. */
  private learn(
    subject: VerdictSubject,
    target: VerificationTarget,
    request: VerificationRequest,
    policy: CompiledImagePolicy,
    verification: VerificationResult,
  ): void {
    if (!this.ledger.enabled) return;
    if (verification.verified) {
      if (verification.cache === 'miss')
        this.ledger.recordVerified(
          subject,
          verification.evidence.flatMap((item) =>
            item.verifiedBy === undefined || item.where === 'attestation file'
              ? []
              : [
                  {
                    where: item.where,
                    verifiedBy: item.verifiedBy,
                    ...(item.predicateType ? { predicateType: item.predicateType } : {}),
                  },
                ],
          ),
        );
      this.ledger.use(this.hotDigest(subject, this.ledger.clock.now(), target, request, policy));
    } else if (verification.registryFailure === undefined && verification.cache === 'miss')
      this.ledger.recordRefused(subject);
  }

  /** A digest in use, due for re-verification refreshBefore ahead of its ledger verdict's expiry. */
  private hotDigest(
    subject: VerdictSubject,
    verifiedAt: number,
    target: VerificationTarget,
    request: VerificationRequest,
    policy: CompiledImagePolicy,
  ): Parameters<VerificationLedger['use']>[0] {
    const { admitVerifiedWithinMs, refreshBeforeMs } = policy.verificationLedger;
    return {
      key: VerificationLedger.keyOf(subject),
      registry: subject.registry,
      refreshAt: verifiedAt + admitVerifiedWithinMs - refreshBeforeMs,
      refresh: () => this.refresh(subject, target, request, policy),
    };
  }

  /** The background refresher's re-verification of a digest in use, under the policy it was verified by. */
  private async refresh(
    subject: VerdictSubject,
    target: VerificationTarget,
    request: VerificationRequest,
    policy: CompiledImagePolicy,
  ): Promise<RefreshResult> {
    // A verdict of a policy no longer in force is worth nothing to keep warm.
    if (this.store.current.revision !== policy.revision) return { outcome: 'stale' };
    const verification = await this.verifier.verify(
      { ...target, fresh: true },
      request,
      registryDeadline(policy.registryTimeoutMs),
    );
    this.learn(subject, target, request, policy, verification);
    if (verification.verified)
      return {
        outcome: 'verified',
        refreshAt:
          this.ledger.clock.now() +
          policy.verificationLedger.admitVerifiedWithinMs -
          policy.verificationLedger.refreshBeforeMs,
      };
    return { outcome: verification.registryFailure === undefined ? 'refused' : 'registry failure' };
  }

  private readonly onRuleError = (message: string): void => this.logger.error(message);
}

/**
 * On UPDATE, an image the object already ran is not judged again, so an old workload can still be
 * scaled, relabelled or rolled back after the policy tightens: but only where judging it again
 * could not say anything new, that is where it is pinned by digest or where no rule that applies
 * to it asks the registry (a tag may have moved to unsigned content since). The pod-spec reader
 * decides what ran before; an ephemeral container never did.
 */
function grandfathered(image: ImageUnderPolicy, first: Assessment): boolean {
  if (!image.subject.ranBefore) return false;
  if (!(image.parsed instanceof InvalidImageReferenceError) && image.parsed.digest !== undefined) return true;
  return (
    isSettled(first) || (first.deniedBy !== undefined && first.verify.length === 0 && !first.needsTagDigest)
  );
}

/** What the ledger keys a rule's verification of a digest by: the verifier's own cache key, and the rule. */
function ledgerSubject(
  rule: CompiledRule,
  request: VerificationRequest,
  target: VerificationTarget,
): VerdictSubject {
  return {
    registry: target.access.registry,
    repository: target.repository,
    digest: target.digest,
    check: request.kind,
    ...(request.kind === 'attestations' ? { predicateType: request.predicateType } : {}),
    trust: request.trust.hash,
    revision: target.policyRevision,
    rule: rule.name,
  };
}

/** A verification that never started because the tag could not be resolved: the resolution's failure. */
function unresolvedVerification(resolution: DigestResolution | undefined): VerificationResult {
  const failure = resolution?.failure ?? {
    reason: 'invalid response' as const,
    detail: 'no digest to verify',
  };
  return {
    verified: false,
    reason: registryFailureReason(failure.reason),
    detail: failure.detail,
    digest: '',
    evidence: [],
    cache: 'miss',
    ms: resolution?.ms ?? 0,
    registryFailure: failure.reason,
  };
}

/** What each verifyAttestations rule finds in a policy test's attestation files, for one image. */
async function given(
  image: ImageUnderPolicy,
  attestations: readonly LocalAttestation[],
): Promise<ReadonlyMap<CompiledRule, VerificationResult>> {
  const given = new Map<CompiledRule, VerificationResult>();
  if (image.parsed instanceof InvalidImageReferenceError) return given;
  for (const rule of image.policy.rules) {
    const request = rule.rule.verification?.(rule.settings);
    if (request?.kind !== 'attestations') continue;
    const found = await verifyLocalAttestations(attestations, request, image.parsed.digest);
    given.set(rule, { ...found, cache: 'miss', ms: 0 });
  }
  return given;
}

import { Injectable, Logger } from '@nestjs/common';
import { ImageReference, InvalidImageReferenceError } from '../image-reference';
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
  | { readonly because: 'out-of-scope'; readonly namespaces: readonly string[] };

/** One rule meeting one image: skipped (and why), or applied, with what it found. */
export interface RuleTrace {
  readonly rule: CompiledRule;
  readonly skipped?: RuleSkip;
  readonly violation?: RuleViolation;
}

export interface ImageTrace {
  readonly verdict: ImageVerdict;
  /** Every rule of the policy, in policy order. */
  readonly rules: readonly RuleTrace[];
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
 * in force (exemptions, scopes, rules, enforcement), then break-glass. Rule logic lives only in the
 * rule classes; this service decides which rules apply and what their findings mean.
 */
@Injectable()
export class ImagePolicyService {
  private readonly logger = new Logger(ImagePolicyService.name);
  private readonly references = new ReferenceCache();

  constructor(private readonly store: PolicyStore) {}

  get policy(): CompiledImagePolicy {
    return this.store.current;
  }

  async evaluate(request: ImagePolicyRequest): Promise<PolicyDecision> {
    return (await this.decide(request)).decision;
  }

  /** The decision `evaluate` makes, with every rule's part in it, for `kube-image-bouncer explain`. */
  explain(request: ImagePolicyRequest): Promise<PolicyExplanation> {
    return this.decide(request);
  }

  // The one code path behind evaluate and explain, so an explanation can never disagree with a decision.
  // eslint-disable-next-line @typescript-eslint/require-await -- registry facts will be gathered here
  private async decide(request: ImagePolicyRequest): Promise<PolicyExplanation> {
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

    const images = request.images.map((subject) => this.judge(subject, policy, namespace));
    const decision: PolicyDecision = { ...decided, allowed: true, verdicts: images.map((i) => i.verdict) };
    for (const { verdict, violation } of violationsWith(decision, 'audit')) {
      this.logger.log(
        `audit: image ${verdict.subject.image} in ${namespace ?? 'no namespace'} ${violation.problem} (rule ${violation.rule})`,
      );
    }
    if (violationsWith(decision, 'enforce').length === 0) return explained(decision, images);

    const breakGlass = readBreakGlass(request.annotations ?? {}, new Date(), policy.breakGlassMaxHours);
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

  private judge(
    subject: ImageUnderReview,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
  ): ImageTrace {
    const skipAll = (skipped: RuleSkip) => policy.rules.map((rule) => ({ rule, skipped }));
    let reference: ImageReference;
    try {
      reference = this.references.parse(subject.image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      return {
        verdict: { subject, violations: [invalidReference(error)] },
        rules: skipAll({ because: 'invalid-reference' }),
      };
    }
    const exemptPattern = matchesAny(policy.exemptImages, reference);
    if (exemptPattern)
      return {
        verdict: { subject, reference, violations: [], exemptBy: `image pattern ${exemptPattern.source}` },
        rules: skipAll({ because: 'exempt-image', pattern: exemptPattern.source }),
      };

    const rules = policy.rules.map((rule) => this.apply(rule, subject.image, reference, namespace));
    const violations = rules.flatMap((traced) => (traced.violation ? [traced.violation] : []));
    return { verdict: { subject, reference, violations }, rules };
  }

  private apply(
    rule: CompiledRule,
    image: string,
    reference: ImageReference,
    namespace: string | undefined,
  ): RuleTrace {
    if (!ruleAppliesIn(rule, namespace))
      return {
        rule,
        skipped: { because: 'out-of-scope', namespaces: (rule.namespaces ?? []).map((g) => g.source) },
      };
    const exemptPattern = matchesAny(rule.exemptImages, reference);
    if (exemptPattern)
      return { rule, skipped: { because: 'rule-exempt-image', pattern: exemptPattern.source } };
    const violation = this.check(rule, image, reference);
    return violation ? { rule, violation } : { rule };
  }

  /** A rule that throws denies the image, whatever its enforcement: a bug must never become an allow. */
  private check(rule: CompiledRule, image: string, reference: ImageReference): RuleViolation | undefined {
    try {
      const finding = rule.rule.check(reference, rule.settings);
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

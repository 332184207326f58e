import { Injectable, Logger } from '@nestjs/common';
import { ImageReference, InvalidImageReferenceError, parseNormalizedReference } from '../image-reference';
import { readBreakGlass } from './break-glass';
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

/**
 * The one decision engine behind both review types and the CLI: parse each image, apply the policy
 * in force (exemptions, scopes, rules, enforcement), then break-glass. Rule logic lives only in the
 * rule classes; this service decides which rules apply and what their findings mean.
 */
@Injectable()
export class ImagePolicyService {
  private readonly logger = new Logger(ImagePolicyService.name);

  constructor(private readonly store: PolicyStore) {}

  get policy(): CompiledImagePolicy {
    return this.store.current;
  }

  evaluate(request: ImagePolicyRequest): PolicyDecision {
    const policy = this.store.current;
    const namespace = request.namespace || undefined;
    const decided = { policy: { name: policy.name, revision: policy.revision }, breakGlassRefusals: [] };

    const exemptNamespace = namespace && policy.exemptNamespaces.find((glob) => glob.matches(namespace));
    if (exemptNamespace) {
      this.logger.log(
        `namespace ${namespace} is exempt (${exemptNamespace.source}): allowed ${request.images.length} image(s) unchecked`,
      );
      const exemptBy = `namespace ${exemptNamespace.source}`;
      return {
        ...decided,
        allowed: true,
        exemptNamespace: exemptNamespace.source,
        verdicts: request.images.map((subject) => ({ subject, violations: [], exemptBy })),
      };
    }

    const verdicts = request.images.map((subject) => this.judge(subject, policy, namespace));
    const decision: PolicyDecision = { ...decided, allowed: true, verdicts };
    for (const { verdict, violation } of violationsWith(decision, 'audit')) {
      this.logger.log(
        `audit: image ${verdict.subject.image} in ${namespace ?? 'no namespace'} ${violation.problem} (rule ${violation.rule})`,
      );
    }
    if (violationsWith(decision, 'enforce').length === 0) return decision;

    const breakGlass = readBreakGlass(request.annotations ?? {}, new Date());
    if (!policy.breakGlass) {
      const refusals = breakGlass.present ? ['break-glass annotations are disabled by the policy'] : [];
      return { ...decision, allowed: false, breakGlassRefusals: refusals };
    }
    if (breakGlass.active) {
      this.logger.warn(
        `break-glass ticket ${breakGlass.active.ticket} (until ${breakGlass.active.expires.toISOString()}) allowed a denied review in ${namespace ?? 'no namespace'}`,
      );
      return {
        ...decision,
        allowed: true,
        breakGlass: breakGlass.active,
        breakGlassRefusals: breakGlass.refusals,
      };
    }
    return { ...decision, allowed: false, breakGlassRefusals: breakGlass.refusals };
  }

  private judge(
    subject: ImageUnderReview,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
  ): ImageVerdict {
    let reference: ImageReference;
    try {
      reference = parseNormalizedReference(subject.image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      return { subject, violations: [invalidReference(error)] };
    }
    const exemptPattern = matchesAny(policy.exemptImages, reference);
    if (exemptPattern)
      return { subject, reference, violations: [], exemptBy: `image pattern ${exemptPattern.source}` };

    const violations: RuleViolation[] = [];
    for (const rule of policy.rules) {
      if (!ruleAppliesIn(rule, namespace) || matchesAny(rule.exemptImages, reference)) continue;
      const violation = this.check(rule, subject.image, reference);
      if (violation) violations.push(violation);
    }
    return { subject, reference, violations };
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

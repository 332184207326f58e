import { Inject, Injectable, Logger } from '@nestjs/common';
import { InvalidImageReferenceError, parseNormalizedReference } from '../image-reference';
import { IMAGE_RULES, ImageRule, ReviewContext } from './rules';
import {
  ImagePolicyRequest,
  ImageUnderReview,
  ImageVerdict,
  PolicyDecision,
  RuleViolation,
} from './image-policy.types';

export const INVALID_REFERENCE_RULE = 'valid-reference';
export const RULE_FAILURE_RULE = 'rule-error';

/** The one decision engine behind every endpoint and the CLI: parse each image, run every rule. */
@Injectable()
export class ImagePolicyService {
  private readonly logger = new Logger(ImagePolicyService.name);

  constructor(@Inject(IMAGE_RULES) private readonly rules: readonly ImageRule[]) {}

  /** Names of the rules in force, in the order they run. */
  get ruleNames(): string[] {
    return this.rules.map((rule) => rule.name);
  }

  evaluate(request: ImagePolicyRequest): PolicyDecision {
    const context: ReviewContext = { namespace: request.namespace, annotations: request.annotations ?? {} };
    const verdicts = request.images.map((subject) => this.judge(subject, context));
    return { allowed: verdicts.every((v) => v.violations.length === 0), verdicts };
  }

  private judge(subject: ImageUnderReview, context: ReviewContext): ImageVerdict {
    let reference;
    try {
      reference = parseNormalizedReference(subject.image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      return { subject, violations: [invalidReference(error)] };
    }
    const violations: RuleViolation[] = [];
    for (const rule of this.rules) {
      const problem = this.runRule(rule, subject.image, () =>
        rule.check({ image: subject.image, reference }, context),
      );
      if (problem !== undefined) violations.push(problem);
    }
    return { subject, reference, violations };
  }

  /** A rule that throws denies the image: a bug must never turn into an allow. */
  private runRule(
    rule: ImageRule,
    image: string,
    check: () => string | undefined,
  ): RuleViolation | undefined {
    try {
      const problem = check();
      return problem === undefined ? undefined : { rule: rule.name, summary: rule.denialSummary, problem };
    } catch (error) {
      this.logger.error(`rule ${rule.name} failed on image ${JSON.stringify(image)}: ${String(error)}`);
      return {
        rule: RULE_FAILURE_RULE,
        summary: 'Images whose policy check failed are not allowed',
        problem: `could not be checked by rule ${rule.name}`,
      };
    }
  }
}

function invalidReference(error: InvalidImageReferenceError): RuleViolation {
  return {
    rule: INVALID_REFERENCE_RULE,
    summary: 'Images that are not valid references are not allowed',
    problem: `is not a valid image reference (${error.message})`,
    detail: error.message,
  };
}

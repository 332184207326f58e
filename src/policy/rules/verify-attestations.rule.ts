import { Injectable } from '@nestjs/common';
import {
  CompiledCondition,
  ConditionSource,
  InvalidCondition,
  MAX_CONDITIONS_PER_RULE,
  MAX_EXPRESSION_LENGTH,
  compileConditions,
  failedCondition,
  judgeStatement,
} from '../../attestation-conditions';
import type { ImageReference } from '../../image-reference';
import { countDistinctSigners } from '../../verification';
import type { SignatureTrust, SignerTally, VerificationRequest } from '../../verification';
import {
  AttestationJudgement,
  ImageRule,
  RuleCompileContext,
  RuleFacts,
  RuleFinding,
  RuleJudgement,
  RuleValueError,
} from './image-rule';
import {
  SignatureTrustValue,
  compileSignatureTrust,
  cosignTrustAnyOf,
  signatureTrustProperties,
} from './signature-trust-value';

interface AttestationSettings {
  readonly trust: SignatureTrust;
  readonly predicateType: string;
  readonly conditions: readonly CompiledCondition[];
}

const conditionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['expression'],
  description:
    'A CEL expression over the verified statement: the variables predicate, statement, image (reference, digest, repository, registry) and now. It must be boolean.',
  properties: {
    expression: { type: 'string', minLength: 1, maxLength: MAX_EXPRESSION_LENGTH },
    message: {
      type: 'string',
      minLength: 1,
      description:
        'The reason a denial gives when the expression is false or fails; the expression itself when left out.',
    },
  },
};

/**
 * `verifyAttestations: {keys: [...], predicateType: https://slsa.dev/provenance/v1, conditions: [...]}`:
 * an in-toto attestation in a DSSE envelope, signed by a trusted key or identity, with that
 * predicate type and a subject naming the image's digest; with conditions, one such attestation
 * must also satisfy every condition, evaluated on the statement the verifier verified.
 */
@Injectable()
export class VerifyAttestationsRule implements ImageRule<AttestationSettings> {
  readonly key = 'verifyAttestations';
  readonly valueSchema = {
    type: 'object',
    description:
      "The image's digest must carry an in-toto attestation of this predicate type, signed by one of these keys or identities, and (with conditions) saying what they ask.",
    additionalProperties: false,
    required: ['predicateType'],
    properties: {
      ...signatureTrustProperties,
      predicateType: {
        type: 'string',
        minLength: 1,
        description:
          'e.g. https://slsa.dev/provenance/v1, https://cosign.sigstore.dev/attestation/vuln/v1, https://spdx.dev/Document, https://cyclonedx.org/bom',
      },
      conditions: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_CONDITIONS_PER_RULE,
        description:
          'CEL conditions: the rule admits the image when one verified attestation of the type satisfies every one of them (with a threshold, attestations of that many distinct signers).',
        items: conditionSchema,
      },
    },
    anyOf: cosignTrustAnyOf,
  };

  compile(value: unknown, context: RuleCompileContext): AttestationSettings {
    const { predicateType, conditions, ...trust } = value as SignatureTrustValue & {
      predicateType: string;
      conditions?: ConditionSource[];
    };
    let compiled: CompiledCondition[];
    try {
      compiled = compileConditions(conditions ?? []);
    } catch (error) {
      if (!(error instanceof InvalidCondition)) throw error;
      const at = error.problem.offset === undefined ? '' : ` (at character ${error.problem.offset + 1})`;
      throw new RuleValueError(['conditions', error.index, 'expression'], `${error.message}${at}`);
    }
    return { trust: compileSignatureTrust(trust, context), predicateType, conditions: compiled };
  }

  verification({ trust, predicateType, conditions }: AttestationSettings): VerificationRequest {
    return {
      kind: 'attestations',
      trust,
      predicateType,
      ...(conditions.length > 0 ? { keepStatements: true } : {}),
    };
  }

  check(
    reference: ImageReference,
    settings: AttestationSettings,
    facts?: RuleFacts,
  ): RuleFinding | undefined {
    return this.judge(reference, settings, facts).finding;
  }

  judge(reference: ImageReference, settings: AttestationSettings, facts?: RuleFacts): RuleJudgement {
    const result = facts?.verification;
    if (!result?.verified) {
      const reason = result?.reason ?? 'not verified';
      return {
        finding: {
          summary: 'Images without a verified attestation are not allowed',
          problem: `has no verified attestation: ${reason}`,
          detail: reason,
        },
      };
    }
    const { conditions, predicateType } = settings;
    if (conditions.length === 0) return {};
    const review = facts?.review;
    const verified = result.attestations ?? [];
    // Verified with no statement kept, or no review to judge in, is a doubt, and a doubt denies.
    if (!review || verified.length === 0)
      return { finding: unsatisfied(predicateType, 'its verified statement was not available') };
    const image = {
      reference: review.image,
      digest: result.digest,
      repository: reference.path,
      registry: reference.domain,
    };
    // With a threshold, as many distinct signers as it asks must each attest what the conditions
    // ask: one signer's satisfying attestation beside another's that says otherwise is not two.
    const required = result.signers?.required ?? 1;
    const satisfying: SignerTally[] = [];
    // Each judgement is a literal rather than a spread of the attestation: Node 20 adds keys to a
    // spread copy on a slow path, and this runs for every attestation of every review.
    const attestations = verified.map(
      ({ where, verifiedBy, predicateType: type, statement, signer }): AttestationJudgement => {
        // Once enough signers satisfy every condition, the rest are not evaluated.
        if (enoughSigners(satisfying, required))
          return { where, verifiedBy, predicateType: type, admitted: false };
        const outcome = judgeStatement(conditions, statement, image, review.now, review.conditionBudget);
        if (outcome.satisfied) satisfying.push(signer);
        return { where, verifiedBy, predicateType: type, outcome, admitted: outcome.satisfied };
      },
    );
    if (enoughSigners(satisfying, required)) return { attestations };
    const signers = countDistinctSigners(satisfying);
    const failed =
      attestations.find((a) => a.outcome && !a.outcome.satisfied)?.outcome ?? attestations[0].outcome!;
    const short =
      signers > 0 ? ` (${signers} of the ${required} signers required satisfy every condition)` : '';
    return { finding: unsatisfied(predicateType, `${failedCondition(failed)!}${short}`), attestations };
  }
}

/** Whether `satisfying` comes from `required` distinct signers: any one of them, without a threshold. */
function enoughSigners(satisfying: readonly SignerTally[], required: number): boolean {
  if (satisfying.length < required) return false;
  return required === 1 || countDistinctSigners(satisfying) >= required;
}

/** The words of the interface: `attestation <predicateType> does not satisfy: <message or expression>`. */
function unsatisfied(predicateType: string, why: string): RuleFinding {
  const reason = `attestation ${predicateType} does not satisfy: ${why}`;
  return {
    summary: 'Images whose attestations do not satisfy the policy are not allowed',
    problem: `has no satisfying attestation: ${reason}`,
    detail: reason,
  };
}

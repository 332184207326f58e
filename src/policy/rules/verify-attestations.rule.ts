import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import type { SignatureTrust, VerificationRequest } from '../../verification';
import { ImageRule, RuleCompileContext, RuleFacts, RuleFinding } from './image-rule';
import {
  SignatureTrustValue,
  compileSignatureTrust,
  signatureTrustOneOf,
  signatureTrustProperties,
} from './signature-trust-value';

interface AttestationSettings {
  readonly trust: SignatureTrust;
  readonly predicateType: string;
}

/**
 * `verifyAttestations: {keys: [...], predicateType: https://slsa.dev/provenance/v0.2}`: an in-toto
 * attestation in a DSSE envelope, signed by a trusted key or identity, with that predicate type
 * and a subject naming the image's digest.
 */
@Injectable()
export class VerifyAttestationsRule implements ImageRule<AttestationSettings> {
  readonly key = 'verifyAttestations';
  readonly valueSchema = {
    type: 'object',
    description:
      "The image's digest must carry an in-toto attestation of this predicate type, signed by one of these keys or identities.",
    additionalProperties: false,
    required: ['predicateType'],
    properties: {
      ...signatureTrustProperties,
      predicateType: {
        type: 'string',
        minLength: 1,
        description:
          'e.g. https://slsa.dev/provenance/v0.2, https://spdx.dev/Document, https://cyclonedx.org/bom',
      },
    },
    oneOf: signatureTrustOneOf,
  };

  compile(value: unknown, context: RuleCompileContext): AttestationSettings {
    const { predicateType, ...trust } = value as SignatureTrustValue & { predicateType: string };
    return { trust: compileSignatureTrust(trust, context), predicateType };
  }

  verification({ trust, predicateType }: AttestationSettings): VerificationRequest {
    return { kind: 'attestations', trust, predicateType };
  }

  check(
    _reference: ImageReference,
    _settings: AttestationSettings,
    facts?: RuleFacts,
  ): RuleFinding | undefined {
    const result = facts?.verification;
    if (result?.verified) return undefined;
    const reason = result?.reason ?? 'not verified';
    return {
      summary: 'Images without a verified attestation are not allowed',
      problem: `has no verified attestation: ${reason}`,
      detail: reason,
    };
  }
}

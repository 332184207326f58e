import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import type { SignatureTrust, VerificationRequest } from '../../verification';
import { ImageRule, RuleCompileContext, RuleFacts, RuleFinding } from './image-rule';
import {
  SignatureTrustValue,
  compileSignatureTrust,
  notationTrustProperty,
  signatureTrustAnyOf,
  signatureTrustProperties,
} from './signature-trust-value';

/**
 * `verifySignatures: {keys: [cosign.pub]}`, `{certificates: {...}}` or `{notation: {...}}`, or
 * several: the digest the image resolves to (the index, for a multi-arch tag) must carry a cosign
 * or Notary Project signature by a trusted key or identity (by `threshold` distinct ones), over a
 * payload naming that very digest.
 */
@Injectable()
export class VerifySignaturesRule implements ImageRule<SignatureTrust> {
  readonly key = 'verifySignatures';
  readonly valueSchema = {
    type: 'object',
    description:
      "The image's digest must carry a cosign signature (classic .sig tag or sigstore bundle) or a Notary Project signature by one of these keys or identities (by threshold of them).",
    additionalProperties: false,
    properties: { ...signatureTrustProperties, notation: notationTrustProperty },
    anyOf: signatureTrustAnyOf,
  };

  compile(value: unknown, context: RuleCompileContext): SignatureTrust {
    return compileSignatureTrust(value as SignatureTrustValue, context);
  }

  verification(trust: SignatureTrust): VerificationRequest {
    return { kind: 'signatures', trust };
  }

  check(_reference: ImageReference, _trust: SignatureTrust, facts?: RuleFacts): RuleFinding | undefined {
    const result = facts?.verification;
    // No result is a doubt, and a doubt denies.
    if (result?.verified) return undefined;
    const reason = result?.reason ?? 'not verified';
    return {
      summary: 'Images without a verified signature are not allowed',
      problem: `has no verified signature: ${reason}`,
      detail: reason,
    };
  }
}

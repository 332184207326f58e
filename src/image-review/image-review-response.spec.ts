import { PolicyDecision, RuleViolation, decisionAuditAnnotations } from '../policy';
import { denialReason, toImageReviewResponse } from './image-review-response';

const latest: RuleViolation = {
  rule: 'no-latest',
  enforcement: 'enforce',
  summary: 'Images using latest tag are not allowed',
  problem: 'uses the latest tag',
};
const invalid: RuleViolation = {
  rule: 'valid-reference',
  enforcement: 'enforce',
  summary: 'Images that are not valid references are not allowed',
  problem: 'is not a valid image reference',
  detail: 'invalid reference format',
};
const untrusted: RuleViolation = {
  rule: 'trusted-sources',
  enforcement: 'warn',
  summary: 'Images from outside the allowed repositories are not allowed',
  problem: 'is not from an allowed repository',
};
const ref = { domain: 'docker.io', path: 'library/x' };
const policy = { name: 'example', revision: 'abcdef012345' };

describe(toImageReviewResponse.name, () => {
  const denied: PolicyDecision = {
    allowed: false,
    policy,
    breakGlassRefusals: ['break-glass ticket INC-1 expired at 2026-01-01T00:00:00.000Z'],
    verdicts: [
      { subject: { image: 'nginx' }, reference: ref, violations: [latest] },
      { subject: { image: 'nginx:1.13.8' }, reference: ref, violations: [] },
      { subject: { image: 'registry:5000/app' }, reference: ref, violations: [latest, untrusted] },
      { subject: { image: 'a b' }, violations: [invalid] },
      { subject: { image: 'nginx' }, reference: ref, violations: [latest] },
    ],
  };

  it('writes one clause per enforced rule, listing each offending image once, then refused tickets', () => {
    expect(denialReason(denied)).toBe(
      'Images using latest tag are not allowed: nginx, registry:5000/app (rule no-latest); ' +
        'Images that are not valid references are not allowed: "a b" (invalid reference format) (rule valid-reference); ' +
        'break-glass ticket INC-1 expired at 2026-01-01T00:00:00.000Z',
    );
  });

  it('records the decision, each image outcome and the policy revision in audit annotations', () => {
    expect(decisionAuditAnnotations(denied)).toEqual({
      decision: 'deny',
      images:
        '{"nginx":"deny:no-latest","nginx:1.13.8":"allow","registry:5000/app":"deny:no-latest","a b":"deny:valid-reference"}',
      'policy-revision': 'abcdef012345',
    });
  });

  it('builds a complete ImageReview with no reason when allowed', () => {
    expect(
      toImageReviewResponse({
        allowed: true,
        policy,
        breakGlassRefusals: [],
        verdicts: [{ subject: { image: 'x:1' }, reference: ref, violations: [] }],
      }),
    ).toEqual({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      status: {
        allowed: true,
        auditAnnotations: { decision: 'allow', images: '{"x:1":"allow"}', 'policy-revision': 'abcdef012345' },
      },
    });
  });

  it('carries warn-mode findings in an audit annotation, ImageReview having no warnings', () => {
    const warned: PolicyDecision = {
      allowed: true,
      policy,
      breakGlassRefusals: [],
      verdicts: [{ subject: { image: 'ghcr.io/x/y:1' }, reference: ref, violations: [untrusted] }],
    };
    expect(toImageReviewResponse(warned).status).toEqual({
      allowed: true,
      auditAnnotations: {
        decision: 'allow',
        images: '{"ghcr.io/x/y:1":"warn:trusted-sources"}',
        'policy-revision': 'abcdef012345',
        warnings: 'image ghcr.io/x/y:1 is not from an allowed repository (rule trusted-sources)',
      },
    });
  });

  it('records a break-glass allow and what it overrode', () => {
    const glass: PolicyDecision = {
      allowed: true,
      policy,
      breakGlass: { ticket: 'INC-9', expires: new Date('2030-01-01T00:00:00Z') },
      breakGlassRefusals: [],
      verdicts: [{ subject: { image: 'nginx' }, reference: ref, violations: [latest] }],
    };
    expect(toImageReviewResponse(glass).status.auditAnnotations).toMatchObject({
      decision: 'allow',
      'break-glass': 'INC-9 until 2030-01-01T00:00:00.000Z',
      warnings:
        'allowed by break-glass ticket INC-9 until 2030-01-01T00:00:00.000Z, despite: image nginx uses the latest tag (rule no-latest)',
    });
  });
});

import { PolicyDecision } from './image-policy.types';
import { decisionAuditAnnotations } from './decision-audit-annotations';
import { denialReason, toImageReviewResponse } from './image-review-response';

const latest = {
  rule: 'no-latest',
  summary: 'Images using latest tag are not allowed',
  problem: 'uses the latest tag',
};
const invalid = {
  rule: 'valid-reference',
  summary: 'Images that are not valid references are not allowed',
  problem: 'is not a valid image reference',
  detail: 'invalid reference format',
};

describe(toImageReviewResponse.name, () => {
  const denied: PolicyDecision = {
    allowed: false,
    verdicts: [
      { subject: { image: 'nginx' }, violations: [latest] },
      { subject: { image: 'nginx:1.13.8' }, violations: [] },
      { subject: { image: 'registry:5000/app' }, violations: [latest] },
      { subject: { image: 'a b' }, violations: [invalid] },
      { subject: { image: 'nginx' }, violations: [latest] },
    ],
  };

  it('writes one clause per rule, listing each offending image once', () => {
    expect(denialReason(denied)).toBe(
      'Images using latest tag are not allowed: nginx, registry:5000/app; ' +
        'Images that are not valid references are not allowed: "a b" (invalid reference format)',
    );
  });

  it('records the decision and each image outcome compactly in audit annotations', () => {
    expect(decisionAuditAnnotations(denied)).toEqual({
      decision: 'deny',
      images:
        '{"nginx":"deny:no-latest","nginx:1.13.8":"allow","registry:5000/app":"deny:no-latest","a b":"deny:valid-reference"}',
    });
  });

  it('builds a complete ImageReview with no reason when allowed', () => {
    expect(
      toImageReviewResponse({ allowed: true, verdicts: [{ subject: { image: 'x:1' }, violations: [] }] }),
    ).toEqual({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      status: { allowed: true, auditAnnotations: { decision: 'allow', images: '{"x:1":"allow"}' } },
    });
  });
});

import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImagePolicyService, RuleSkip } from './image-policy.service';
import { ImagePolicyRequest } from './image-policy.types';
import { ImagePolicyCompiler } from './policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from './rules';
import { engineFor } from '../testing/policy-engine';

const EXAMPLE_POLICY = readFileSync(join(__dirname, '..', '..', 'examples', 'image-policy.yaml'), 'utf8');
const DIGEST = `sha256:${'0'.repeat(64)}`;

describe(`${ImagePolicyService.name}.explain`, () => {
  const policy = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(
    EXAMPLE_POLICY,
    'policy.yaml',
  );
  const sut = engineFor(policy);
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  /** Each rule's part for the first image: `name: skipped <why>`, `name: violated`, or `name: passed`. */
  const rulesFor = async (namespace: string, image: string): Promise<[string, string | RuleSkip][]> =>
    (await sut.explain({ namespace, images: [{ image }] })).images[0].rules.map(
      ({ rule, skipped, violation }) => [
        rule.name,
        skipped ?? (violation ? `violated: ${violation.problem}` : 'passed'),
      ],
    );

  it('traces every rule for an image it checks, including the ones scoped elsewhere', async () => {
    expect(await rulesFor('default', 'nginx')).toEqual([
      ['no-latest', 'violated: uses the latest tag'],
      ['trusted-sources', 'passed'],
      ['no-unknown-hub', 'passed'],
      ['pinned-in-prod', { because: 'out-of-scope', namespaces: ['prod-*'] }],
    ]);
  });

  it("names a rule's own exemption", async () => {
    expect(await rulesFor('prod-eu', 'busybox:1.36')).toContainEqual([
      'pinned-in-prod',
      { because: 'rule-exempt-image', pattern: 'docker.io/library/busybox' },
    ]);
  });

  it.each([
    ['kube-system', 'randomuser/miner', { because: 'exempt-namespace', pattern: 'kube-system' }],
    ['default', 'registry.k8s.io/pause:3.10', { because: 'exempt-image', pattern: 'registry.k8s.io/**' }],
    ['default', 'Not:Valid', { because: 'invalid-reference' }],
  ])('skips every rule in %s for %s', async (namespace, image, why) => {
    expect(await rulesFor(namespace, image)).toEqual(policy.rules.map((rule) => [rule.name, why]));
  });

  const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
  it.each<[string, ImagePolicyRequest]>([
    ['a denial', { namespace: 'default', images: [{ image: 'nginx' }, { image: 'nginx:1.25' }] }],
    ['a warning', { namespace: 'default', images: [{ image: 'ghcr.io/acme/tool:1' }] }],
    ['an exempt namespace', { namespace: 'kube-system', images: [{ image: 'nginx' }] }],
    ['a digest in prod', { namespace: 'prod-eu', images: [{ image: `nginx@${DIGEST}` }] }],
    ['no namespace', { images: [{ image: 'nginx:1.25' }] }],
    [
      'break-glass',
      {
        namespace: 'default',
        images: [{ image: 'nginx' }],
        annotations: { 'break-glass.image-policy.k8s.io/INC-1': inAnHour },
      },
    ],
  ])('reaches the very decision evaluate reaches: %s', async (_case, request) => {
    const explanation = await sut.explain(request);
    expect(explanation.decision).toEqual(await sut.evaluate(request));
    expect(explanation.images.map((image) => image.verdict)).toEqual(explanation.decision.verdicts);
  });
});

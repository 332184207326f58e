import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INVALID_REFERENCE_RULE, ImagePolicyService, RULE_FAILURE_RULE } from './image-policy.service';
import { ImagePolicyRequest, PolicyDecision } from './image-policy.types';
import { CompiledImagePolicy } from './policy-file/compiled-image-policy';
import { DEFAULT_POLICY_YAML } from './policy-file/default-policy';
import { ImagePolicyCompiler } from './policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES, ImageRule } from './rules';
import { engineFor } from '../testing/policy-engine';

const DIGEST = `sha256:${'0'.repeat(64)}`;
const EXAMPLE_POLICY = readFileSync(join(__dirname, '..', '..', 'examples', 'image-policy.yaml'), 'utf8');
const RULES: ImageRule[] = IMAGE_RULE_TYPES.map((Rule) => new Rule());

// A compiler builds its schema validator once (tens of milliseconds); policies compile in it.
const compilers = new Map<readonly ImageRule[], ImagePolicyCompiler>();

function serviceWith(yaml: string, rules: ImageRule[] = RULES): ImagePolicyService {
  const compiler = compilers.get(rules) ?? new ImagePolicyCompiler(rules);
  compilers.set(rules, compiler);
  const policy: CompiledImagePolicy = compiler.compile(yaml, 'policy.yaml');
  return engineFor(policy);
}

const images = (...list: string[]): ImagePolicyRequest['images'] => list.map((image) => ({ image }));
const outcome = (decision: PolicyDecision) =>
  decision.verdicts.map((v) => [
    v.subject.image,
    v.exemptBy ?? v.violations.map((x) => `${x.enforcement}:${x.rule}`).join(' '),
  ]);

describe(ImagePolicyService.name, () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  describe('with the built-in default policy', () => {
    const sut = serviceWith(DEFAULT_POLICY_YAML);

    it('allows when every image passes', async () => {
      const decision = await sut.evaluate({ images: images('nginx:1.13.8', `redis@${DIGEST}`) });
      expect(decision).toMatchObject({ allowed: true, policy: { name: 'default' }, breakGlassRefusals: [] });
    });

    it('denies when any image violates, saying which image and why', async () => {
      const decision = await sut.evaluate({ images: images('nginx:1.13.8', 'nginx') });
      expect(decision.allowed).toBe(false);
      expect(decision.verdicts[1]).toEqual({
        subject: { image: 'nginx' },
        reference: { domain: 'docker.io', path: 'library/nginx' },
        violations: [
          {
            rule: 'no-latest',
            enforcement: 'enforce',
            summary: 'Images using latest tag are not allowed',
            problem: 'uses the latest tag',
          },
        ],
      });
    });

    it('denies an invalid reference whatever the rules, with the parser message as detail', async () => {
      const decision = await sut.evaluate({ images: images('Nginx:1.0') });
      expect(decision.allowed).toBe(false);
      expect(decision.verdicts[0].violations).toEqual([
        expect.objectContaining({
          rule: INVALID_REFERENCE_RULE,
          enforcement: 'enforce',
          detail: 'invalid reference format: repository name (library/Nginx) must be lowercase',
        }),
      ]);
    });
  });

  describe('with the example policy', () => {
    const sut = serviceWith(EXAMPLE_POLICY);
    const decide = (namespace: string, ...list: string[]) =>
      sut.evaluate({ namespace, images: images(...list) });

    it('allows everything in an exempt namespace, unchecked', async () => {
      const decision = await decide('kube-system', 'nginx', 'Not:Valid');
      expect(decision).toMatchObject({ allowed: true, exemptNamespace: 'kube-system' });
      expect(outcome(decision)).toEqual([
        ['nginx', 'namespace kube-system'],
        ['Not:Valid', 'namespace kube-system'],
      ]);
    });

    it('skips every rule for an exempt image', async () => {
      const decision = await decide('prod-eu', 'registry.k8s.io/pause');
      expect(decision.allowed).toBe(true);
      expect(outcome(decision)).toEqual([['registry.k8s.io/pause', 'image pattern registry.k8s.io/**']]);
    });

    it('allows a warn-mode violation and records it', async () => {
      const decision = await decide('default', 'ghcr.io/someone/tool:1');
      expect(decision.allowed).toBe(true);
      expect(outcome(decision)).toEqual([['ghcr.io/someone/tool:1', 'warn:trusted-sources']]);
    });

    it('denies by an enforced rule beside a warning', async () => {
      const decision = await decide('default', 'randomuser/miner:1');
      expect(decision.allowed).toBe(false);
      expect(outcome(decision)).toEqual([
        ['randomuser/miner:1', 'warn:trusted-sources enforce:no-unknown-hub'],
      ]);
    });

    it('applies a scoped rule only in its namespaces', async () => {
      expect((await decide('dev', 'nginx:1.25')).allowed).toBe(true);
      expect(outcome(await decide('prod-eu', 'nginx:1.25'))).toEqual([
        ['nginx:1.25', 'enforce:pinned-in-prod'],
      ]);
      expect((await decide('prod-eu', `nginx@${DIGEST}`)).allowed).toBe(true);
    });

    it("honours a rule's own exempt images", async () => {
      expect(outcome(await decide('prod-eu', 'busybox:1.36'))).toEqual([
        ['busybox:1.36', 'warn:trusted-sources'],
      ]);
    });

    it('applies scoped rules when the namespace is unknown', async () => {
      expect(outcome(await sut.evaluate({ images: images('nginx:1.25') }))).toEqual([
        ['nginx:1.25', 'enforce:pinned-in-prod'],
      ]);
    });
  });

  it('logs an audit-mode violation but allows', async () => {
    const sut = serviceWith(
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  allowPermissive: true\n  rules:\n    - {name: digests, requireDigest: true, enforcement: audit}\n',
    );
    const decision = await sut.evaluate({ images: images('nginx:1.25') });
    expect(decision.allowed).toBe(true);
    expect(outcome(decision)).toEqual([['nginx:1.25', 'audit:digests']]);
  });

  describe('break-glass', () => {
    const BREAK_GLASS_POLICY =
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  breakGlass: true\n  rules:\n    - {name: no-latest, disallowedTags: [latest]}\n';
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const request = (annotations: Record<string, string>): ImagePolicyRequest => ({
      images: images('nginx'),
      annotations,
    });

    it('allows a denied review until the ticket expires', async () => {
      const decision = await serviceWith(BREAK_GLASS_POLICY).evaluate(
        request({ 'break-glass.image-policy.k8s.io/INC-7': inAnHour }),
      );
      expect(decision).toMatchObject({
        allowed: true,
        breakGlass: { ticket: 'INC-7', expires: new Date(inAnHour) },
      });
      expect(outcome(decision)).toEqual([['nginx', 'enforce:no-latest']]);
    });

    it('refuses an expired ticket and says so', async () => {
      const decision = await serviceWith(BREAK_GLASS_POLICY).evaluate(
        request({ 'break-glass.image-policy.k8s.io/INC-7': anHourAgo }),
      );
      expect(decision).toMatchObject({
        allowed: false,
        breakGlassRefusals: [`break-glass ticket INC-7 expired at ${new Date(anHourAgo).toISOString()}`],
      });
    });

    it('is off unless the policy turns it on, since any pod creator can write the annotation', async () => {
      const decision = await serviceWith(DEFAULT_POLICY_YAML).evaluate(
        request({ 'break-glass.image-policy.k8s.io/INC-7': inAnHour }),
      );
      expect(decision).toMatchObject({
        allowed: false,
        breakGlassRefusals: ['break-glass annotations are disabled by the policy'],
      });
    });

    it('is ignored when the policy disables it', async () => {
      const sut = serviceWith(
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  breakGlass: false\n  rules:\n    - disallowedTags: [latest]\n',
      );
      const decision = await sut.evaluate(request({ 'break-glass.image-policy.k8s.io/INC-7': inAnHour }));
      expect(decision).toMatchObject({
        allowed: false,
        breakGlassRefusals: ['break-glass annotations are disabled by the policy'],
      });
      expect(decision.breakGlass).toBeUndefined();
    });

    it('is not consulted for an allowed review', async () => {
      const decision = await serviceWith(BREAK_GLASS_POLICY).evaluate({
        images: images('nginx:1'),
        annotations: { 'break-glass.image-policy.k8s.io/x': anHourAgo },
      });
      expect(decision).toMatchObject({ allowed: true, breakGlassRefusals: [] });
      expect(decision.breakGlass).toBeUndefined();
    });
  });

  it('denies, rather than allows, when a rule throws, even in warn mode', async () => {
    const broken: ImageRule = {
      key: 'disallowedTags',
      valueSchema: { type: 'array' },
      compile: () => undefined,
      check: () => {
        throw new Error('bug');
      },
    };
    const sut = serviceWith(
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  allowPermissive: true\n  rules:\n    - {name: broken, disallowedTags: [x], enforcement: warn}\n',
      [broken],
    );
    const decision = await sut.evaluate({ images: images('nginx:1.0') });
    expect(decision.allowed).toBe(false);
    expect(decision.verdicts[0].violations).toEqual([
      expect.objectContaining({
        rule: RULE_FAILURE_RULE,
        enforcement: 'enforce',
        problem: 'could not be checked by rule broken',
      }),
    ]);
  });

  it('allows an empty list of images', async () => {
    expect((await serviceWith(DEFAULT_POLICY_YAML).evaluate({ images: [] })).allowed).toBe(true);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { ConditionBudget } from '../attestation-conditions';
import { InvalidImageReferenceError, parseNormalizedReference } from '../image-reference';
import { FIRST_LOOK, ImageFacts, OFFLINE, assess, finished, isSettled } from './image-assessment';
import { ImagePolicyCompiler } from './policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from './rules';

const DEBUG = `sha256:${'d'.repeat(64)}`;
const OTHER = `sha256:${'e'.repeat(64)}`;
const COSIGN_PUB = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const compiler = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule()));
const compile = (spec: string) =>
  compiler.compile(
    `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n${spec}`,
    'policy.yaml',
    new Map([[resolve('cosign.pub'), COSIGN_PUB]]),
  );
const under = (spec: string, image: string) => ({
  subject: { image },
  parsed: parseNormalizedReference(image),
  policy: compile(spec),
  namespace: 'default',
  now: new Date(),
  conditionBudget: new ConditionBudget(),
});
const resolved = (digest?: string): ImageFacts => ({
  registry: 'asked',
  tagDigest: {
    registry: 'registry.example.com',
    ...(digest ? { digest } : { failure: { reason: 'unreachable', detail: 'connection refused' } }),
    cache: 'miss',
    ms: 3,
  },
});
const noError = (message: string): never => {
  throw new Error(message);
};

describe('assess', () => {
  const exempting =
    '  exemptImages: ["registry.example.com/app:debug"]\n  rules:\n    - {name: no-latest, disallowedTags: [latest]}\n    - {name: pinned, requireDigest: true}\n';

  describe('a pattern that names a tag, meeting an image written with a digest', () => {
    const image = `registry.example.com/app:debug@${OTHER}`;

    it('waits at the first look for what the tag resolves to', () => {
      const first = assess(under(exempting, image), FIRST_LOOK, noError);

      expect(first.needsTagDigest).toBe(true);
      expect(isSettled(first)).toBe(false);
    });

    it('exempts the image when the tag resolves to its digest', () => {
      const trace = finished(
        assess(under(exempting, `registry.example.com/app:debug@${DEBUG}`), resolved(DEBUG), noError),
      );

      expect(trace.verdict.exemptBy).toBe('image pattern registry.example.com/app:debug');
    });

    it('withholds the exemption when the tag resolves elsewhere, and says why', () => {
      const trace = finished(assess(under(exempting, image), resolved(DEBUG), noError));

      expect(trace.verdict.exemptBy).toBeUndefined();
      expect(trace.withheld).toEqual([
        `spec.exemptImages registry.example.com/app:debug names tag debug, which resolves to ${DEBUG} now, not to this image's digest`,
      ]);
      expect(trace.resolution?.digest).toBe(DEBUG);
    });

    it('withholds it when the tag cannot be resolved', () => {
      const trace = finished(assess(under(exempting, image), resolved(undefined), noError));

      expect(trace.verdict.exemptBy).toBeUndefined();
      expect(trace.withheld?.[0]).toContain('which could not be resolved (unreachable)');
    });

    it('withholds it offline, where nothing can be asked', () => {
      const trace = finished(assess(under(exempting, image), OFFLINE, noError));

      expect(trace.verdict.exemptBy).toBeUndefined();
      expect(trace.withheld).toEqual([
        'spec.exemptImages names the tag, which cannot be checked offline against the digest',
      ]);
    });
  });

  describe('an image a pure enforced rule denies', () => {
    const spec =
      '  rules:\n    - {name: trusted, allowedRepositories: ["registry.example.com/**"]}\n    - name: signed\n      verifySignatures: {keys: [cosign.pub]}\n';

    it('is denied whatever the registry says, and its verification is skipped as already denied', () => {
      const first = assess(under(spec, 'evil.example/x:1'), FIRST_LOOK, noError);
      const trace = finished(first);

      expect(first.deniedBy).toBe('trusted');
      expect(
        trace.rules.map(({ rule, skipped, violation }) => [rule.name, skipped ?? violation?.problem]),
      ).toEqual([
        ['trusted', 'is not from an allowed repository'],
        ['signed', { because: 'already-denied', rule: 'trusted' }],
      ]);
    });

    it('is not counted as denied while an exemption still waits for the registry', () => {
      const first = assess(
        under(`  exemptImages: ["evil.example/x:debug"]\n${spec}`, `evil.example/x:debug@${OTHER}`),
        FIRST_LOOK,
        noError,
      );

      expect(first.deniedBy).toBeUndefined();
      expect(first.needsTagDigest).toBe(true);
    });
  });

  it('settles an invalid reference at once, as a denial', () => {
    const trace = finished(
      assess(
        {
          ...under(exempting, 'x:1'),
          subject: { image: 'Nope:1' },
          parsed: new InvalidImageReferenceError('NAME_CONTAINS_UPPERCASE', 'Nope:1'),
        },
        FIRST_LOOK,
        noError,
      ),
    );

    expect(trace.verdict.violations.map(({ rule }) => rule)).toEqual(['valid-reference']);
  });
});

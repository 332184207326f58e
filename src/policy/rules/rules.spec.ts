import { parseNormalizedReference } from '../../image-reference';
import { AllowedRepositoriesRule } from './allowed-repositories.rule';
import { DeniedRepositoriesRule } from './denied-repositories.rule';
import { DisallowedTagsRule } from './disallowed-tags.rule';
import { ImageRule } from './image-rule';
import { RequireDigestRule } from './require-digest.rule';

const DIGEST = `sha256:${'0'.repeat(64)}`;

/** Compiles the rule's policy value, then checks one image, as the engine does. */
function checker<S>(rule: ImageRule<S>, value: unknown): (image: string) => string | undefined {
  const settings = rule.compile(value, {
    readFile: () => {
      throw new Error('no files here');
    },
  });
  return (image) => rule.check(parseNormalizedReference(image), settings)?.problem;
}

describe(DisallowedTagsRule.name, () => {
  const sut = new DisallowedTagsRule();
  const check = checker(sut, ['latest', '*-SNAPSHOT']);

  it.each([
    'nginx',
    'nginx:latest',
    'docker.io/library/nginx',
    'localhost:5000/app',
    'registry:5000/app',
    '[::1]:5000/app',
    `nginx:latest@${DIGEST}`,
  ])('takes %s as latest', (image) => {
    expect(check(image)).toBe('uses the latest tag');
  });

  it('matches tag globs', () => {
    expect(check('app:1.0-SNAPSHOT')).toBe('uses the 1.0-SNAPSHOT tag');
  });

  it.each([
    'nginx:1.13.8',
    'registry:5000/app:v2',
    `nginx@${DIGEST}`,
    `localhost:5000/app@${DIGEST}`,
    'nginx:latest-alpine',
    'nginx:Latest',
    'app:SNAPSHOT',
  ])('allows %s', (image) => {
    expect(check(image)).toBeUndefined();
  });

  it("keeps the original bouncer's phrase as the summary for latest", () => {
    expect(sut.check(parseNormalizedReference('nginx'), sut.compile(['latest']))?.summary).toBe(
      'Images using latest tag are not allowed',
    );
  });
});

describe(AllowedRepositoriesRule.name, () => {
  const check = checker(new AllowedRepositoriesRule(), ['registry.example.com/**', 'nginx', 'allowed/*']);

  it.each(['registry.example.com/team/app:1', 'nginx:1.25', 'docker.io/library/nginx:1', 'allowed/app:1'])(
    'allows %s',
    (image) => {
      expect(check(image)).toBeUndefined();
    },
  );

  it.each(['registry.example.com.evil.io/app:1', 'allowedmalicious/x:1', 'someone/nginx:1', 'redis:7'])(
    'denies %s',
    (image) => {
      expect(check(image)).toBe('is not from an allowed repository');
    },
  );
});

describe(DeniedRepositoriesRule.name, () => {
  const check = checker(new DeniedRepositoriesRule(), ['docker.io/randomuser/**', 'docker.io/library/nginx']);

  it.each([
    ['randomuser/tool:1', 'docker.io/randomuser/**'],
    ['index.docker.io/randomuser/deep/tool:1', 'docker.io/randomuser/**'],
    ['nginx:1.25', 'docker.io/library/nginx'],
  ])('denies %s, naming the pattern', (image, pattern) => {
    expect(check(image)).toBe(`is from a denied repository (${pattern})`);
  });

  it.each(['otheruser/tool:1', 'gcr.io/randomuser/tool:1', 'nginx-unprivileged:1'])('allows %s', (image) => {
    expect(check(image)).toBeUndefined();
  });

  it('reports a bad pattern at its index', () => {
    expect(() => new DeniedRepositoriesRule().compile(['ok/*', 'Bad Pattern'])).toThrow(
      expect.objectContaining({
        path: [1],
        message: expect.stringContaining('"Bad Pattern" is not a valid image pattern'),
      }),
    );
  });
});

describe(RequireDigestRule.name, () => {
  it('denies an image without a digest and allows one with', () => {
    const check = checker(new RequireDigestRule(), true);
    expect(check('nginx:1.25')).toBe('is not pinned by a digest');
    expect(check(`nginx@${DIGEST}`)).toBeUndefined();
    expect(check(`nginx:1.25@${DIGEST}`)).toBeUndefined();
  });

  it('checks nothing when set to false', () => {
    expect(checker(new RequireDigestRule(), false)('nginx')).toBeUndefined();
  });
});

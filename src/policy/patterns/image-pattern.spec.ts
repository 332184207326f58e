import { parseNormalizedReference } from '../../image-reference';
import { ImagePattern, InvalidImagePatternError } from './image-pattern';

const DIGEST = `sha256:${'b'.repeat(64)}`;

describe(ImagePattern.name, () => {
  const matches = (pattern: string, image: string): boolean =>
    new ImagePattern(pattern).matches(parseNormalizedReference(image));

  it.each([
    ['nginx', 'docker.io/library/nginx'],
    ['myorg/*', 'docker.io/myorg/*'],
    ['index.docker.io/myorg/app', 'docker.io/myorg/app'],
    ['*', 'docker.io/library/*'],
    ['docker.io/*', 'docker.io/library/*'],
    ['**', 'docker.io/**'],
    ['docker.io/**', 'docker.io/**'],
    ['docker.io/library/**', 'docker.io/library/**'],
    ['registry.example.com/**', 'registry.example.com/**'],
    ['Registry.Example.com/team/*', 'registry.example.com/team/*'],
    ['localhost:5000/app:v*', 'localhost:5000/app:v*'],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
    ['*.gcr.io/**', '*.gcr.io/**'],
    // As for images, an upper-case first component is a registry name (upstream splitDockerDomain).
    ['MyOrg/*', 'myorg/*'],
  ])('normalizes %s like an image: %s', (pattern, normalized) => {
    expect(new ImagePattern(pattern).normalized).toBe(normalized);
  });

  describe('matches on the parsed domain and path', () => {
    it.each([
      ['registry.example.com/**', 'registry.example.com/app:1'],
      ['registry.example.com/**', 'registry.example.com/team/sub/app@' + DIGEST],
      ['nginx', 'nginx:1.25'],
      ['nginx', 'docker.io/library/nginx'],
      ['nginx', 'index.docker.io/library/nginx:1'],
      ['docker.io/library/nginx', 'nginx'],
      ['myorg/*', 'myorg/app:2'],
      ['docker.io/**', 'randomuser/app:1'],
      ['docker.io/**', 'nginx:1'],
      ['docker.io/randomuser/**', 'randomuser/tool:3'],
      ['gcr.io/*/app', 'gcr.io/project/app:1'],
      ['gcr.io/**/app', 'gcr.io/app:1'],
      ['gcr.io/**/app', 'gcr.io/a/b/app:1'],
      ['team-*/api', 'team-blue/api:1'],
      ['*.gcr.io/**', 'eu.gcr.io/p/app:1'],
      ['REGISTRY.example.com/x', 'registry.EXAMPLE.com/x:1'],
      ['localhost:5000/**', 'localhost:5000/app'],
    ])('%s matches %s', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
    });

    it.each([
      [
        'prefix bypass through the registry name',
        'registry.example.com/**',
        'registry.example.com.evil.io/x:1',
      ],
      ['prefix bypass through the repository name', 'allowed/*', 'allowedmalicious/x:1'],
      ['prefix bypass of a bare repository', 'docker.io/library/nginx', 'nginx-evil:1'],
      ['a registry port is a different registry', 'localhost/**', 'localhost:5000/app:1'],
      ['* stays in one segment', 'myorg/*', 'myorg/team/app:1'],
      ['an official image pattern is not another namespace', 'nginx', 'someone/nginx:1'],
      ['docker.io/* is official images only, like nginx', 'docker.io/*', 'randomuser/app:1'],
      ['a different registry', 'gcr.io/**', 'ghcr.io/x/y:1'],
      ['a path segment glob does not match the registry', '*/**', 'gcr.io/x/y:1'],
    ])('%s: %s does not match %s', (_case, pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });
  });

  describe('with a tag or digest, matches that too', () => {
    it.each([
      ['nginx:1.25', 'nginx:1.25', true],
      ['nginx:1.25', 'nginx:1.26', false],
      ['nginx:1.*', 'nginx:1.26', true],
      ['nginx:latest', 'nginx', true],
      ['nginx:latest', `nginx@${DIGEST}`, false],
      [`nginx@${DIGEST}`, `nginx@${DIGEST}`, true],
      [`nginx@${DIGEST}`, `nginx:1@${DIGEST}`, true],
      [`nginx@${DIGEST}`, 'nginx:1', false],
      [`nginx@${DIGEST}`, `nginx@sha256:${'c'.repeat(64)}`, false],
    ])('%s vs %s: %s', (pattern, image, expected) => {
      expect(matches(pattern, image)).toBe(expected);
    });
  });

  it.each([
    ['myorg/MyApp', 'repository name (myorg/MyApp) must be lowercase'],
    ['nginx@sha256:abc', 'invalid'],
    ['registry.example.com/a**b', '** must be a whole path segment'],
    ['**.example.com/x', '** cannot be used in a registry name'],
    ['nginx:***', 'is not a valid image pattern'],
    ['', 'is not a valid image pattern'],
  ])('refuses %j', (pattern, message) => {
    expect(() => new ImagePattern(pattern)).toThrow(InvalidImagePatternError);
    expect(() => new ImagePattern(pattern)).toThrow(message);
  });
});

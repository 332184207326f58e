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

  describe('every spelling of a registry is that registry', () => {
    it.each([
      ['docker.io/**', 'registry-1.docker.io/randomuser/app:1'],
      ['docker.io/**', 'registry-1.docker.io/nginx:1'],
      ['nginx', 'registry-1.docker.io/nginx:1'],
      ['nginx', 'registry-1.docker.io/library/nginx:1'],
      ['nginx', 'index.docker.io:443/library/nginx:1'],
      ['registry-1.docker.io/**', 'nginx'],
      ['registry-1.docker.io/nginx', 'nginx:1'],
      ['docker.io/randomuser/**', 'Registry-1.Docker.io/randomuser/tool:3'],
      ['registry.example.com/**', 'registry.example.com:443/app:1'],
      ['registry.example.com:443/**', 'registry.example.com/app:1'],
      ['*.example.com/**', 'eu.example.com:443/app:1'],
      ['registry.example.com/**', 'registry.example.com:0443/app:1'],
      ['docker.io/**', 'registry-1.docker.io:00443/randomuser/app:1'],
      ['registry.example.com:5000/**', 'registry.example.com:05000/app:1'],
      ['registry.example.com:0443/**', 'registry.example.com/app:1'],
    ])('%s matches %s', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
      expect(new ImagePattern(pattern).grants(parseNormalizedReference(image))).toBe('yes');
    });

    it.each([
      ['another port is another registry', 'registry.example.com/**', 'registry.example.com:5000/app:1'],
      ['a port is compared as a number', 'registry.example.com/**', 'registry.example.com:4430/app:1'],
      ['a one-segment Docker Hub name is an official image', 'randomuser/**', 'registry-1.docker.io/nginx'],
      ['a look-alike host is not Docker Hub', 'docker.io/**', 'registry-2.docker.io/x/y:1'],
    ])('%s: %s does not match %s', (_case, pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });

    it('a registry glob denies the spelling as written too, and grants only the one spelling', () => {
      const pattern = new ImagePattern('*.docker.io/**');
      const image = parseNormalizedReference('registry-1.docker.io/randomuser/app:1');

      expect(pattern.matches(image)).toBe(true);
      expect(pattern.grants(image)).toBe('no');
    });
  });

  describe('a pattern that names a tag grants what the runtime pulls, which is the digest', () => {
    const pinned = parseNormalizedReference(`repo:debug@${DIGEST}`);

    it("waits for the tag's digest before it grants an image written with a tag and a digest", () => {
      expect(new ImagePattern('repo:debug').grants(pinned)).toBe('needs-tag-digest');
    });

    it('grants it when the tag resolves to that digest now, and not when it resolves elsewhere', () => {
      const pattern = new ImagePattern('repo:debug');

      expect(pattern.grants(pinned, { digest: DIGEST })).toBe('yes');
      expect(pattern.grants(pinned, { digest: `sha256:${'c'.repeat(64)}` })).toBe('no');
    });

    it('grants nothing when the tag could not be resolved', () => {
      expect(new ImagePattern('repo:debug').grants(pinned, {})).toBe('no');
    });

    it('still denies by the tag as written, whatever the digest', () => {
      expect(new ImagePattern('repo:debug').matches(pinned)).toBe(true);
    });

    it.each([
      ['no tag', 'repo', `repo:debug@${DIGEST}`],
      ['the digest itself', `repo@${DIGEST}`, `repo:debug@${DIGEST}`],
      ['a tag, for an image without a digest', 'repo:debug', 'repo:debug'],
    ])('grants at once a pattern with %s', (_case, pattern, image) => {
      expect(new ImagePattern(pattern).grants(parseNormalizedReference(image))).toBe('yes');
    });

    it('does not grant an image whose written tag the pattern does not name, whatever the digest', () => {
      expect(new ImagePattern('repo:debug').grants(parseNormalizedReference(`repo:prod@${DIGEST}`))).toBe(
        'no',
      );
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

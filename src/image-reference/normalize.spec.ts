// Transcribed from distribution/reference normalize_test.go
// (https://github.com/distribution/reference/blob/v0.6.0/normalize_test.go): TestValidateReferenceName,
// TestValidateRemoteName, TestParseRepositoryInfo, TestParseReferenceWithTagAndDigest,
// TestInvalidReferenceComponents, TestParseAnyReference, TestNormalizedSplitHostname and
// TestParseDockerRef; and TestParseNamed from reference_test.go. FamiliarMatch (TestMatch) is not ported.
import { createReference, formatReference, parseReference, withDigest, withTag } from './image-reference';
import { InvalidImageReferenceError, type ImageReferenceErrorCode } from './image-reference.errors';
import {
  familiarName,
  familiarString,
  parseAnyReference,
  parseCanonicalReference,
  parseDockerReference,
  parseNormalizedReference,
  withDefaultTag,
} from './normalize';

/** Asserts that `parse` throws an InvalidImageReferenceError carrying `code`. */
const expectInvalid = (parse: () => unknown, code: ImageReferenceErrorCode): void =>
  expect(parse).toThrow(expect.objectContaining({ name: 'InvalidImageReferenceError', code }));

const identifier = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

describe(parseNormalizedReference.name, () => {
  describe('valid repository names', () => {
    it.each([
      'docker/docker',
      'library/debian',
      'debian',
      'docker.io/docker/docker',
      'docker.io/library/debian',
      'docker.io/debian',
      'index.docker.io/docker/docker',
      'index.docker.io/library/debian',
      'index.docker.io/debian',
      '127.0.0.1:5000/docker/docker',
      '127.0.0.1:5000/library/debian',
      '127.0.0.1:5000/debian',
      '192.168.0.1',
      '192.168.0.1:80',
      '192.168.0.1:8/debian',
      '192.168.0.2:25000/debian',
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', // 64 characters, not hex
      '[fc00::1]:5000/docker',
      '[fc00::1]:5000/docker/docker',
      '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
      `docker.io/${identifier}`, // with a domain, a 64-hex name is not ambiguous
      'Docker/docker',
      'DOCKER/docker',
      'docker-rules/docker',
      'docker---rules/docker',
      'doc/docker',
      'd/docker',
      'jess/t',
      'dock__er/docker',
    ])('accepts %s', (input) => {
      expect(() => parseNormalizedReference(input)).not.toThrow();
    });
  });

  describe('invalid repository names', () => {
    it.each<[string, ImageReferenceErrorCode]>([
      ['https://github.com/docker/docker', 'REFERENCE_INVALID_FORMAT'],
      ['docker/Docker', 'NAME_CONTAINS_UPPERCASE'],
      ['-docker', 'REFERENCE_INVALID_FORMAT'],
      ['-docker/docker', 'REFERENCE_INVALID_FORMAT'],
      ['-docker.io/docker/docker', 'REFERENCE_INVALID_FORMAT'],
      ['docker///docker', 'REFERENCE_INVALID_FORMAT'],
      ['docker.io/docker/Docker', 'NAME_CONTAINS_UPPERCASE'],
      ['docker.io/docker///docker', 'REFERENCE_INVALID_FORMAT'],
      ['[fc00::1]', 'REFERENCE_INVALID_FORMAT'],
      ['[fc00::1]:5000', 'REFERENCE_INVALID_FORMAT'],
      ['fc00::1:5000/debian', 'REFERENCE_INVALID_FORMAT'],
      ['[fe80::1%eth0]:5000/debian', 'REFERENCE_INVALID_FORMAT'],
      ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'REFERENCE_INVALID_FORMAT'],
      [identifier, 'NAME_IS_IDENTIFIER'],
      ['docker-/docker', 'REFERENCE_INVALID_FORMAT'],
      ['-docker-/docker', 'REFERENCE_INVALID_FORMAT'],
      ['____/____', 'REFERENCE_INVALID_FORMAT'],
      ['_docker/_docker', 'REFERENCE_INVALID_FORMAT'],
      ['dock..er/docker', 'REFERENCE_INVALID_FORMAT'],
      ['dock_.er/docker', 'REFERENCE_INVALID_FORMAT'],
      ['dock-.er/docker', 'REFERENCE_INVALID_FORMAT'],
      ['docker/', 'REFERENCE_INVALID_FORMAT'],
      [
        'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255'.repeat(4) + '/docker',
        'NAME_TOO_LONG',
      ],
    ])('rejects %s with %s', (input, code) => {
      expectInvalid(() => parseNormalizedReference(input), code);
    });
  });

  describe('domain and path', () => {
    it.each<[string, string, string]>([
      ['test.com/foo', 'test.com', 'foo'],
      ['test_com/foo', 'docker.io', 'test_com/foo'],
      ['docker/migrator', 'docker.io', 'docker/migrator'],
      ['test.com:8080/foo', 'test.com:8080', 'foo'],
      ['test-com:8080/foo', 'test-com:8080', 'foo'],
      ['foo', 'docker.io', 'library/foo'],
      ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'],
      ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
      ['docker.io/foo', 'docker.io', 'library/foo'],
      ['docker.io/library/foo', 'docker.io', 'library/foo'],
      ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
      // What splitDockerDomain takes for a domain.
      ['localhost/foo', 'localhost', 'foo'],
      ['localhost:5000/foo', 'localhost:5000', 'foo'],
      ['index.docker.io/foo/bar', 'docker.io', 'foo/bar'],
      ['Registry/foo', 'Registry', 'foo'],
      ['registry/foo', 'docker.io', 'registry/foo'],
      // Upstream FIXME: a single component is always an official image, even a host name.
      ['localhost', 'docker.io', 'library/localhost'],
      ['example.com', 'docker.io', 'library/example.com'],
    ])('splits %s into domain %j and path %j', (input, domain, path) => {
      const ref = parseNormalizedReference(input);

      expect(ref.domain).toBe(domain);
      expect(ref.path).toBe(path);
    });

    it('reads localhost:5000 alone as the official image "localhost" tagged 5000', () => {
      expect(parseNormalizedReference('localhost:5000')).toEqual({
        domain: 'docker.io',
        path: 'library/localhost',
        tag: '5000',
      });
    });
  });

  describe('familiar and full names', () => {
    interface RepositoryInfo {
      remoteName: string;
      familiarName: string;
      fullName: string;
      ambiguousName?: string;
      domain: string;
    }

    const repositories: RepositoryInfo[] = [
      {
        remoteName: 'fooo/bar',
        familiarName: 'fooo/bar',
        fullName: 'docker.io/fooo/bar',
        ambiguousName: 'index.docker.io/fooo/bar',
        domain: 'docker.io',
      },
      {
        remoteName: 'library/ubuntu',
        familiarName: 'ubuntu',
        fullName: 'docker.io/library/ubuntu',
        ambiguousName: 'library/ubuntu',
        domain: 'docker.io',
      },
      {
        remoteName: 'nonlibrary/ubuntu',
        familiarName: 'nonlibrary/ubuntu',
        fullName: 'docker.io/nonlibrary/ubuntu',
        domain: 'docker.io',
      },
      {
        remoteName: 'other/library',
        familiarName: 'other/library',
        fullName: 'docker.io/other/library',
        domain: 'docker.io',
      },
      {
        remoteName: 'private/moonbase',
        familiarName: '127.0.0.1:8000/private/moonbase',
        fullName: '127.0.0.1:8000/private/moonbase',
        domain: '127.0.0.1:8000',
      },
      {
        remoteName: 'privatebase',
        familiarName: '127.0.0.1:8000/privatebase',
        fullName: '127.0.0.1:8000/privatebase',
        domain: '127.0.0.1:8000',
      },
      {
        remoteName: 'private/moonbase',
        familiarName: 'example.com/private/moonbase',
        fullName: 'example.com/private/moonbase',
        domain: 'example.com',
      },
      {
        remoteName: 'privatebase',
        familiarName: 'example.com/privatebase',
        fullName: 'example.com/privatebase',
        domain: 'example.com',
      },
      {
        remoteName: 'private/moonbase',
        familiarName: 'example.com:8000/private/moonbase',
        fullName: 'example.com:8000/private/moonbase',
        domain: 'example.com:8000',
      },
      {
        remoteName: 'privatebasee',
        familiarName: 'example.com:8000/privatebasee',
        fullName: 'example.com:8000/privatebasee',
        domain: 'example.com:8000',
      },
      {
        remoteName: 'library/ubuntu-12.04-base',
        familiarName: 'ubuntu-12.04-base',
        fullName: 'docker.io/library/ubuntu-12.04-base',
        ambiguousName: 'index.docker.io/library/ubuntu-12.04-base',
        domain: 'docker.io',
      },
      {
        remoteName: 'library/foo',
        familiarName: 'foo',
        fullName: 'docker.io/library/foo',
        ambiguousName: 'docker.io/foo',
        domain: 'docker.io',
      },
      {
        // "library/" is kept when something is nested below it.
        remoteName: 'library/foo/bar',
        familiarName: 'library/foo/bar',
        fullName: 'docker.io/library/foo/bar',
        domain: 'docker.io',
      },
      {
        remoteName: 'store/foo/bar',
        familiarName: 'store/foo/bar',
        fullName: 'docker.io/store/foo/bar',
        domain: 'docker.io',
      },
      { remoteName: 'bar', familiarName: 'Foo/bar', fullName: 'Foo/bar', domain: 'Foo' },
      { remoteName: 'bar', familiarName: 'FOO/bar', fullName: 'FOO/bar', domain: 'FOO' },
    ];

    const cases = repositories.flatMap((info) =>
      [info.familiarName, info.fullName, info.ambiguousName]
        .filter((input): input is string => input !== undefined)
        .map((input): [string, RepositoryInfo] => [input, info]),
    );

    it.each(cases)('normalizes %s', (input, info) => {
      const ref = parseNormalizedReference(input);

      expect(familiarName(ref)).toBe(info.familiarName);
      expect(formatReference(ref)).toBe(info.fullName);
      expect(ref.domain).toBe(info.domain);
      expect(ref.path).toBe(info.remoteName);
    });
  });

  it('keeps both tag and digest', () => {
    const shortRef = 'busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
    const ref = parseNormalizedReference(shortRef);

    expect(formatReference(ref)).toBe(`docker.io/library/${shortRef}`);
    expect(ref.tag).toBe('latest');
    expect(ref.digest).toBe('sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa');
    expect(familiarString(ref)).toBe(shortRef);
  });

  it('rejects invalid components', () => {
    expectInvalid(() => parseNormalizedReference('-foo'), 'REFERENCE_INVALID_FORMAT');
    const ref = parseNormalizedReference('busybox');
    expectInvalid(() => withTag(ref, '-foo'), 'TAG_INVALID_FORMAT');
    expectInvalid(() => withDigest(ref, 'foo'), 'DIGEST_INVALID_FORMAT');
  });

  describe('error messages', () => {
    it('names the lower-cased repository when the path has upper case', () => {
      expect(() => parseNormalizedReference('Nginx')).toThrow(
        expect.objectContaining({
          code: 'NAME_CONTAINS_UPPERCASE',
          input: 'Nginx',
          message: 'invalid reference format: repository name (library/Nginx) must be lowercase',
        }),
      );
    });

    it('names the repository without its tag', () => {
      expect(() => parseNormalizedReference('example.com/Team/App:v1')).toThrow(
        'invalid reference format: repository name (Team/App) must be lowercase',
      );
    });

    it('names a 64-hex identifier given as a name', () => {
      expect(() => parseNormalizedReference(identifier)).toThrow(
        `invalid repository name (${identifier}), cannot specify 64-byte hexadecimal strings`,
      );
    });

    it('reports errors against the input, not the normalized string', () => {
      expect(() => parseNormalizedReference('ubuntu@sha256:abc' + 'f'.repeat(40))).toThrow(
        expect.objectContaining({
          code: 'DIGEST_INVALID_LENGTH',
          input: 'ubuntu@sha256:abc' + 'f'.repeat(40),
        }),
      );
    });

    it('reports the empty string as an invalid format, since it becomes "docker.io/library/"', () => {
      expectInvalid(() => parseNormalizedReference(''), 'REFERENCE_INVALID_FORMAT');
    });
  });

  describe('name length, measured after "library/" is added', () => {
    it('accepts 247 characters', () => {
      expect(parseNormalizedReference('a'.repeat(247)).path).toHaveLength(255);
    });

    it('rejects 248 characters', () => {
      expectInvalid(() => parseNormalizedReference('a'.repeat(248)), 'NAME_TOO_LONG');
    });
  });

  describe('hostile input', () => {
    it('rejects 10,000 characters of alternating dashes', () => {
      expectInvalid(() => parseNormalizedReference('a-'.repeat(5000) + '!'), 'REFERENCE_INVALID_FORMAT');
    });

    it('throws only InvalidImageReferenceError, even past the regexp engine limits', () => {
      expect(() => parseNormalizedReference('x/' + 'a/'.repeat(5_000_000) + 'a')).toThrow(
        InvalidImageReferenceError,
      );
    });
  });
});

describe(parseAnyReference.name, () => {
  const redisDigest = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

  it.each<[string, string]>([
    ['redis', 'docker.io/library/redis'],
    ['redis:latest', 'docker.io/library/redis:latest'],
    ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
    [`redis@${redisDigest}`, `docker.io/library/redis@${redisDigest}`],
    [`docker.io/library/redis@${redisDigest}`, `docker.io/library/redis@${redisDigest}`],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
    ['docker.io/mcgowan/myapp:latest', 'docker.io/mcgowan/myapp:latest'],
    [`dmcgowan/myapp@${redisDigest}`, `docker.io/dmcgowan/myapp@${redisDigest}`],
    [`docker.io/dmcgowan/myapp@${redisDigest}`, `docker.io/dmcgowan/myapp@${redisDigest}`],
    // 63 hex digits are not an identifier, so a name.
    [
      'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9',
      'docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9',
    ],
    ['dbcc1', 'docker.io/library/dbcc1'],
  ])('reads %s as the named reference %s', (input, equivalent) => {
    const ref = parseAnyReference(input);

    expect(formatReference(ref)).toBe(equivalent);
    expect(ref).toEqual(parseReference(equivalent));
  });

  it.each<[string, string]>([
    ['dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c', redisDigest],
    [redisDigest, redisDigest],
    [`sha512:${'f'.repeat(128)}`, `sha512:${'f'.repeat(128)}`],
  ])('reads %s as a digest-only reference', (input, digest) => {
    const ref = parseAnyReference(input);

    expect(ref).toEqual({ domain: '', path: '', digest });
    expect(formatReference(ref)).toBe(digest);
    expect(familiarString(ref)).toBe(digest);
  });

  it('reads a malformed digest as a name and a tag, as upstream does', () => {
    expect(parseAnyReference('sha256:abc')).toEqual({
      domain: 'docker.io',
      path: 'library/sha256',
      tag: 'abc',
    });
  });

  it('rejects an upper-case identifier as an upper-case name', () => {
    expectInvalid(
      () => parseAnyReference('7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C'),
      'NAME_CONTAINS_UPPERCASE',
    );
  });

  it('throws only InvalidImageReferenceError, even past the regexp engine limits', () => {
    expect(() => parseAnyReference('a.'.repeat(5_000_000) + 'a:f')).toThrow(InvalidImageReferenceError);
  });
});

describe(parseCanonicalReference.name, () => {
  it.each<[string, string, string]>([
    ['test.com/foo', 'test.com', 'foo'],
    ['test:8080/foo', 'test:8080', 'foo'],
    ['docker.io/library/foo', 'docker.io', 'library/foo'],
  ])('accepts %s', (input, domain, path) => {
    expect(parseCanonicalReference(input)).toEqual({ domain, path });
  });

  it.each([
    'test_com/foo',
    'test.com',
    'foo',
    'library/foo',
    'docker.io/foo', // the parser adds "library/"
  ])('rejects %s as not canonical', (input) => {
    expect(() => parseCanonicalReference(input)).toThrow(
      expect.objectContaining({ code: 'NAME_NOT_CANONICAL', message: 'repository name must be canonical' }),
    );
  });
});

describe(parseDockerReference.name, () => {
  const digest = 'sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582';

  it.each<[string, string, string]>([
    ['nothing', 'busybox', 'docker.io/library/busybox:latest'],
    ['tag only', 'busybox:latest', 'docker.io/library/busybox:latest'],
    ['digest only', `busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    ['path only', 'library/busybox', 'docker.io/library/busybox:latest'],
    ['hostname only', 'docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['no tag', 'docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['no path', 'docker.io/busybox:latest', 'docker.io/library/busybox:latest'],
    ['no hostname', 'library/busybox:latest', 'docker.io/library/busybox:latest'],
    ['full reference with tag', 'docker.io/library/busybox:latest', 'docker.io/library/busybox:latest'],
    ['gcr reference without tag', 'gcr.io/library/busybox', 'gcr.io/library/busybox:latest'],
    ['both tag and digest', `gcr.io/library/busybox:latest@${digest}`, `gcr.io/library/busybox@${digest}`],
  ])('%s: %s becomes %s', (_description, input, expected) => {
    const output = formatReference(parseDockerReference(input));

    expect(output).toBe(expected);
    expect(() => parseReference(output)).not.toThrow();
  });
});

describe(withDefaultTag.name, () => {
  it('adds "latest" to a reference with neither tag nor digest', () => {
    expect(withDefaultTag(parseNormalizedReference('ubuntu'))).toEqual({
      domain: 'docker.io',
      path: 'library/ubuntu',
      tag: 'latest',
    });
  });

  it.each(['ubuntu:22.04', `ubuntu@sha256:${'a'.repeat(64)}`, `ubuntu:22.04@sha256:${'a'.repeat(64)}`])(
    'leaves %s as it is',
    (input) => {
      const ref = parseNormalizedReference(input);

      expect(withDefaultTag(ref)).toBe(ref);
    },
  );

  it('leaves a digest-only reference as it is', () => {
    const ref = createReference('', '', undefined, `sha256:${'a'.repeat(64)}`);

    expect(withDefaultTag(ref)).toBe(ref);
  });
});

describe(familiarString.name, () => {
  it.each<[string, string]>([
    ['docker.io/library/ubuntu:22.04', 'ubuntu:22.04'],
    ['docker.io/dmcgowan/myapp:latest', 'dmcgowan/myapp:latest'],
    ['docker.io/library/foo/bar:1', 'library/foo/bar:1'],
    ['gcr.io/library/busybox:1', 'gcr.io/library/busybox:1'],
    ['localhost:5000/app', 'localhost:5000/app'],
  ])('shows %s as %s', (input, expected) => {
    expect(familiarString(parseNormalizedReference(input))).toBe(expected);
  });

  it('familiarizes a non-normalized reference too', () => {
    expect(familiarString(parseReference('docker.io/library/redis:7'))).toBe('redis:7');
  });
});

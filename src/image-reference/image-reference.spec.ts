// Transcribed from distribution/reference reference_test.go
// (https://github.com/distribution/reference/blob/v0.6.0/reference_test.go): TestReferenceParse,
// TestDomainAndPath, TestSerialization, TestWithTag and TestWithDigest. TestParseNamed is in
// normalize.spec.ts, next to parseCanonicalReference.
import {
  createReference,
  formatReference,
  parseReference,
  parseWithinEngineLimits,
  referenceName,
  withDigest,
  withTag,
  type ImageReference,
} from './image-reference';
import { InvalidImageReferenceError, type ImageReferenceErrorCode } from './image-reference.errors';

/** Asserts that `parse` throws an InvalidImageReferenceError carrying `code`. */
const expectInvalid = (parse: () => unknown, code: ImageReferenceErrorCode): void =>
  expect(parse).toThrow(expect.objectContaining({ name: 'InvalidImageReferenceError', code }));

const sha256 = `sha256:${'f'.repeat(64)}`;
const sha512 = `sha512:${'f'.repeat(128)}`;

describe(parseReference.name, () => {
  interface Parsed {
    repository: string;
    domain?: string;
    tag?: string;
    digest?: string;
  }

  it.each<[string, Parsed]>([
    ['test_com', { repository: 'test_com' }],
    ['test.com:tag', { repository: 'test.com', tag: 'tag' }],
    ['test.com:5000', { repository: 'test.com', tag: '5000' }],
    ['test.com/repo:tag', { domain: 'test.com', repository: 'test.com/repo', tag: 'tag' }],
    ['test:5000/repo', { domain: 'test:5000', repository: 'test:5000/repo' }],
    ['test:5000/repo:tag', { domain: 'test:5000', repository: 'test:5000/repo', tag: 'tag' }],
    [`test:5000/repo@${sha256}`, { domain: 'test:5000', repository: 'test:5000/repo', digest: sha256 }],
    [
      `test:5000/repo:tag@${sha256}`,
      { domain: 'test:5000', repository: 'test:5000/repo', tag: 'tag', digest: sha256 },
    ],
    ['lowercase:Uppercase', { repository: 'lowercase', tag: 'Uppercase' }],
    [
      'a/'.repeat(127) + 'a:tag-puts-this-over-max',
      { domain: 'a', repository: 'a/'.repeat(127) + 'a', tag: 'tag-puts-this-over-max' },
    ],
    [
      'sub-dom1.foo.com/bar/baz/quux',
      { domain: 'sub-dom1.foo.com', repository: 'sub-dom1.foo.com/bar/baz/quux' },
    ],
    [
      'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
      { domain: 'sub-dom1.foo.com', repository: 'sub-dom1.foo.com/bar/baz/quux', tag: 'some-long-tag' },
    ],
    [
      'b.gcr.io/test.example.com/my-app:test.example.com',
      { domain: 'b.gcr.io', repository: 'b.gcr.io/test.example.com/my-app', tag: 'test.example.com' },
    ],
    [
      'xn--n3h.com/myimage:xn--n3h.com', // ☃.com in punycode
      { domain: 'xn--n3h.com', repository: 'xn--n3h.com/myimage', tag: 'xn--n3h.com' },
    ],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`, // 🐳.com in punycode
      { domain: 'xn--7o8h.com', repository: 'xn--7o8h.com/myimage', tag: 'xn--7o8h.com', digest: sha512 },
    ],
    ['foo_bar.com:8080', { repository: 'foo_bar.com', tag: '8080' }],
    ['foo/foo_bar.com:8080', { domain: 'foo', repository: 'foo/foo_bar.com', tag: '8080' }],
    ['192.168.1.1', { repository: '192.168.1.1' }],
    ['192.168.1.1:tag', { repository: '192.168.1.1', tag: 'tag' }],
    ['192.168.1.1:5000', { repository: '192.168.1.1', tag: '5000' }],
    ['192.168.1.1/repo', { domain: '192.168.1.1', repository: '192.168.1.1/repo' }],
    ['192.168.1.1:5000/repo', { domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo' }],
    [
      '192.168.1.1:5000/repo:5050',
      { domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo', tag: '5050' },
    ],
    ['[2001:db8::1]/repo', { domain: '[2001:db8::1]', repository: '[2001:db8::1]/repo' }],
    [
      '[2001:db8:1:2:3:4:5:6]/repo:tag',
      { domain: '[2001:db8:1:2:3:4:5:6]', repository: '[2001:db8:1:2:3:4:5:6]/repo', tag: 'tag' },
    ],
    ['[2001:db8::1]:5000/repo', { domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo' }],
    [
      '[2001:db8::1]:5000/repo:tag',
      { domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', tag: 'tag' },
    ],
    [
      `[2001:db8::1]:5000/repo@${sha256}`,
      { domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', digest: sha256 },
    ],
    [
      `[2001:db8::1]:5000/repo:tag@${sha256}`,
      { domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', tag: 'tag', digest: sha256 },
    ],
    ['[2001:db8::]:5000/repo', { domain: '[2001:db8::]:5000', repository: '[2001:db8::]:5000/repo' }],
    ['[::1]:5000/repo', { domain: '[::1]:5000', repository: '[::1]:5000/repo' }],
    [
      'example.com/' + 'a'.repeat(255) + ':tag',
      { domain: 'example.com', repository: 'example.com/' + 'a'.repeat(255), tag: 'tag' },
    ],
  ])('parses %s', (input, expected) => {
    const ref = parseReference(input);

    expect(formatReference(ref)).toBe(input);
    expect(referenceName(ref)).toBe(expected.repository);
    expect(ref.domain).toBe(expected.domain ?? '');
    expect(ref.tag).toBe(expected.tag);
    expect(ref.digest).toBe(expected.digest);
  });

  it.each<[string, ImageReferenceErrorCode]>([
    ['', 'NAME_EMPTY'],
    [':justtag', 'REFERENCE_INVALID_FORMAT'],
    [`@${sha256}`, 'REFERENCE_INVALID_FORMAT'],
    [`repo@sha256:${'f'.repeat(34)}`, 'DIGEST_INVALID_LENGTH'],
    [`validname@invaliddigest:${'f'.repeat(64)}`, 'DIGEST_UNSUPPORTED'],
    ['Uppercase:tag', 'NAME_CONTAINS_UPPERCASE'],
    ['test:5000/Uppercase/lowercase:tag', 'NAME_CONTAINS_UPPERCASE'],
    ['domain/' + 'a'.repeat(256) + ':tag', 'NAME_TOO_LONG'],
    ['aa/asdf$$^/aa', 'REFERENCE_INVALID_FORMAT'],
    ['[2001:db8::1]', 'REFERENCE_INVALID_FORMAT'],
    ['[2001:db8::1]:5000', 'REFERENCE_INVALID_FORMAT'],
    ['[2001:db8::1]:tag', 'REFERENCE_INVALID_FORMAT'],
    ['[fe80::1%eth0]:5000/repo', 'REFERENCE_INVALID_FORMAT'],
    ['[fe80::1%@invalidzone]:5000/repo', 'REFERENCE_INVALID_FORMAT'],
  ])('rejects %j with %s', (input, code) => {
    expectInvalid(() => parseReference(input), code);
  });

  describe('registries, ports and tags', () => {
    it('does not mistake a registry port for a tag', () => {
      expect(parseReference('localhost:5000/app')).toEqual({ domain: 'localhost:5000', path: 'app' });
    });

    it('takes the tag from the last path component only', () => {
      expect(parseReference('localhost:5000/team/app:1.2')).toEqual({
        domain: 'localhost:5000',
        path: 'team/app',
        tag: '1.2',
      });
    });

    it('reads a lone host:port as a name and a tag, since there is no path', () => {
      expect(parseReference('localhost:5000')).toEqual({ domain: '', path: 'localhost', tag: '5000' });
    });

    it('treats the first of several components as the domain, even without a dot (no normalization)', () => {
      expect(parseReference('library/ubuntu')).toEqual({ domain: 'library', path: 'ubuntu' });
    });
  });

  describe('upper case', () => {
    it('accepts upper case in the domain', () => {
      expect(parseReference('Registry.Example.COM/app')).toEqual({
        domain: 'Registry.Example.COM',
        path: 'app',
      });
    });

    // Upstream FIXME: "Uppercase" is taken as a domain here, so this passes.
    // https://github.com/distribution/distribution/pull/1778
    it('accepts an upper-case first component, which it reads as a domain', () => {
      expect(parseReference('Uppercase/lowercase:tag')).toEqual({
        domain: 'Uppercase',
        path: 'lowercase',
        tag: 'tag',
      });
    });

    it('reports upper case in the path with upstream message', () => {
      expect(() => parseReference('example.com/Team/app')).toThrow(
        expect.objectContaining({
          code: 'NAME_CONTAINS_UPPERCASE',
          input: 'example.com/Team/app',
          message: 'repository name must be lowercase',
        }),
      );
    });

    it('reports upper case ahead of length, as upstream does', () => {
      expectInvalid(() => parseReference('a/'.repeat(5000) + 'A'), 'NAME_CONTAINS_UPPERCASE');
    });

    it('lower-cases U+0130 (İ) to "i" as Go does, so it counts as upper case', () => {
      expectInvalid(() => parseReference('\u0130mage:tag'), 'NAME_CONTAINS_UPPERCASE');
    });

    it('lower-cases the Kelvin sign to "k" as Go does', () => {
      expectInvalid(() => parseReference('\u212Aube'), 'NAME_CONTAINS_UPPERCASE');
    });
  });

  describe('name length', () => {
    // Since v0.6.0 upstream measures the path only; earlier releases measured domain/path and
    // rejected this very input.
    it('measures the path without the domain', () => {
      const ref = parseReference('a/'.repeat(128) + 'a:tag');

      expect(ref.domain).toBe('a');
      expect(ref.path).toHaveLength(255);
    });

    it('rejects a path of 256 characters', () => {
      expect(() => parseReference('example.com/' + 'a'.repeat(256))).toThrow(
        expect.objectContaining({
          code: 'NAME_TOO_LONG',
          message: 'repository name must not be more than 255 characters',
        }),
      );
    });

    it('does not limit the domain', () => {
      const domain = 'a.'.repeat(200) + 'com';

      expect(parseReference(`${domain}/app`).domain).toBe(domain);
    });
  });

  describe('digests', () => {
    it.each([`sha384:${'a'.repeat(96)}`, sha512])('accepts %s', (digest) => {
      expect(parseReference(`app@${digest}`).digest).toBe(digest);
    });

    it.each<[string, string, ImageReferenceErrorCode]>([
      ['upper-case hex', `sha256:${'F'.repeat(64)}`, 'DIGEST_INVALID_CHECKSUM_FORMAT'],
      ['upper-case algorithm', `SHA256:${'f'.repeat(64)}`, 'DIGEST_INVALID_CHECKSUM_FORMAT'],
      ['sha256 with 128 hex digits', `sha256:${'f'.repeat(128)}`, 'DIGEST_INVALID_LENGTH'],
      ['sha512 with 64 hex digits', `sha512:${'f'.repeat(64)}`, 'DIGEST_INVALID_LENGTH'],
      ['an unknown algorithm', `md5:${'f'.repeat(32)}`, 'DIGEST_UNSUPPORTED'],
    ])('rejects %s', (_description, digest, code) => {
      expectInvalid(() => parseReference(`app@${digest}`), code);
    });

    it('reports digest errors with go-digest message', () => {
      expect(() => parseReference(`app@md5:${'f'.repeat(32)}`)).toThrow('unsupported digest algorithm');
    });
  });

  describe('hostile input', () => {
    it('throws InvalidImageReferenceError instances', () => {
      expect(() => parseReference('a b')).toThrow(InvalidImageReferenceError);
    });

    it.each([
      ['emoji in a tag', 'ubuntu:😀'],
      ['full-width letters', 'ｕｂｕｎｔｕ'],
      ['a lone surrogate', 'ubuntu\uD800'],
      ['a NUL byte', 'ubuntu\u0000'],
      ['surrounding whitespace', ' ubuntu '],
      ['a trailing newline', 'ubuntu\n'],
    ])('rejects %s', (_description, input) => {
      expectInvalid(() => parseReference(input), 'REFERENCE_INVALID_FORMAT');
    });

    it.each([
      ['alternating dashes', 'a-'.repeat(5000) + '!'],
      ['alternating dots', 'a.'.repeat(5000) + '!'],
      ['a long host with no path', 'a.b-'.repeat(2500) + '/!'],
      ['a long port', 'a:' + '1'.repeat(10_000) + '/!'],
      ['a long IPv6 host', '[' + ':'.repeat(10_000)],
      ['a long digest algorithm', 'a@' + 'a.'.repeat(5000) + ':'],
    ])('rejects 10,000 characters of %s', (_description, input) => {
      expectInvalid(() => parseReference(input), 'REFERENCE_INVALID_FORMAT');
    });

    it('rejects a 10,000-character path as too long', () => {
      expectInvalid(() => parseReference('a/'.repeat(5000) + 'a'), 'NAME_TOO_LONG');
    });

    // 10 million characters is past what V8's backtracking stack takes today.
    it('throws only InvalidImageReferenceError, even past the regexp engine limits', () => {
      expect(() => parseReference('a/'.repeat(5_000_000) + 'a')).toThrow(InvalidImageReferenceError);
    });
  });

  it('returns a frozen reference without keys for a missing tag or digest', () => {
    const ref = parseReference('ubuntu');

    expect(Object.keys(ref)).toEqual(['domain', 'path']);
    expect(Object.isFrozen(ref)).toBe(true);
  });
});

describe(parseWithinEngineLimits.name, () => {
  const overflow = (): never => {
    throw new RangeError('Maximum call stack size exceeded');
  };

  it('reports a regexp engine overflow as an invalid format, naming the input length', () => {
    expect(() => parseWithinEngineLimits('x'.repeat(12), overflow)).toThrow(
      expect.objectContaining({
        code: 'REFERENCE_INVALID_FORMAT',
        input: 'x'.repeat(12),
        message: 'invalid reference format: too long to parse (12 characters)',
      }),
    );
  });

  it('passes any other error through', () => {
    const bug = new TypeError('bug');

    expect(() =>
      parseWithinEngineLimits('x', () => {
        throw bug;
      }),
    ).toThrow(bug);
  });
});

describe('domain and path of a name', () => {
  it.each<[string, string, string]>([
    ['test.com/foo', 'test.com', 'foo'],
    ['test_com/foo', '', 'test_com/foo'],
    ['test:8080/foo', 'test:8080', 'foo'],
    ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
  ])('splits %s into domain %j and path %j', (input, domain, path) => {
    expect(parseReference(input)).toEqual({ domain, path });
  });
});

describe(formatReference.name, () => {
  it.each<[string, string, string | undefined, string | undefined]>([
    ['example.com:8000/named', 'example.com:8000/named', undefined, undefined],
    ['example.com:8000/named:tagged', 'example.com:8000/named', 'tagged', undefined],
    [
      'other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112',
      'other.com/named',
      undefined,
      'sha256:1234567890098765432112345667890098765432112345667890098765432112',
    ],
  ])('round-trips %s', (input, name, tag, digest) => {
    const ref = parseReference(input);

    expect(referenceName(ref)).toBe(name);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
    expect(formatReference(ref)).toBe(input);
  });

  it('prints a digest-only reference as its digest', () => {
    expect(formatReference(createReference('', '', undefined, sha256))).toBe(sha256);
  });
});

describe(withTag.name, () => {
  it.each<[string, string, string | undefined, string]>([
    ['test.com/foo', 'tag', undefined, 'test.com/foo:tag'],
    ['foo', 'tag2', undefined, 'foo:tag2'],
    ['test.com:8000/foo', 'tag4', undefined, 'test.com:8000/foo:tag4'],
    ['test.com:8000/foo', 'TAG5', undefined, 'test.com:8000/foo:TAG5'],
    [
      'test.com:8000/foo',
      'TAG5',
      'sha256:1234567890098765432112345667890098765',
      'test.com:8000/foo:TAG5@sha256:1234567890098765432112345667890098765',
    ],
  ])('tags %s with %s (digest %s) as %s', (name, tag, digest, combined) => {
    let ref: ImageReference = parseReference(name);
    if (digest !== undefined) {
      ref = withDigest(ref, digest);
    }

    expect(formatReference(withTag(ref, tag))).toBe(combined);
  });

  it('rejects a tag outside the grammar', () => {
    expect(() => withTag(parseReference('busybox'), '-foo')).toThrow(
      expect.objectContaining({ code: 'TAG_INVALID_FORMAT', input: '-foo', message: 'invalid tag format' }),
    );
  });

  it('rejects a tag longer than 128 characters', () => {
    expectInvalid(() => withTag(parseReference('busybox'), 'a'.repeat(129)), 'TAG_INVALID_FORMAT');
  });

  it('refuses a digest-only reference, which has no name', () => {
    expectInvalid(() => withTag(createReference('', '', undefined, sha256), 'latest'), 'NAME_EMPTY');
  });
});

describe(withDigest.name, () => {
  const digest = 'sha256:1234567890098765432112345667890098765';

  it.each<[string, string | undefined, string]>([
    ['test.com/foo', undefined, `test.com/foo@${digest}`],
    ['foo', undefined, `foo@${digest}`],
    ['test.com:8000/foo', undefined, `test.com:8000/foo@${digest}`],
    ['test.com:8000/foo', 'latest', `test.com:8000/foo:latest@${digest}`],
  ])('pins %s (tag %s) as %s', (name, tag, combined) => {
    let ref: ImageReference = parseReference(name);
    if (tag !== undefined) {
      ref = withTag(ref, tag);
    }

    expect(formatReference(withDigest(ref, digest))).toBe(combined);
  });

  it('rejects a digest outside the grammar', () => {
    expect(() => withDigest(parseReference('busybox'), 'foo')).toThrow(
      expect.objectContaining({
        code: 'DIGEST_INVALID_FORMAT',
        input: 'foo',
        message: 'invalid digest format',
      }),
    );
  });
});

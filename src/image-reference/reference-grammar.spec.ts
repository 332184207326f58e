// Transcribed from distribution/reference regexp_test.go
// (https://github.com/distribution/reference/blob/v0.6.0/regexp_test.go): TestDomainRegexp,
// TestFullNameRegexp, TestReferenceRegexp and TestIdentifierRegexp.
import {
  anchoredDomainRegexp,
  anchoredIdentifierRegexp,
  anchoredNameRegexp,
  referenceRegexp,
} from './reference-grammar';

/** Go's FindStringSubmatch reports a group that did not take part as "", JavaScript as undefined. */
const submatches = (regexp: RegExp, input: string): string[] | null =>
  regexp
    .exec(input)
    ?.slice(1)
    .map((group) => group ?? '') ?? null;

const digest = 'sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912';

describe('anchoredDomainRegexp', () => {
  it.each([
    'test.com',
    'test.com:10304',
    'localhost',
    'localhost:8080',
    'a',
    'a.b',
    'ab.cd.com',
    'a-b.com',
    'ab.c-om',
    '0101.com',
    '001a.com',
    'b.gbc.io:443',
    'b.gbc.io',
    'xn--n3h.com', // ☃.com in punycode
    'Asdf.com', // upper case is fine in a domain
    '192.168.1.1:75050', // the port is not range-checked
    '192.168.1.1:750050',
    '[fd00:1:2::3]:75050',
    '[fd00123123123]:75050', // not an IPv6 address, but the grammar only checks the alphabet
    '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050',
    '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505',
  ])('accepts %s', (input) => {
    expect(anchoredDomainRegexp.test(input)).toBe(true);
  });

  it.each([
    'test.com:http',
    '-ab.com',
    'ab-.com',
    'ab.-com',
    'ab.com-',
    '[fd00:1:2::3]75050', // port without its colon
    '[fd00:1:2::3]::75050',
    '[fd00:1:2::3%eth0]:75050', // zone identifiers are excluded
    'fd00:1:2::3:75050', // IPv6 needs its brackets
  ])('rejects %s', (input) => {
    expect(anchoredDomainRegexp.test(input)).toBe(false);
  });
});

describe('anchoredNameRegexp', () => {
  it('has exactly two groups, domain and remote name', () => {
    expect(new RegExp(`${anchoredNameRegexp.source}|`).exec('')).toHaveLength(3);
  });

  it.each<[string, string, string]>([
    ['short', '', 'short'],
    ['simple/name', 'simple', 'name'],
    ['library/ubuntu', 'library', 'ubuntu'],
    ['docker/stevvooe/app', 'docker', 'stevvooe/app'],
    ['aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb', 'aa', 'aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb'],
    ['aa/aa/bb/bb/bb', 'aa', 'aa/bb/bb/bb'],
    ['a/a/a/a', 'a', 'a/a/a'],
    ['a', '', 'a'],
    ['a/aa', 'a', 'aa'],
    ['a/aa/a', 'a', 'aa/a'],
    ['foo.com', '', 'foo.com'],
    ['foo.com:8080/bar', 'foo.com:8080', 'bar'],
    ['foo.com/bar', 'foo.com', 'bar'],
    ['foo.com/bar/baz', 'foo.com', 'bar/baz'],
    ['localhost:8080/bar', 'localhost:8080', 'bar'],
    ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux'],
    ['blog.foo.com/bar/baz', 'blog.foo.com', 'bar/baz'],
    ['aa-a/a', 'aa-a', 'a'],
    ['a/'.repeat(128) + 'a', 'a', 'a/'.repeat(127) + 'a'],
    ['foo_bar', '', 'foo_bar'],
    ['foo_bar.com', '', 'foo_bar.com'],
    ['foo.com/foo_bar', 'foo.com', 'foo_bar'],
    ['b.gcr.io/test.example.com/my-app', 'b.gcr.io', 'test.example.com/my-app'],
    ['xn--n3h.com/myimage', 'xn--n3h.com', 'myimage'], // ☃.com in punycode
    ['xn--7o8h.com/myimage', 'xn--7o8h.com', 'myimage'], // 🐳.com in punycode
    ['example.com/xn--7o8h.com/myimage', 'example.com', 'xn--7o8h.com/myimage'],
    ['example.com/some_separator__underscore/myimage', 'example.com', 'some_separator__underscore/myimage'],
    ['do__cker/docker', '', 'do__cker/docker'],
    [
      'registry.io/foo/project--id.module--name.ver---sion--name',
      'registry.io',
      'foo/project--id.module--name.ver---sion--name',
    ],
    ['Asdf.com/foo/bar', 'Asdf.com', 'foo/bar'],
  ])('splits %s into domain %j and path %j', (input, domain, path) => {
    expect(submatches(anchoredNameRegexp, input)).toEqual([domain, path]);
  });

  it.each([
    '',
    'a/a/a/a/',
    'a//a/a',
    'foo.com/',
    'foo.com:http/bar',
    'a^a',
    'aa/asdf$$^/aa',
    'asdf$$^/aa',
    'a-/a/a/a',
    'foo.com/a-/a/a',
    '-foo/bar',
    'foo/bar-',
    'foo-/bar',
    'foo/-bar',
    '_foo/bar',
    'foo_bar.com:8080',
    'foo_bar.com:8080/app',
    '____/____',
    '_docker/_docker',
    'docker_/docker_',
    'example.com/__underscore/myimage',
    'example.com/..dots/myimage',
    'example.com/.dots/myimage',
    'example.com/nodouble..dots/myimage',
    'docker./docker',
    '.docker/docker',
    'docker-/docker',
    '-docker/docker',
    'do..cker/docker',
    'do__cker:8080/docker',
    'Foo/FarB', // upper case in the remote name
  ])('rejects %j', (input) => {
    expect(anchoredNameRegexp.test(input)).toBe(false);
  });
});

describe('referenceRegexp', () => {
  it('has exactly three groups, name, tag and digest', () => {
    expect(new RegExp(`${referenceRegexp.source}|`).exec('')).toHaveLength(4);
  });

  it.each<[string, string, string, string]>([
    ['registry.com:8080/myapp:tag', 'registry.com:8080/myapp', 'tag', ''],
    [`registry.com:8080/myapp@${digest}`, 'registry.com:8080/myapp', '', digest],
    [`registry.com:8080/myapp:tag2@${digest}`, 'registry.com:8080/myapp', 'tag2', digest],
    // Without a path, localhost is the name and 8080 its tag.
    [`localhost:8080@${digest}`, 'localhost', '8080', digest],
    [`localhost:8080/name@${digest}`, 'localhost:8080/name', '', digest],
    [`localhost@${digest}`, 'localhost', '', digest],
  ])('splits %s into name %j, tag %j and digest %j', (input, name, tag, digestGroup) => {
    expect(submatches(referenceRegexp, input)).toEqual([name, tag, digestGroup]);
  });

  it.each([
    'registry.com:8080/myapp@sha256:badbadbadbad',
    'registry.com:8080/myapp:invalid~tag',
    'bad_hostname.com:8080/myapp:tag',
    `localhost:http/name@${digest}`,
    'registry.com:8080/myapp@bad',
    'registry.com:8080/myapp@2bad', // upstream TODO: may become valid
  ])('rejects %s', (input) => {
    expect(referenceRegexp.test(input)).toBe(false);
  });

  it('rejects a trailing newline, as Go does ($ only matches at the very end)', () => {
    expect(referenceRegexp.test('ubuntu\n')).toBe(false);
  });
});

describe('anchoredIdentifierRegexp', () => {
  it.each<[string, boolean]>([
    ['da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821', true],
    ['7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C', false],
    ['da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf', false],
    ['sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821', false],
    ['da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482', false],
  ])('matches %s: %s', (input, expected) => {
    expect(anchoredIdentifierRegexp.test(input)).toBe(expected);
  });
});

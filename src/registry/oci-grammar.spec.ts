import { digestProblem, repositoryProblem, tagProblem } from './oci-grammar';

const HEX = 'a'.repeat(64);

describe(digestProblem.name, () => {
  it('accepts a sha256 digest', () => {
    expect(digestProblem(`sha256:${HEX}`)).toBeUndefined();
  });

  it.each([
    [`sha256:${HEX}/../../other/manifests/sha256:${HEX}`, 'a path climbing out of the repository'],
    [`sha256:${HEX}/..`, 'a trailing dot segment'],
    [`sha256:${HEX}%2F..%2F`, 'an encoded path'],
    [`sha256:${HEX}?x=1`, 'a query'],
    [`sha256:${HEX}#x`, 'a fragment'],
    ['../sha256:' + HEX, 'a dot segment before it'],
    [`sha256:${HEX}/`, 'a slash after it'],
    [`sha256..x:${HEX}`, 'an algorithm with an empty component'],
    [`SHA256:${HEX}`, 'an upper-case algorithm'],
    ['sha256:', 'no encoded part'],
    [':' + HEX, 'no algorithm'],
    ['', 'nothing'],
    [`sha256:${'a'.repeat(5000)}`, 'an encoded part longer than any algorithm has'],
    [null, 'null'],
    [42, 'a number'],
    [{ digest: `sha256:${HEX}` }, 'an object'],
  ] as [unknown, string][])('refuses %j as not an OCI digest (%s)', (digest) => {
    expect(digestProblem(digest)).toMatch(/^digest .* is not an OCI digest$/);
  });

  it.each([`sha512:${'b'.repeat(128)}`, 'md5:abc', `sha256:${HEX.slice(1)}`, `sha256:${'A'.repeat(64)}`])(
    'refuses %s, which fits the grammar but is not a sha256 digest this client can check',
    (digest) => {
      expect(digestProblem(digest)).toBe(
        `digest ${digest} is not sha256, the one algorithm whose content is checked`,
      );
    },
  );
});

describe(repositoryProblem.name, () => {
  it.each(['app', 'library/nginx', 'demo/app-1', 'a/b/c/d', 'my_org/my__app', 'x.y/z--w'])(
    'accepts %s',
    (name) => {
      expect(repositoryProblem(name)).toBeUndefined();
    },
  );

  it.each([
    'demo/../other',
    'demo/./app',
    '../app',
    '/app',
    'app/',
    'demo//app',
    'Demo/app',
    'demo/app?x',
    'demo%2Fapp',
    'demo/app/manifests/sha256:x',
    '',
    'a'.repeat(256),
  ])('refuses %j', (name) => {
    expect(repositoryProblem(name)).toMatch(/is not a repository name$/);
  });
});

describe(tagProblem.name, () => {
  it.each(['v1', 'latest', `sha256-${HEX}.sig`, `sha256-${HEX}`, '_x', 'a'.repeat(128)])(
    'accepts %s',
    (tag) => {
      expect(tagProblem(tag)).toBeUndefined();
    },
  );

  it.each(['', '.hidden', '-x', 'a/b', '../x', 'x:y', `sha256:${HEX}`, 'a'.repeat(129), 'v 1'])(
    'refuses %j',
    (tag) => {
      expect(tagProblem(tag)).toMatch(/is not a tag$/);
    },
  );
});

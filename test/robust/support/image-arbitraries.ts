import fc from 'fast-check';

/**
 * Generators for image references, built from the grammar's pieces (distribution/reference's
 * regexp.go) so that most generated strings are grammar-valid, plus near misses and noise. Each is
 * written from the grammar's text, not from src/image-reference's expressions.
 */

const charsOf = (set: string): fc.Arbitrary<string> => fc.constantFrom(...set);
const stringOf = (set: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: charsOf(set), minLength, maxLength });

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = `${LOWER_ALNUM}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const WORD = `${ALNUM}_`;
const HEX = '0123456789abcdef';

/** alpha-numeric := /[a-z0-9]+/ */
const alphaNumeric = stringOf(LOWER_ALNUM, 1, 6);

/** separator := /[_.]|__|[-]+/ */
const separator = fc.oneof(fc.constantFrom('.', '_', '__'), stringOf('-', 1, 3));

/** path-component := alpha-numeric [separator alpha-numeric]* */
const shortPathComponent = fc
  .tuple(alphaNumeric, fc.array(fc.tuple(separator, alphaNumeric), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(''));

/** A component long enough, with the others, to reach upstream's 255-character path limit. */
const longPathComponent = fc.integer({ min: 200, max: 270 }).map((n) => 'a'.repeat(n));

export const pathComponent = fc.oneof({ weight: 20, arbitrary: shortPathComponent }, longPathComponent);

/** remote-name := path-component ['/' path-component]* */
export const remoteName = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'));

/** domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/ */
const domainComponent = fc.oneof(
  charsOf(ALNUM),
  fc
    .tuple(charsOf(ALNUM), stringOf(`${ALNUM}-`, 0, 6), charsOf(ALNUM))
    .map(([a, middle, z]) => a + middle + z),
);

const domainName = fc.array(domainComponent, { minLength: 1, maxLength: 4 }).map((c) => c.join('.'));

/** IPv6 in brackets, as loosely as the grammar takes it. */
const ipv6 = stringOf('0123456789abcdefABCDEF:', 1, 12).map((address) => `[${address}]`);

/** domain := host [':' port-number] */
export const domain = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: domainName },
      { weight: 1, arbitrary: fc.constantFrom('localhost', 'docker.io', 'index.docker.io') },
      { weight: 1, arbitrary: ipv6 },
    ),
    fc.option(stringOf('0123456789', 1, 5), { nil: undefined }),
  )
  .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));

/** name := [domain '/'] remote-name */
export const name = fc.oneof(
  remoteName,
  fc.tuple(domain, remoteName).map(([d, r]) => `${d}/${r}`),
);

/** tag := /[\w][\w.-]{0,127}/, with some one past the limit. */
export const tag = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(charsOf(WORD), stringOf(`${WORD}.-`, 0, 10)).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.constantFrom('latest', 'LATEST', 'Latest', '1.25', 'v1.2.3-rc.1', '_') },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 126, max: 130 }).map((n) => `t${'x'.repeat(n)}`),
  },
);

const hex = (length: number): fc.Arbitrary<string> => stringOf(HEX, length, length);

/** A digest go-digest accepts: a registered algorithm and lower-case hex of its length. */
export const validDigest = fc.oneof(
  { weight: 4, arbitrary: hex(64).map((h) => `sha256:${h}`) },
  { weight: 1, arbitrary: hex(96).map((h) => `sha384:${h}`) },
  { weight: 1, arbitrary: hex(128).map((h) => `sha512:${h}`) },
);

/**
 * digest := algorithm ":" hex{32,}, which the grammar takes and go-digest then judges: upper-case
 * hex, a wrong length or an unknown algorithm pass the grammar and fail validation.
 */
export const grammarDigest = fc.oneof(
  { weight: 3, arbitrary: validDigest },
  { weight: 1, arbitrary: hex(64).map((h) => `sha256:${h.toUpperCase()}`) },
  { weight: 1, arbitrary: fc.integer({ min: 32, max: 130 }).chain((n) => hex(n).map((h) => `sha256:${h}`)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('md5', 'SHA256', 'sha256+b64u', 'multihash.sha2', 'x_y-z'),
        fc.integer({ min: 32, max: 70 }),
      )
      .chain(([algorithm, n]) => hex(n).map((h) => `${algorithm}:${h}`)),
  },
);

/** reference := name [ ":" tag ] [ "@" digest ] */
export const grammarReference = fc
  .tuple(name, fc.option(tag, { nil: undefined }), fc.option(grammarDigest, { nil: undefined }))
  .map(([n, t, d]) => n + (t === undefined ? '' : `:${t}`) + (d === undefined ? '' : `@${d}`));

/** Characters that sit on the grammar's edges: its delimiters, case, whitespace, and look-alikes. */
const trickyCharacter = fc.constantFrom(
  ':',
  '/',
  '@',
  '.',
  '-',
  '_',
  'A',
  'Z',
  ' ',
  '\t',
  '\n',
  '\0',
  '\u0130', // İ: lower-cases to "i̇" in JavaScript, to "i" in Go
  '\u212a', // Kelvin sign: lower-cases to ASCII "k"
  '\u017f', // long s: upper-cases to ASCII "S"
  'é',
  '😀',
  '\ud800', // a lone surrogate
);

/** A grammar-valid reference with one edit: a character inserted, deleted, replaced or upper-cased. */
export const nearMissReference = fc
  .tuple(
    grammarReference,
    fc.nat(),
    fc.constantFrom('insert', 'delete', 'replace', 'upper', 'double'),
    trickyCharacter,
  )
  .map(([reference, position, edit, character]) => {
    const at = position % (reference.length + 1);
    switch (edit) {
      case 'insert':
        return reference.slice(0, at) + character + reference.slice(at);
      case 'delete':
        return reference.slice(0, at) + reference.slice(at + 1);
      case 'replace':
        return reference.slice(0, at) + character + reference.slice(at + 1);
      case 'upper':
        return reference.slice(0, at) + reference.slice(at, at + 1).toUpperCase() + reference.slice(at + 1);
      default:
        return reference.slice(0, at) + reference.slice(at) + reference.slice(at);
    }
  });

/** Strings with no regard for the grammar: any code units, graphemes, control characters. */
export const noise = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({ unit: charsOf(':/@._-aA0'), maxLength: 30 }),
);

/** Long repetitions of the grammar's repeating pieces, up to 200,000 characters. */
export const hugeReference = fc
  .tuple(
    fc.constantFrom('a/', 'a.', 'a-', 'a__', 'A.', 'a', ':', '@', '\0', 'é', 'sha256:'),
    fc.integer({ min: 1_000, max: 100_000 }),
    fc.constantFrom('', ':tag', '@sha256:' + 'a'.repeat(64), '!'),
  )
  .map(([piece, times, end]) => piece.repeat(times) + end);

/** Mostly grammar-valid references and near misses, with some noise. */
export const referenceCandidate = fc.oneof(
  { weight: 4, arbitrary: grammarReference },
  { weight: 4, arbitrary: nearMissReference },
  { weight: 2, arbitrary: noise },
);

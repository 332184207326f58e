// Transcribed from opencontainers/go-digest digest_test.go TestParseDigest
// (https://github.com/opencontainers/go-digest/blob/master/digest_test.go), with the semantics of
// v1.0.0, the version distribution/reference pins: sha256, sha384 and sha512 are registered, blake3 is not.
import { validateDigest } from './digest';

const sha384 =
  'd3fc7881460b7e22e3d172954463dddd7866d17597e7248453c48b3e9d26d9596bf9c4a9cf8072c9d5bad76e19af801d';

describe(validateDigest.name, () => {
  it.each([
    'sha256:e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b',
    `sha384:${sha384}`,
    `sha512:${'f'.repeat(128)}`,
  ])('accepts %s', (digest) => {
    expect(validateDigest(digest)).toBeUndefined();
  });

  it.each<[string, string, ReturnType<typeof validateDigest>]>([
    ['empty', '', 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['whitespace only', '     ', 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['empty hex', 'sha256:', 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['right length, whitespace only', `sha256:${' '.repeat(64)}`, 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['no algorithm', ':', 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['just hex', 'd41d8cd98f00b204e9800998ecf8427e', 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['not hex, and too short', 'sha256:d41d8cd98f00b204e9800m98ecf8427e', 'DIGEST_INVALID_LENGTH'],
    ['too short', 'sha256:abcdef0123456789', 'DIGEST_INVALID_LENGTH'],
    ['too short for sha512', `sha512:${'abcdef0123456789'.repeat(4)}`, 'DIGEST_INVALID_LENGTH'],
    ['unknown algorithm', 'foo:d41d8cd98f00b204e9800998ecf8427e', 'DIGEST_UNSUPPORTED'],
    ['repeated algorithm separators', `sha384__foo+bar:${sha384}`, 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['well-formed, unknown algorithm (.)', `sha384.foo+bar:${sha384}`, 'DIGEST_UNSUPPORTED'],
    ['well-formed, unknown algorithm (_)', `sha384_foo+bar:${sha384}`, 'DIGEST_UNSUPPORTED'],
    ['base64 encoding', 'sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', 'DIGEST_UNSUPPORTED'],
    [
      'upper-case hex',
      'sha256:E58FCF7418D4390DEC8E8FB69D88C06EC07039D651FEDD3AA72AF9972E7D046B',
      'DIGEST_INVALID_CHECKSUM_FORMAT',
    ],
    ['upper-case algorithm', `SHA256:${'f'.repeat(64)}`, 'DIGEST_INVALID_CHECKSUM_FORMAT'],
    ['unregistered in v1.0.0', `blake3:${'a'.repeat(64)}`, 'DIGEST_UNSUPPORTED'],
  ])('rejects %s (%j) with %s', (_description, digest, code) => {
    expect(validateDigest(digest)).toBe(code);
  });
});

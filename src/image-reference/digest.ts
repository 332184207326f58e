import type { ImageReferenceErrorCode } from './image-reference.errors';

/**
 * Digest validation as go-digest v1.0.0 does it, the version distribution/reference pins:
 * https://github.com/opencontainers/go-digest/blob/v1.0.0/digest.go#L103-L117 (Digest.Validate)
 * https://github.com/opencontainers/go-digest/blob/v1.0.0/algorithm.go#L179-L193 (Algorithm.Validate)
 */

/** Hex length of each registered algorithm; only lower-case hex is accepted ("A-F disallowed"). */
const encodedLengths: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);

const anchoredLowerHex = /^[a-f0-9]+$/;

/** go-digest's DigestRegexpAnchored: only consulted to tell a malformed digest from an unknown algorithm. */
const anchoredGoDigest = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestErrorCode = Extract<
  ImageReferenceErrorCode,
  'DIGEST_INVALID_CHECKSUM_FORMAT' | 'DIGEST_INVALID_LENGTH' | 'DIGEST_UNSUPPORTED'
>;

/** Returns why `digest` is not a valid "algorithm:encoded" digest, or undefined when it is. */
export function validateDigest(digest: string): DigestErrorCode | undefined {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon + 1 === digest.length) {
    return 'DIGEST_INVALID_CHECKSUM_FORMAT';
  }
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const expectedLength = encodedLengths.get(algorithm);
  if (expectedLength === undefined) {
    return anchoredGoDigest.test(digest) ? 'DIGEST_UNSUPPORTED' : 'DIGEST_INVALID_CHECKSUM_FORMAT';
  }
  // Go's len() counts bytes, not UTF-16 code units.
  if (Buffer.byteLength(encoded, 'utf8') !== expectedLength) {
    return 'DIGEST_INVALID_LENGTH';
  }
  return anchoredLowerHex.test(encoded) ? undefined : 'DIGEST_INVALID_CHECKSUM_FORMAT';
}

/**
 * Error codes mirror upstream's sentinel errors, so callers can branch on what went wrong.
 * distribution/reference: https://github.com/distribution/reference/blob/v0.6.0/reference.go#L47-L68
 * go-digest:              https://github.com/opencontainers/go-digest/blob/v1.0.0/digest.go#L68-L77
 */
export type ImageReferenceErrorCode =
  /** reference.ErrReferenceInvalidFormat */
  | 'REFERENCE_INVALID_FORMAT'
  /** reference.ErrTagInvalidFormat */
  | 'TAG_INVALID_FORMAT'
  /** reference.ErrDigestInvalidFormat (digest handed to withDigest does not match the grammar) */
  | 'DIGEST_INVALID_FORMAT'
  /** reference.ErrNameContainsUppercase, and ParseNormalizedNamed's "must be lowercase" error */
  | 'NAME_CONTAINS_UPPERCASE'
  /** reference.ErrNameEmpty */
  | 'NAME_EMPTY'
  /** reference.ErrNameTooLong */
  | 'NAME_TOO_LONG'
  /** reference.ErrNameNotCanonical */
  | 'NAME_NOT_CANONICAL'
  /** ParseNormalizedNamed's "cannot specify 64-byte hexadecimal strings" (no sentinel upstream) */
  | 'NAME_IS_IDENTIFIER'
  /** digest.ErrDigestInvalidFormat ("invalid checksum digest format") */
  | 'DIGEST_INVALID_CHECKSUM_FORMAT'
  /** digest.ErrDigestInvalidLength */
  | 'DIGEST_INVALID_LENGTH'
  /** digest.ErrDigestUnsupported */
  | 'DIGEST_UNSUPPORTED';

/** Upstream's error texts, word for word. */
export const imageReferenceErrorMessages: Readonly<Record<ImageReferenceErrorCode, string>> = {
  REFERENCE_INVALID_FORMAT: 'invalid reference format',
  TAG_INVALID_FORMAT: 'invalid tag format',
  DIGEST_INVALID_FORMAT: 'invalid digest format',
  NAME_CONTAINS_UPPERCASE: 'repository name must be lowercase',
  NAME_EMPTY: 'repository name must have at least one component',
  NAME_TOO_LONG: 'repository name must not be more than 255 characters',
  NAME_NOT_CANONICAL: 'repository name must be canonical',
  NAME_IS_IDENTIFIER: 'invalid repository name, cannot specify 64-byte hexadecimal strings',
  DIGEST_INVALID_CHECKSUM_FORMAT: 'invalid checksum digest format',
  DIGEST_INVALID_LENGTH: 'invalid checksum digest length',
  DIGEST_UNSUPPORTED: 'unsupported digest algorithm',
};

/** The only error the image-reference parsers throw. `input` is the string the caller passed in. */
export class InvalidImageReferenceError extends Error {
  override readonly name = 'InvalidImageReferenceError';

  constructor(
    readonly code: ImageReferenceErrorCode,
    readonly input: string,
    message: string = imageReferenceErrorMessages[code],
  ) {
    super(message);
  }
}

import { validateDigest } from './digest';
import {
  imageReferenceErrorMessages,
  InvalidImageReferenceError,
  type ImageReferenceErrorCode,
} from './image-reference.errors';
import {
  anchoredDigestRegexp,
  anchoredNameRegexp,
  anchoredTagRegexp,
  referenceRegexp,
} from './reference-grammar';

/**
 * A parsed image reference: `domain/path[:tag][@digest]`.
 *
 * `domain` is '' only when a non-normalized parse found no domain (e.g. `parseReference('ubuntu')`).
 * A digest-only reference from `parseAnyReference` has both `domain` and `path` set to ''.
 */
export interface ImageReference {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Upstream's RepositoryNameTotalLengthMax (formerly NameTotalLengthMax), applied to the path only. */
export const repositoryNameTotalLengthMax = 255;

export function createReference(domain: string, path: string, tag?: string, digest?: string): ImageReference {
  return Object.freeze({
    domain,
    path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  });
}

/**
 * Go's strings.ToLower maps rune by rune (simple case mapping). JavaScript's toLowerCase differs only
 * where the full mapping is longer: U+0130 (İ) becomes "i̇" instead of "i". That matters when the
 * lower-cased string is matched against the ASCII grammar, as Parse does to detect upper case.
 */
export function toLowerLikeGo(s: string): string {
  return s.replace(/\u0130/g, 'i').toLowerCase();
}

/**
 * Runs `parse`, turning a regexp engine stack overflow into an InvalidImageReferenceError. The grammar
 * is linear, but V8 keeps a backtrack entry per repetition and gives up past a few million characters,
 * where Go's RE2 would not; such inputs are reported as invalid rather than crashing the caller.
 */
export function parseWithinEngineLimits<T>(
  input: string,
  parse: () => T,
  code: ImageReferenceErrorCode = 'REFERENCE_INVALID_FORMAT',
): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) {
      const message = `${imageReferenceErrorMessages[code]}: too long to parse (${input.length} characters)`;
      throw new InvalidImageReferenceError(code, input, message);
    }
    throw error;
  }
}

/**
 * Port of reference.Parse: https://github.com/distribution/reference/blob/v0.6.0/reference.go#L186-L231
 * Errors are reported against `input`, so normalization can parse a rewritten string and still name
 * what the user wrote.
 */
export function parseReferenceReportingAs(s: string, input: string): ImageReference {
  if (s === '') {
    throw new InvalidImageReferenceError('NAME_EMPTY', input);
  }
  const match = referenceRegexp.exec(s);
  if (match === null) {
    const lower = toLowerLikeGo(s);
    if (lower !== s && referenceRegexp.test(lower)) {
      throw new InvalidImageReferenceError('NAME_CONTAINS_UPPERCASE', input);
    }
    throw new InvalidImageReferenceError('REFERENCE_INVALID_FORMAT', input);
  }
  const [, name, tag, digest] = match as unknown as [string, string, string | undefined, string | undefined];

  // The name grammar is the same in both expressions, so this always matches; upstream keeps the
  // fallback to a domain-less name all the same.
  const nameMatch = anchoredNameRegexp.exec(name);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch?.[2] ?? name;

  // Upstream measures the path, not the whole name, since v0.6.0:
  // https://github.com/distribution/reference/blob/v0.6.0/reference.go#L209
  if (path.length > repositoryNameTotalLengthMax) {
    throw new InvalidImageReferenceError('NAME_TOO_LONG', input);
  }
  if (digest !== undefined) {
    const digestError = validateDigest(digest);
    if (digestError !== undefined) {
      throw new InvalidImageReferenceError(digestError, input);
    }
  }
  return createReference(domain, path, tag, digest);
}

/** Parses `s` exactly as written, without adding docker.io or library/ (upstream reference.Parse). */
export function parseReference(s: string): ImageReference {
  return parseWithinEngineLimits(s, () => parseReferenceReportingAs(s, s));
}

/** `domain/path`, or just `path` when there is no domain (upstream Named.Name()). */
export function referenceName(ref: ImageReference): string {
  return ref.domain === '' ? ref.path : `${ref.domain}/${ref.path}`;
}

/** `name[:tag][@digest]`; a digest-only reference prints as its digest (upstream Reference.String()). */
export function formatReference(ref: ImageReference): string {
  const name = referenceName(ref);
  if (name === '') {
    return ref.digest ?? '';
  }
  return (
    name + (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`)
  );
}

/**
 * Upstream WithTag: replaces the tag, keeping any digest.
 * https://github.com/distribution/reference/blob/v0.6.0/reference.go#L268-L290
 */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!anchoredTagRegexp.test(tag)) {
    throw new InvalidImageReferenceError('TAG_INVALID_FORMAT', tag);
  }
  // Upstream only accepts a Named here; a digest-only reference has no name to tag.
  if (ref.path === '') {
    throw new InvalidImageReferenceError('NAME_EMPTY', formatReference(ref));
  }
  return createReference(ref.domain, ref.path, tag, ref.digest);
}

/**
 * Upstream WithDigest: replaces the digest, keeping any tag. As upstream, the digest is checked
 * against the reference grammar only, not go-digest's stricter rules.
 * https://github.com/distribution/reference/blob/v0.6.0/reference.go#L294-L316
 */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  const matches = parseWithinEngineLimits(
    digest,
    () => anchoredDigestRegexp.test(digest),
    'DIGEST_INVALID_FORMAT',
  );
  if (!matches) {
    throw new InvalidImageReferenceError('DIGEST_INVALID_FORMAT', digest);
  }
  if (ref.path === '') {
    throw new InvalidImageReferenceError('NAME_EMPTY', formatReference(ref));
  }
  return createReference(ref.domain, ref.path, ref.tag, digest);
}

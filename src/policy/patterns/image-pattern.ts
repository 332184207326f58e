import {
  ImageReference,
  InvalidImageReferenceError,
  parseNormalizedReference,
  withDefaultTag,
} from '../../image-reference';
import { CompiledGlob, compileGlob, globMatches, pathGlobSource, segmentGlobSource } from './glob';

// Wildcards are swapped for tokens that are valid in every part of a reference, so that a pattern is
// parsed and normalized by the very parser that parses images: `myorg/*` becomes
// `docker.io/myorg/*` for the same reason `myorg/app` becomes `docker.io/myorg/app`.
const GLOBSTAR_TOKEN = '0kibglobstar0';
const STAR_TOKEN = '0kibstar0';
const DOCKER_HUB = 'docker.io';
const OFFICIAL_PREFIX = 'library/';

export class InvalidImagePatternError extends Error {
  override name = 'InvalidImagePatternError';
}

const restoreWildcards = (text: string): string =>
  text.replaceAll(GLOBSTAR_TOKEN, '**').replaceAll(STAR_TOKEN, '*');

/**
 * An image pattern from the policy: `registry.example.com/**`, `nginx`, `myorg/*`,
 * `gcr.io/distroless/static:nonroot`. It matches the parsed, normalized domain and path of an
 * image, never its string prefix, so `registry.example.com/**` cannot match
 * `registry.example.com.evil.io/x` and `allowed/*` cannot match `allowedmalicious/x`.
 */
export class ImagePattern {
  /** Normalized form, e.g. `docker.io/myorg/*`; shown in explanations. */
  readonly normalized: string;
  private readonly domain: CompiledGlob;
  private readonly path: CompiledGlob;
  private readonly tag?: CompiledGlob;
  private readonly digest?: string;

  constructor(readonly source: string) {
    if (source.includes(GLOBSTAR_TOKEN) || source.includes(STAR_TOKEN) || /\*{3,}/.test(source)) {
      throw new InvalidImagePatternError(`"${source}" is not a valid image pattern`);
    }
    const tokenized = source.replaceAll('**', GLOBSTAR_TOKEN).replaceAll('*', STAR_TOKEN);
    let parsed: ImageReference;
    try {
      parsed = parseNormalizedReference(tokenized);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      throw new InvalidImagePatternError(
        `"${source}" is not a valid image pattern: ${restoreWildcards(error.message)}`,
      );
    }
    const domain = restoreWildcards(parsed.domain).toLowerCase();
    let path = restoreWildcards(parsed.path);
    // `docker.io/**` (or a bare `**`) means all of Docker Hub. Normalization would read the lone
    // component as an official image (`library/**`), silently narrowing a deny list.
    if (domain === DOCKER_HUB && path === `${OFFICIAL_PREFIX}**` && !source.includes(OFFICIAL_PREFIX))
      path = '**';
    if (path.split('/').some((segment) => segment.includes('**') && segment !== '**')) {
      throw new InvalidImagePatternError(
        `"${source}" is not a valid image pattern: ** must be a whole path segment`,
      );
    }
    if (domain.includes('**')) {
      throw new InvalidImagePatternError(
        `"${source}" is not a valid image pattern: ** cannot be used in a registry name`,
      );
    }

    this.domain = compileGlob(domain, segmentGlobSource);
    this.path = compileGlob(path, pathGlobSource);
    const tag = parsed.tag === undefined ? undefined : restoreWildcards(parsed.tag);
    if (tag !== undefined) this.tag = compileGlob(tag, segmentGlobSource);
    this.digest = parsed.digest;
    this.normalized = `${domain}/${path}${tag === undefined ? '' : `:${tag}`}${this.digest === undefined ? '' : `@${this.digest}`}`;
  }

  /**
   * Registry names are compared case-insensitively, as DNS does. An untagged image is compared as
   * `:latest`, the tag it would be pulled with, unless a digest pins it.
   */
  matches(reference: ImageReference): boolean {
    if (
      !globMatches(this.domain, reference.domain.toLowerCase()) ||
      !globMatches(this.path, reference.path)
    ) {
      return false;
    }
    if (this.tag !== undefined) {
      const tag = withDefaultTag(reference).tag;
      if (tag === undefined || !globMatches(this.tag, tag)) return false;
    }
    return this.digest === undefined || reference.digest === this.digest;
  }
}

export const matchesAny = (
  patterns: readonly ImagePattern[],
  reference: ImageReference,
): ImagePattern | undefined => patterns.find((pattern) => pattern.matches(reference));

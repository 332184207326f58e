import {
  ImageReference,
  InvalidImageReferenceError,
  parseNormalizedReference,
  withDefaultTag,
} from '../../image-reference';
import { CompiledGlob, compileGlob, globMatches, pathGlobSource, segmentGlobSource } from './glob';
import { canonicalRegistry, registryIdentity } from './registry-identity';

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
    const written = restoreWildcards(parsed.domain).toLowerCase();
    const domain = canonicalRegistry(written);
    let path = restoreWildcards(parsed.path);
    // Docker Hub named by another of its hosts reads as `docker.io` does: a lone component is an
    // official image (registry-identity.ts), and `**` is all of it.
    if (domain === DOCKER_HUB && written !== DOCKER_HUB && !path.includes('/') && path !== '**')
      path = `${OFFICIAL_PREFIX}${path}`;
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
   * Whether the pattern names this image where naming it denies (`deniedRepositories`): the tag as
   * written counts, so `repo:debug` denies `repo:debug@sha256:…` whatever the digest. Registry
   * names are compared in one spelling (see registry-identity.ts) and, for a registry glob, in
   * the spelling written too: a denial may match more, never less. An untagged image is compared
   * as `:latest`, the tag it would be pulled with, unless a digest pins it.
   */
  matches(reference: ImageReference): boolean {
    return (
      this.namesRepository(reference, 'deny') &&
      this.namesWrittenTag(reference) &&
      this.namesDigest(reference)
    );
  }

  /**
   * Whether the pattern names what the runtime will pull, where naming it lets an image through
   * (`exemptImages`, `allowedRepositories`, `spec.exceptions`). A runtime pulls `repo:tag@digest`
   * by its digest and ignores the tag, so a pattern that names a tag grants such an image only when
   * that digest is what the tag resolves to now: `needs-tag-digest` until the engine has asked the
   * registry (`tagDigest` undefined), then `yes` or `no`. A tag that could not be resolved grants
   * nothing. A pattern naming a digest cannot say for UNKNOWN_DIGEST either.
   */
  grants(reference: ImageReference, tagDigest?: TagDigest): PatternGrant {
    if (!this.namesRepository(reference, 'grant') || !this.namesWrittenTag(reference)) return 'no';
    if (!this.namesDigest(reference)) return reference.digest === UNKNOWN_DIGEST ? 'needs-tag-digest' : 'no';
    if (this.tag === undefined || this.digest !== undefined || reference.digest === undefined) return 'yes';
    if (tagDigest === undefined) return 'needs-tag-digest';
    return tagDigest.digest === reference.digest ? 'yes' : 'no';
  }

  private namesRepository(reference: ImageReference, use: 'grant' | 'deny'): boolean {
    const identity = registryIdentity(reference);
    if (globMatches(this.domain, identity.domain) && globMatches(this.path, identity.path)) return true;
    return (
      use === 'deny' &&
      identity !== reference &&
      globMatches(this.domain, reference.domain.toLowerCase()) &&
      globMatches(this.path, reference.path)
    );
  }

  private namesWrittenTag(reference: ImageReference): boolean {
    if (this.tag === undefined) return true;
    const tag = withDefaultTag(reference).tag;
    return tag !== undefined && globMatches(this.tag, tag);
  }

  private namesDigest(reference: ImageReference): boolean {
    return this.digest === undefined || reference.digest === this.digest;
  }
}

/**
 * The digest of an image not yet pinned, when pinning asks whether any digest could get it
 * admitted: no pattern that names a digest grants or refuses it, they wait. No registry serves it.
 */
export const UNKNOWN_DIGEST = `sha256:${'0'.repeat(64)}`;

/** What the registry said the tag an image names resolves to now; no digest when it could not say. */
export interface TagDigest {
  readonly digest?: string;
}

/** Whether a pattern lets an image through: yes, no, or not until the tag's digest is known. */
export type PatternGrant = 'yes' | 'no' | 'needs-tag-digest';

/** The first pattern that names the image for a denial. */
export const matchesAny = (
  patterns: readonly ImagePattern[],
  reference: ImageReference,
): ImagePattern | undefined => patterns.find((pattern) => pattern.matches(reference));

/** Which of the patterns lets the image through, if any, or whether that waits on the tag's digest. */
export type PatternsGrant =
  | { readonly grant: 'yes'; readonly pattern: ImagePattern }
  | { readonly grant: 'no' }
  | { readonly grant: 'needs-tag-digest' };

const GRANTS_NOTHING: PatternsGrant = { grant: 'no' };
const WAITS_ON_TAG_DIGEST: PatternsGrant = { grant: 'needs-tag-digest' };

/** The first pattern that grants the image; a pattern that cannot say yet makes the answer wait. */
export function grantingPattern(
  patterns: readonly ImagePattern[],
  reference: ImageReference,
  tagDigest?: TagDigest,
): PatternsGrant {
  let waits = false;
  for (const pattern of patterns) {
    const grant = pattern.grants(reference, tagDigest);
    if (grant === 'yes') return { grant, pattern };
    if (grant === 'needs-tag-digest') waits = true;
  }
  return waits ? WAITS_ON_TAG_DIGEST : GRANTS_NOTHING;
}

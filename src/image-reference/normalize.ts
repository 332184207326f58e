import { InvalidImageReferenceError } from './image-reference.errors';
import {
  createReference,
  formatReference,
  parseReferenceReportingAs,
  parseWithinEngineLimits,
  referenceName,
  toLowerLikeGo,
  withTag,
  type ImageReference,
} from './image-reference';
import { validateDigest } from './digest';
import { anchoredIdentifierRegexp, localhost } from './reference-grammar';

/**
 * Docker Hub normalization, ported from distribution/reference v0.6.0:
 * https://github.com/distribution/reference/blob/v0.6.0/normalize.go
 * https://github.com/distribution/reference/blob/v0.6.0/helpers.go
 */

/** The "Docker Index" domain, still accepted and rewritten to docker.io. */
const legacyDefaultDomain = 'index.docker.io';
const defaultDomain = 'docker.io';
const officialRepoPrefix = 'library/';
const defaultTag = 'latest';

/**
 * Upstream splitDockerDomain: the first path component is a domain only if it is `localhost`,
 * contains `.` or `:`, or has upper case (repository paths cannot). A single component is always a
 * Docker Hub official image, even `localhost` or `example.com` (an upstream FIXME we keep).
 * https://github.com/distribution/reference/blob/v0.6.0/normalize.go#L126-L171
 */
function splitDockerDomain(name: string): [domain: string, remoteName: string] {
  const slash = name.indexOf('/');
  if (slash === -1) {
    return [defaultDomain, officialRepoPrefix + name];
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemoteName = name.slice(slash + 1);

  let domain: string;
  let remoteName: string;
  if (maybeDomain === localhost) {
    [domain, remoteName] = [maybeDomain, maybeRemoteName];
  } else if (maybeDomain === legacyDefaultDomain) {
    [domain, remoteName] = [defaultDomain, maybeRemoteName];
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    [domain, remoteName] = [maybeDomain, maybeRemoteName];
  } else if (toLowerLikeGo(maybeDomain) !== maybeDomain) {
    [domain, remoteName] = [maybeDomain, maybeRemoteName];
  } else {
    [domain, remoteName] = [defaultDomain, name];
  }

  if (domain === defaultDomain && !remoteName.includes('/')) {
    remoteName = officialRepoPrefix + remoteName;
  }
  return [domain, remoteName];
}

function parseNormalized(s: string): ImageReference {
  if (anchoredIdentifierRegexp.test(s)) {
    throw new InvalidImageReferenceError(
      'NAME_IS_IDENTIFIER',
      s,
      `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSeparator = remainder.indexOf(':');
  const remote = tagSeparator > -1 ? remainder.slice(0, tagSeparator) : remainder;
  if (toLowerLikeGo(remote) !== remote) {
    throw new InvalidImageReferenceError(
      'NAME_CONTAINS_UPPERCASE',
      s,
      `invalid reference format: repository name (${remote}) must be lowercase`,
    );
  }
  return parseReferenceReportingAs(`${domain}/${remainder}`, s);
}

/**
 * Parses a name as `docker pull` understands it: `ubuntu` is `docker.io/library/ubuntu`,
 * `index.docker.io/x` is `docker.io/library/x` (upstream ParseNormalizedNamed). No default tag is
 * added; see withDefaultTag. A bare 64-hex identifier is refused; use parseAnyReference for those.
 */
export function parseNormalizedReference(s: string): ImageReference {
  return parseWithinEngineLimits(s, () => parseNormalized(s));
}

/**
 * Accepts a bare sha256 identifier or a full digest as a digest-only reference (domain and path ''),
 * and anything else as parseNormalizedReference does (upstream ParseAnyReference).
 */
export function parseAnyReference(s: string): ImageReference {
  return parseWithinEngineLimits(s, () => {
    if (anchoredIdentifierRegexp.test(s)) {
      return createReference('', '', undefined, `sha256:${s}`);
    }
    if (validateDigest(s) === undefined) {
      return createReference('', '', undefined, s);
    }
    return parseNormalized(s);
  });
}

/**
 * Accepts only references already written in canonical form, e.g. `docker.io/library/ubuntu`
 * but not `ubuntu` (upstream ParseNamed, which lives in reference.go but normalizes first).
 */
export function parseCanonicalReference(s: string): ImageReference {
  const ref = parseNormalizedReference(s);
  if (formatReference(ref) !== s) {
    throw new InvalidImageReferenceError('NAME_NOT_CANONICAL', s);
  }
  return ref;
}

/** Adds the `latest` tag only when the reference has neither tag nor digest (upstream TagNameOnly). */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? withTag(ref, defaultTag) : ref;
}

/**
 * What a container runtime pulls: normalized, `latest` when untagged, and the tag dropped when a
 * digest pins the content anyway (upstream ParseDockerRef).
 */
export function parseDockerReference(s: string): ImageReference {
  const ref = parseNormalizedReference(s);
  if (ref.tag !== undefined && ref.digest !== undefined) {
    return createReference(ref.domain, ref.path, undefined, ref.digest);
  }
  return withDefaultTag(ref);
}

/** Upstream familiarizeName: drops `docker.io/`, and `library/` when nothing is nested below it. */
function familiarize(ref: ImageReference): ImageReference {
  if (ref.domain !== defaultDomain) {
    return ref;
  }
  let path = ref.path;
  if (path.startsWith(officialRepoPrefix)) {
    const remainder = path.slice(officialRepoPrefix.length);
    if (!remainder.includes('/')) {
      path = remainder;
    }
  }
  return createReference('', path, ref.tag, ref.digest);
}

/** The name as the Docker CLI shows it: `ubuntu`, `dmcgowan/myapp`, `gcr.io/x/y` (upstream FamiliarName). */
export function familiarName(ref: ImageReference): string {
  return referenceName(familiarize(ref));
}

/** The full reference as the Docker CLI shows it, e.g. `ubuntu:22.04` (upstream FamiliarString). */
export function familiarString(ref: ImageReference): string {
  return formatReference(familiarize(ref));
}

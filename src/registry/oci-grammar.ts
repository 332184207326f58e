/**
 * What may go into a URL path of the distribution API, checked before any request: a digest or a
 * repository that does not fit its grammar is refused, so a descriptor whose "digest" is
 * `sha256:…/../../other/manifests/…` can never make the bouncer fetch from another repository.
 */

/**
 * The OCI digest grammar: `algorithm ":" encoded`, algorithm components of [a-z0-9] joined by one
 * of `+._-`, encoded of [a-zA-Z0-9=_-]. Neither part can hold `/`, `%` or `..`.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
 */
const OCI_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** The registered sha256 form: 64 lower-case hex. Only sha256 content is hashed and checked here. */
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
/** sha512's encoded part is 128 hex characters; nothing longer fits a registered algorithm. */
const MAX_DIGEST_LENGTH = 'sha512:'.length + 128;

/**
 * The distribution spec's repository name: path components of [a-z0-9] joined by `.`, `_`, `__` or
 * dashes, separated by `/`. Components and separators cannot overlap, so matching is linear.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Clients keep registry, `/` and name within 255 characters; the name alone cannot be longer. */
const MAX_REPOSITORY_LENGTH = 255;

/** The distribution spec's tag: up to 128 of [a-zA-Z0-9_.-], not starting with `.` or `-`. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

const shown = (value: unknown): string =>
  JSON.stringify(typeof value === 'string' ? value.slice(0, 300) : value) ?? String(value);

/** Why `digest` may not name content to fetch, or `undefined` when it is a sha256 OCI digest. */
export function digestProblem(digest: unknown): string | undefined {
  if (typeof digest !== 'string' || digest.length > MAX_DIGEST_LENGTH || !OCI_DIGEST.test(digest))
    return `digest ${shown(digest)} is not an OCI digest`;
  if (!SHA256_DIGEST.test(digest))
    return `digest ${digest} is not sha256, the one algorithm whose content is checked`;
  return undefined;
}

/** Why `repository` is not a repository name, or `undefined` when it is one. */
export function repositoryProblem(repository: unknown): string | undefined {
  if (
    typeof repository !== 'string' ||
    repository.length > MAX_REPOSITORY_LENGTH ||
    !REPOSITORY.test(repository)
  )
    return `repository ${shown(repository)} is not a repository name`;
  return undefined;
}

/** Why `tag` is not a tag, or `undefined` when it is one. */
export function tagProblem(tag: unknown): string | undefined {
  if (typeof tag !== 'string' || !TAG.test(tag)) return `tag ${shown(tag)} is not a tag`;
  return undefined;
}

/**
 * The image reference grammar, ported piece by piece from distribution/reference v0.6.0:
 * https://github.com/distribution/reference/blob/v0.6.0/regexp.go#L40-L164
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain '/'] remote-name
 *   domain           := host [':' port-number]
 *   host             := domain-name | IPv4address | \[ IPv6address \]
 *   domain-name      := domain-component ['.' domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   port-number      := /[0-9]+/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   remote-name      := path-component ['/' path-component]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := digest-algorithm ":" digest-hex
 *   identifier       := /[a-f0-9]{64}/
 *
 * The sources stay plain strings so the composed expressions read like upstream's; they are
 * compiled once, below. JavaScript and Go (RE2) agree on every construct used here: `\w` is
 * ASCII-only without the `u` flag, `$` without `m` matches only at the very end, and capture
 * groups follow the same leftmost-first preference, so "a/b" captures domain "a" in both.
 */

const optional = (...parts: string[]): string => `(?:${parts.join('')})?`;
const anyTimes = (...parts: string[]): string => `(?:${parts.join('')})*`;
const capture = (...parts: string[]): string => `(${parts.join('')})`;
const anchored = (...parts: string[]): string => `^${parts.join('')}$`;

/** Lower-case letters and digits: the atom of path components. */
export const alphanumeric = '[a-z0-9]+';

/** One period, one or two underscores, or any number of dashes. */
export const separator = '(?:[._]|__|[-]+)';

/** Always a domain when it is the first of several components (see normalize.ts). */
export const localhost = 'localhost';

export const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';

export const optionalPort = '(?::[0-9]+)?';

/** From docker/docker graph/tags.go: https://github.com/moby/moby/blob/v1.6.0/graph/tags.go#L26-L28 */
export const tagPattern = '[\\w][\\w.-]{0,127}';

/**
 * Looser than go-digest on purpose, as upstream: upper-case algorithms and hex pass the grammar
 * and are then rejected by the digest validation in digest.ts.
 */
export const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';

/** A bare sha256 content identifier, i.e. a digest without its algorithm. */
export const identifierPattern = '([a-f0-9]{64})';

/** Compressed or uncompressed IPv6 in brackets; zone identifiers and IPv4-mapped forms are excluded. */
export const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';

export const domainName = domainNameComponent + anyTimes('\\.', domainNameComponent);

export const host = `(?:${domainName}|${ipv6address})`;

export const domainAndPort = host + optionalPort;

export const pathComponent = alphanumeric + anyTimes(separator, alphanumeric);

export const remoteName = pathComponent + anyTimes('/', pathComponent);

export const namePattern = optional(domainAndPort, '/') + remoteName;

/** Two groups: domain (absent when there is none) and remote name. */
export const anchoredNamePattern = anchored(optional(capture(domainAndPort), '/'), capture(remoteName));

/** Three groups: name, tag and digest (tag and digest absent when not given). */
export const referencePattern = anchored(
  capture(namePattern),
  optional(':', capture(tagPattern)),
  optional('@', capture(digestPattern)),
);

/** Upstream's ReferenceRegexp: accepts exactly the strings of the reference grammar. */
export const referenceRegexp = new RegExp(referencePattern);
export const anchoredNameRegexp = new RegExp(anchoredNamePattern);
export const anchoredDomainRegexp = new RegExp(anchored(domainAndPort));
export const anchoredTagRegexp = new RegExp(anchored(tagPattern));
export const anchoredDigestRegexp = new RegExp(anchored(digestPattern));
export const anchoredIdentifierRegexp = new RegExp(anchored(identifierPattern));

import type { ImageReference } from '../../image-reference';

/**
 * The registry and repository a reference pulls from, as patterns compare them: one spelling for
 * every name of the same registry. The parser stays identical to distribution/reference, which
 * folds only `index.docker.io` into `docker.io`; what else names the same registry is a matter of
 * matching, and a deny-list must not be walked around by spelling it differently.
 */
export interface RegistryIdentity {
  readonly domain: string;
  readonly path: string;
}

const DOCKER_HUB = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
/**
 * Docker Hub's names: `docker.io` is the familiar one, `index.docker.io` its legacy index and
 * `registry-1.docker.io` the host its registry API answers on (which container runtimes reach when
 * told `docker.io`, and which our registry settings already treat as Docker Hub).
 */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** HTTPS's own port: `host:443` and `host` are one registry to a runtime. */
const HTTPS_PORT = 443n;
/** The port a registry name ends with; an IPv6 literal ends with `]`, so its colons never match. */
const PORT = /:(\d+)$/;

/**
 * The one spelling of a registry name: lower case, its port as a number (Go's net package, under
 * containerd and CRI-O, dials `host:0443` at 443, as the WHATWG URL parser the bouncer connects
 * through does) and without it when it is 443, Docker Hub as `docker.io`.
 */
export function canonicalRegistry(domain: string): string {
  let host = domain.toLowerCase();
  const port = PORT.exec(host);
  if (port) {
    // BigInt keeps any run of digits exact: no two ports that differ read as one.
    const number = BigInt(port[1]);
    host = `${host.slice(0, port.index)}${number === HTTPS_PORT ? '' : `:${number}`}`;
  }
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB : host;
}

/**
 * Where a reference pulls from, in that one spelling. A one-segment repository on Docker Hub is an
 * official image (`registry-1.docker.io/nginx` is `docker.io/library/nginx`): Docker Hub keeps
 * one-segment names for them alone, which is why the parser adds `library/` for `docker.io`.
 */
export function registryIdentity(reference: ImageReference): RegistryIdentity {
  const domain = canonicalRegistry(reference.domain);
  if (domain === reference.domain) return reference;
  const path =
    domain === DOCKER_HUB && !reference.path.includes('/')
      ? `${OFFICIAL_PREFIX}${reference.path}`
      : reference.path;
  return { domain, path };
}

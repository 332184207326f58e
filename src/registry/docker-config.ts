/** A user name and password for one registry, as `config.json` holds them. */
export interface RegistryCredential {
  readonly username: string;
  readonly password: string;
}

export class DockerConfigError extends Error {
  override name = 'DockerConfigError';
}

// Docker Hub's credentials are filed under its legacy index URL; they serve docker.io.
const DOCKER_HUB_KEYS = new Set(['index.docker.io', 'docker.io', 'registry-1.docker.io']);

/** `https://registry.example.com/v1/` and `registry.example.com` name the same registry. */
function registryKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  return DOCKER_HUB_KEYS.has(host) ? 'docker.io' : host;
}

/**
 * The `auths` of a Docker `config.json`, which is also what a `kubernetes.io/dockerconfigjson`
 * Secret holds: `{"auths": {"host[:port]": {"auth": base64("user:password")}}}`, or the
 * `username` and `password` fields beside `auth`. Keyed by registry host[:port].
 */
export function parseDockerConfig(text: string, source: string): ReadonlyMap<string, RegistryCredential> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DockerConfigError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const auths = (json as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    throw new DockerConfigError(`${source} has no "auths" object`);
  const credentials = new Map<string, RegistryCredential>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const fields = (entry ?? {}) as { auth?: unknown; username?: unknown; password?: unknown };
    let credential: RegistryCredential | undefined;
    if (typeof fields.auth === 'string' && fields.auth !== '') {
      const decoded = Buffer.from(fields.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0)
        throw new DockerConfigError(`${source}: auths["${key}"].auth is not base64 of user:password`);
      credential = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof fields.username === 'string' && typeof fields.password === 'string') {
      credential = { username: fields.username, password: fields.password };
    }
    if (credential) credentials.set(registryKey(key), credential);
  }
  return credentials;
}

/** The credential filed for `registry` (a reference's domain, e.g. `docker.io` or `127.0.0.1:5000`). */
export function credentialFor(
  credentials: ReadonlyMap<string, RegistryCredential>,
  registry: string,
): RegistryCredential | undefined {
  return credentials.get(registryKey(registry));
}

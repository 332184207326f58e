import { rootCertificates } from 'node:tls';
import { RegistryCredential, credentialFor } from './docker-config';

/** What the policy says about reaching one registry, or a glob of them, read and checked at load. */
export interface RegistryHostSettings {
  /** As written: `registry.example.com`, `*.example.com`, `127.0.0.1:5000`. */
  readonly host: string;
  readonly insecure: boolean;
  readonly caFile?: string;
  /** Extra CA certificates, PEM, trusted beside the system's for this registry. */
  readonly caPem?: string;
  readonly credentialsFile?: string;
  readonly credentials?: ReadonlyMap<string, RegistryCredential>;
}

/** How to reach a registry for one request: its base URL, trust, and credentials if any. */
export interface RegistryAccess {
  /** The reference's domain, as metrics and messages name the registry. */
  readonly registry: string;
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  readonly baseUrl: string;
  readonly insecure: boolean;
  /** Root certificates for TLS: the system's plus the entry's; absent means the system's alone. */
  readonly ca?: readonly string[];
  readonly credential?: RegistryCredential;
  /** Whether the policy lists a host: only a listed host may serve a token realm on a private address. */
  readonly policyLists: (host: string) => boolean;
}

// docker.io is a name, not a host: its registry API lives at registry-1.docker.io.
// https://github.com/distribution/reference/blob/main/normalize.go (legacyDefaultDomain)
const DOCKER_HUB_API = 'registry-1.docker.io';

const hostGlob = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^.:/]*')}$`,
    'i',
  );

/**
 * The policy's `spec.registries`, ready to answer "how do I reach this registry?". An exact host
 * wins over a glob; among globs, the first listed wins. An unlisted registry is reached over HTTPS
 * with the system's CAs and no credentials: plain HTTP is never a default.
 */
export class RegistrySettings {
  private readonly exact = new Map<string, RegistryHostSettings>();
  private readonly globs: { pattern: RegExp; settings: RegistryHostSettings }[] = [];

  constructor(readonly entries: readonly RegistryHostSettings[]) {
    for (const entry of entries) {
      if (entry.host.includes('*')) this.globs.push({ pattern: hostGlob(entry.host), settings: entry });
      else if (!this.exact.has(entry.host.toLowerCase())) this.exact.set(entry.host.toLowerCase(), entry);
    }
  }

  /** The entry that governs `host` (host[:port]), if the policy lists one. */
  entryFor(host: string): RegistryHostSettings | undefined {
    const key = host.toLowerCase();
    return this.exact.get(key) ?? this.globs.find(({ pattern }) => pattern.test(key))?.settings;
  }

  accessFor(registry: string): RegistryAccess {
    const apiHost = registry === 'docker.io' ? DOCKER_HUB_API : registry;
    const entry = this.entryFor(registry);
    return {
      registry,
      baseUrl: `${entry?.insecure ? 'http' : 'https'}://${apiHost}`,
      insecure: entry?.insecure ?? false,
      ca: entry?.caPem ? [...rootCertificates, entry.caPem] : undefined,
      credential: entry?.credentials ? credentialFor(entry.credentials, registry) : undefined,
      policyLists: (host) => this.entryFor(host) !== undefined,
    };
  }
}

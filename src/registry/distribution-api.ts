import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { digestProblem, repositoryProblem, tagProblem } from './oci-grammar';
import { RegistryAuth } from './registry-auth';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure } from './registry-failure';
import { RegistryOperation } from './registry-observer';
import { RegistryAccess } from './registry-settings';
import { RegistryResponse, RegistryTransport } from './registry-transport';

/**
 * Every manifest media type a tag may resolve to. Distribution 2.8 answers 404 for an index unless
 * it is asked for, so all four always go out.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

/** Distribution refuses manifests above 4 MiB; nothing larger is read. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** What every call names: how to reach the registry, the repository in it, and the review's deadline. */
export interface RepositoryCall {
  readonly access: RegistryAccess;
  readonly repository: string;
  readonly deadline: RegistryDeadline;
}

/** A call about a tag of the repository. */
export interface TagCall extends RepositoryCall {
  readonly tag: string;
}

/** A call about content of the repository, named by its digest. */
export interface DigestCall extends RepositoryCall {
  readonly digest: string;
}

/** A blob, read only up to `maxBytes`. */
export interface BlobCall extends DigestCall {
  readonly maxBytes: number;
}

export interface ManifestDescriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: unknown;
}

/** A manifest fetched by digest, whose bytes were checked against it. */
export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly json: {
    readonly mediaType?: string;
    readonly artifactType?: string;
    readonly config?: ManifestDescriptor;
    readonly layers?: readonly ManifestDescriptor[];
    readonly manifests?: readonly ManifestDescriptor[];
    readonly subject?: ManifestDescriptor;
    readonly annotations?: Readonly<Record<string, string>>;
  };
}

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * What goes into a URL path, checked before any request: the repository always, then the tag or
 * the digest. A digest from a registry's own answer (a referrers entry, a layer) is hostile too.
 */
function checkPath(
  call: { repository: unknown; tag?: unknown; digest?: unknown },
  name: 'tag' | 'digest',
): void {
  const problem =
    repositoryProblem(call.repository) ??
    (name === 'tag' ? tagProblem(call.tag) : digestProblem(call.digest));
  if (problem !== undefined) throw new RegistryFailure('invalid response', problem);
}

const sha256Of = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Exchange {
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly accept: string;
  readonly operation: RegistryOperation;
}

/**
 * The OCI distribution API: tags, manifests by digest, blobs and referrers, each authenticated as
 * the registry asks and each failure named. It caches nothing: what registry content may be cached,
 * and for how long, is for its callers to decide.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 */
export class DistributionApi {
  constructor(
    private readonly transport: RegistryTransport,
    private readonly auth: RegistryAuth,
  ) {}

  /** The digest a tag points at now: `Docker-Content-Digest` of a HEAD, or the hash of a GET's body. */
  async resolveTag({
    access,
    repository,
    tag,
    deadline,
  }: TagCall): Promise<{ digest: string; mediaType?: string }> {
    checkPath({ repository, tag }, 'tag');
    const path = `/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
    const head = await this.exchange(access, repository, deadline, {
      method: 'HEAD',
      path,
      accept: MANIFEST_MEDIA_TYPES.join(', '),
      operation: 'resolve',
    });
    const digest = head.headers.get('docker-content-digest') ?? undefined;
    const mediaType = head.headers.get('content-type') ?? undefined;
    if (digest !== undefined && SHA256_DIGEST.test(digest)) return { digest, mediaType };
    // Some registries leave the header out of HEAD answers; the body's hash is the digest.
    const manifest = await this.fetchManifest(access, repository, tag, deadline);
    return { digest: manifest.digest, mediaType: manifest.mediaType };
  }

  /** A manifest by digest, checked against it: the registry's word is not proof. */
  async getManifest({ access, repository, digest, deadline }: DigestCall): Promise<FetchedManifest> {
    checkPath({ repository, digest }, 'digest');
    const manifest = await this.fetchManifest(access, repository, digest, deadline);
    if (manifest.digest !== digest)
      throw new RegistryFailure(
        'invalid response',
        `manifest ${repository}@${digest} has the content of ${manifest.digest}`,
      );
    return manifest;
  }

  /**
   * The manifest a tag names, or `undefined` when the tag does not exist: for the tags cosign writes
   * beside an image (`sha256-<hex>.sig`), absent is an answer, not a failure.
   */
  async getTaggedManifest({
    access,
    repository,
    tag,
    deadline,
  }: TagCall): Promise<FetchedManifest | undefined> {
    checkPath({ repository, tag }, 'tag');
    try {
      return await this.fetchManifest(access, repository, tag, deadline);
    } catch (error) {
      if (error instanceof RegistryFailure && error.reason === 'not found') return undefined;
      throw error;
    }
  }

  /** A blob by digest, at most `maxBytes`, checked against its digest. */
  async getBlob({ access, repository, digest, maxBytes, deadline }: BlobCall): Promise<Buffer> {
    checkPath({ repository, digest }, 'digest');
    const response = await this.exchange(access, repository, deadline, {
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      accept: '*/*',
      operation: 'blob',
    });
    const bytes = await this.transport.read(
      response,
      maxBytes,
      `blob ${repository}@${digest}`,
      deadline,
      'blob',
    );
    if (sha256Of(bytes) !== digest)
      throw new RegistryFailure('invalid response', `blob ${repository}@${digest} does not match its digest`);
    return bytes;
  }

  /**
   * The artifacts that name `digest` as their subject: the OCI 1.1 referrers API, or, where the
   * registry has none (distribution 2.8), the fallback tag `sha256-<hex>` that clients keep as an
   * index of the same artifacts. Absent either way is an empty list.
   * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
   */
  async listReferrers({
    access,
    repository,
    digest,
    deadline,
  }: DigestCall): Promise<readonly ManifestDescriptor[]> {
    checkPath({ repository, digest }, 'digest');
    try {
      const response = await this.exchange(access, repository, deadline, {
        method: 'GET',
        path: `/v2/${repository}/referrers/${digest}`,
        accept: 'application/vnd.oci.image.index.v1+json',
        operation: 'referrers',
      });
      const type = response.headers.get('content-type') ?? '';
      if (type.startsWith('application/vnd.oci.image.index.v1+json')) {
        const bytes = await this.transport.read(
          response,
          MAX_MANIFEST_BYTES,
          'referrers',
          deadline,
          'referrers',
        );
        let index: unknown;
        try {
          index = JSON.parse(bytes.toString('utf8'));
        } catch {
          index = undefined;
        }
        if (typeof index !== 'object' || index === null)
          throw new RegistryFailure(
            'invalid response',
            `referrers of ${repository}@${digest} is not a JSON object`,
          );
        const { manifests } = index as { manifests?: unknown };
        return Array.isArray(manifests) ? (manifests as ManifestDescriptor[]) : [];
      }
      await this.transport.discard(response);
    } catch (error) {
      if (!(error instanceof RegistryFailure && error.reason === 'not found')) throw error;
    }
    const fallback = await this.getTaggedManifest({
      access,
      repository,
      tag: digest.replace(':', '-'),
      deadline,
    });
    const manifests = fallback?.json.manifests;
    return Array.isArray(manifests) ? (manifests as readonly ManifestDescriptor[]) : [];
  }

  private async fetchManifest(
    access: RegistryAccess,
    repository: string,
    reference: string,
    deadline: RegistryDeadline,
  ): Promise<FetchedManifest> {
    const response = await this.exchange(access, repository, deadline, {
      method: 'GET',
      // Both were checked against their grammars; a tag is encoded all the same, a digest needs no encoding.
      path: `/v2/${repository}/manifests/${digestProblem(reference) === undefined ? reference : encodeURIComponent(reference)}`,
      accept: MANIFEST_MEDIA_TYPES.join(', '),
      operation: 'manifest',
    });
    const bytes = await this.transport.read(
      response,
      MAX_MANIFEST_BYTES,
      `manifest ${repository}:${reference}`,
      deadline,
      'manifest',
    );
    let json: FetchedManifest['json'];
    try {
      json = JSON.parse(bytes.toString('utf8')) as FetchedManifest['json'];
    } catch {
      throw new RegistryFailure('invalid response', `manifest ${repository}:${reference} is not JSON`);
    }
    if (typeof json !== 'object' || json === null)
      throw new RegistryFailure('invalid response', `manifest ${repository}:${reference} is not an object`);
    const mediaType = json.mediaType ?? response.headers.get('content-type') ?? '';
    return { digest: sha256Of(bytes), mediaType, bytes, json };
  }

  /** One exchange, authenticated as the registry asks: at most one 401 answered, one 429 waited out. */
  private async exchange(
    access: RegistryAccess,
    repository: string,
    deadline: RegistryDeadline,
    exchange: Exchange,
  ): Promise<RegistryResponse> {
    const scope = `repository:${repository}:pull`;
    let authorization = this.auth.knownAuthorization(access, scope);
    let answeredChallenge = false;
    let waitedForRateLimit = false;
    for (;;) {
      // Every read may be redirected, each hop through the guard: blob storage on another host is
      // the common case (Docker Hub's and ECR's CDNs), and registry.k8s.io redirects manifests too.
      const response = await this.transport.send({
        access,
        url: `${access.baseUrl}${exchange.path}`,
        hop: 'registry',
        method: exchange.method,
        headers: { Accept: exchange.accept, ...(authorization ? { Authorization: authorization } : {}) },
        operation: exchange.operation,
        deadline,
        followRedirects: true,
      });
      if (response.ok) return response;
      await this.transport.discard(response);
      const what = `HTTP ${response.status} for ${exchange.method} ${exchange.path}`;
      // Only the registry's own challenge is answered: a host it redirected to gets no credentials.
      const fromRegistry = new URL(response.url).origin === new URL(access.baseUrl).origin;
      if (response.status === 401 && !answeredChallenge && fromRegistry) {
        answeredChallenge = true;
        this.auth.forget(access, scope);
        authorization = await this.auth.answerChallenge(
          access,
          scope,
          response.headers.get('www-authenticate'),
          deadline,
        );
        continue;
      }
      if (response.status === 401 || response.status === 403) throw new RegistryFailure('unauthorized', what);
      if (response.status === 404) throw new RegistryFailure('not found', what);
      if (response.status === 429) {
        const waitMs = retryAfterMs(response.headers.get('retry-after'));
        // Honoured only inside the admission deadline; past it, rate limiting is the answer.
        if (!waitedForRateLimit && waitMs !== undefined && Date.now() + waitMs < deadline.deadlineAt) {
          waitedForRateLimit = true;
          await delay(waitMs, undefined, { signal: deadline.signal }).catch(() => undefined);
          if (deadline.signal.aborted)
            throw new RegistryFailure('timed out', `${what}; Retry-After outlasted the deadline`);
          continue;
        }
        throw new RegistryFailure('rate limited', what);
      }
      if (response.status >= 500) throw new RegistryFailure('unreachable', what);
      throw new RegistryFailure('invalid response', what);
    }
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(at - Date.now(), 0);
}

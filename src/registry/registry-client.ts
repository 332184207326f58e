import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, Dispatcher, fetch } from 'undici';
import { BoundedTtlCache, CacheEvent } from '../cache/bounded-ttl-cache';
import { InFlight, untilAborted } from '../cache/in-flight';
import { RegistryCredential } from './docker-config';
import { RealmVerdict, judgeRealm, publicAddressLookup } from './realm-guard';
import { RegistryFailure, RegistryFailureReason } from './registry-failure';
import { RegistryAccess } from './registry-settings';
import { AuthChallenge, parseWwwAuthenticate } from './www-authenticate';

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
/** Token servers answer in a few kilobytes. */
const MAX_TOKEN_BYTES = 64 * 1024;
/** The Docker token spec's default when a token server does not say. */
const DEFAULT_TOKEN_SECONDS = 60;
/** Reuse a token for a little less than its life, so it does not expire on the wire. */
const TOKEN_MARGIN_SECONDS = 5;
const MAX_TOKENS = 1_000;

export type RegistryOperation = 'resolve' | 'manifest' | 'blob' | 'referrers' | 'token';

/** One HTTP exchange with a registry or its token server, as metrics count it. */
export interface RegistryRequestEvent {
  readonly registry: string;
  readonly operation: RegistryOperation;
  /** `ok`, or why it failed. */
  readonly outcome: 'ok' | RegistryFailureReason;
  readonly seconds: number;
}

export interface RegistryObserver {
  request(event: RegistryRequestEvent): void;
  cache(cache: string, event: CacheEvent): void;
}

/** What a caller gives every call: when to give up, and the moment it will, for Retry-After. */
export interface RegistryDeadline {
  readonly signal: AbortSignal;
  readonly deadlineAt: number;
}

/**
 * A review's deadline, `ms` from now. Its signal, and the timer behind it, is made when something
 * first reads it, which only a registry request or a wait for one does: a review answered from the
 * caches arms no timer. An eager AbortSignal.timeout cost about 15 µs a review on this project's
 * bench machine (each keeps a timer, weakly tracked, for the whole budget: 3 s of them at 2,000
 * reviews/s), more than the cached answers themselves. The signal aborts at the moment an eager one
 * would, with the same TimeoutError.
 */
export function registryDeadline(ms: number): RegistryDeadline {
  const deadlineAt = Date.now() + ms;
  let signal: AbortSignal | undefined;
  return {
    deadlineAt,
    get signal(): AbortSignal {
      if (signal === undefined) {
        const left = deadlineAt - Date.now();
        signal =
          left > 0
            ? AbortSignal.timeout(left)
            : AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      }
      return signal;
    },
  };
}

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
const sha256Of = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Exchange {
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly accept: string;
  readonly operation: RegistryOperation;
  /** Blob storage commonly redirects to a CDN; manifests and tags are served by the registry itself. */
  readonly followRedirects?: boolean;
}

/**
 * The one client for the OCI distribution API. It knows the protocol (tags, manifests by digest,
 * blobs, referrers), authentication (Basic, and Bearer tokens reused per registry and scope until
 * they expire, their realms checked), and how each failure is named. It caches only tokens: what
 * registry content may be cached, and for how long, is for its callers to decide.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 */
@Injectable()
export class RegistryClient implements OnModuleDestroy {
  private readonly tokens = new BoundedTtlCache<string, string>({ name: 'token', maxEntries: MAX_TOKENS });
  private readonly tokenRequests = new InFlight<string, string>();
  /** Registries that asked for Basic credentials: sent at once next time, saving a 401. */
  private readonly basicRegistries = new Set<string>();
  private readonly agents = new Map<string, Agent>();
  private readonly observers: RegistryObserver[] = [];

  constructor() {
    this.tokens.onEvent((cache, event) => this.reportCacheEvent(cache, event));
  }

  observe(observer: RegistryObserver): void {
    this.observers.push(observer);
  }

  /** Caches kept over this client's answers report through it, so observers see them all. */
  reportCacheEvent(cache: string, event: CacheEvent): void {
    for (const observer of this.observers) observer.cache(cache, event);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
    this.agents.clear();
  }

  /** The digest a tag points at now: `Docker-Content-Digest` of a HEAD, or the hash of a GET's body. */
  async resolveTag({
    access,
    repository,
    tag,
    deadline,
  }: TagCall): Promise<{ digest: string; mediaType?: string }> {
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
    try {
      return await this.fetchManifest(access, repository, tag, deadline);
    } catch (error) {
      if (error instanceof RegistryFailure && error.reason === 'not found') return undefined;
      throw error;
    }
  }

  /** A blob by digest, at most `maxBytes`, checked against its digest. */
  async getBlob({ access, repository, digest, maxBytes, deadline }: BlobCall): Promise<Buffer> {
    if (!SHA256_DIGEST.test(digest))
      throw new RegistryFailure('invalid response', `blob digest ${JSON.stringify(digest)} is not sha256`);
    const response = await this.exchange(access, repository, deadline, {
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      accept: '*/*',
      operation: 'blob',
      followRedirects: true,
    });
    const bytes = await readLimited(response, maxBytes, `blob ${repository}@${digest}`);
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
    try {
      const response = await this.exchange(access, repository, deadline, {
        method: 'GET',
        path: `/v2/${repository}/referrers/${digest}`,
        accept: 'application/vnd.oci.image.index.v1+json',
        operation: 'referrers',
      });
      const type = response.headers.get('content-type') ?? '';
      if (type.startsWith('application/vnd.oci.image.index.v1+json')) {
        const bytes = await readLimited(response, MAX_MANIFEST_BYTES, 'referrers');
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
      await response.body?.cancel();
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
      path: `/v2/${repository}/manifests/${reference.includes(':') ? reference : encodeURIComponent(reference)}`,
      accept: MANIFEST_MEDIA_TYPES.join(', '),
      operation: 'manifest',
    });
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, `manifest ${repository}:${reference}`);
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
  ): Promise<Awaited<ReturnType<typeof fetch>>> {
    const scope = `repository:${repository}:pull`;
    let authorization = this.knownAuthorization(access, scope);
    let answeredChallenge = false;
    let waitedForRateLimit = false;
    for (;;) {
      const response = await this.timed(access.registry, exchange.operation, () =>
        fetch(`${access.baseUrl}${exchange.path}`, {
          method: exchange.method,
          headers: { Accept: exchange.accept, ...(authorization ? { Authorization: authorization } : {}) },
          redirect: exchange.followRedirects ? 'follow' : 'error',
          signal: deadline.signal,
          dispatcher: this.agentFor(access.ca),
        }),
      );
      if (response.ok) return response;
      await response.body?.cancel();
      const what = `HTTP ${response.status} for ${exchange.method} ${exchange.path}`;
      if (response.status === 401 && !answeredChallenge) {
        answeredChallenge = true;
        // A token the registry no longer takes is forgotten, not offered again.
        this.tokens.delete(tokenKey(access, scope));
        authorization = await this.answerChallenge(
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

  /** The Authorization a previous exchange taught us for this registry and scope, if any. */
  private knownAuthorization(access: RegistryAccess, scope: string): string | undefined {
    const token = this.tokens.get(tokenKey(access, scope));
    if (token !== undefined) return `Bearer ${token}`;
    if (access.credential && this.basicRegistries.has(access.registry)) return basic(access.credential);
    return undefined;
  }

  private async answerChallenge(
    access: RegistryAccess,
    scope: string,
    header: string | null,
    deadline: RegistryDeadline,
  ): Promise<string> {
    const challenges = header ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) return `Bearer ${await this.token(access, bearer, scope, deadline)}`;
    if (challenges.some((c) => c.scheme === 'basic') && access.credential) {
      this.basicRegistries.add(access.registry);
      return basic(access.credential);
    }
    throw new RegistryFailure(
      'unauthorized',
      access.credential
        ? `the registry asked for ${header ?? 'authentication'}`
        : 'the registry asks for credentials and the policy gives none for it',
    );
  }

  /** A Bearer token for the scope, shared by concurrent exchanges and reused until it expires. */
  private async token(
    access: RegistryAccess,
    challenge: AuthChallenge,
    fallbackScope: string,
    deadline: RegistryDeadline,
  ): Promise<string> {
    const scope = challenge.params.scope ?? fallbackScope;
    // Kept under the repository's own scope, which the next exchange looks up (and drops when refused),
    // whatever scope the registry's challenge named.
    const key = tokenKey(access, fallbackScope);
    const known = this.tokens.get(key);
    if (known !== undefined) return known;
    const verdict = judgeRealm(
      challenge.params.realm ?? '',
      { host: access.registry, insecure: access.insecure },
      access.policyLists,
    );
    if (!verdict.allowed) throw new RegistryFailure('unauthorized', verdict.why);
    // Shared by concurrent exchanges, so it runs until the last of them stops waiting, not to the
    // first asker's deadline.
    return untilAborted(
      this.tokenRequests.joinUntil(key, deadline.deadlineAt, (shared) =>
        this.fetchToken(access, verdict, challenge, scope, key, shared),
      ),
      deadline.signal,
    ).catch((error: unknown) => {
      throw deadline.signal.aborted ? new RegistryFailure('timed out', 'fetching a registry token') : error;
    });
  }

  private async fetchToken(
    access: RegistryAccess,
    verdict: Extract<RealmVerdict, { allowed: true }>,
    challenge: AuthChallenge,
    scope: string,
    key: string,
    deadline: RegistryDeadline,
  ): Promise<string> {
    const url = new URL(verdict.url);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', scope);
    const response = await this.timed(access.registry, 'token', () =>
      fetch(url, {
        headers: access.credential ? { Authorization: basic(access.credential) } : {},
        redirect: 'error',
        signal: deadline.signal,
        dispatcher: verdict.publicOnly ? this.agentFor(undefined, true) : this.agentFor(access.ca),
      }),
    );
    if (!response.ok) {
      await response.body?.cancel();
      const what = `token server answered HTTP ${response.status}`;
      if (response.status === 401 || response.status === 403) throw new RegistryFailure('unauthorized', what);
      if (response.status === 429) throw new RegistryFailure('rate limited', what);
      throw new RegistryFailure(response.status >= 500 ? 'unreachable' : 'invalid response', what);
    }
    let grant: { token?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    try {
      grant = JSON.parse(
        (await readLimited(response, MAX_TOKEN_BYTES, 'token')).toString('utf8'),
      ) as typeof grant;
    } catch (error) {
      if (error instanceof RegistryFailure) throw error;
      throw new RegistryFailure('invalid response', 'token server answered something that is not JSON');
    }
    const token = typeof grant?.token === 'string' ? grant.token : grant?.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RegistryFailure('invalid response', 'token server answered without a token');
    const seconds =
      typeof grant?.expires_in === 'number' && grant.expires_in > 0
        ? grant.expires_in
        : DEFAULT_TOKEN_SECONDS;
    this.tokens.set(key, token, Math.max(seconds - TOKEN_MARGIN_SECONDS, 1) * 1000);
    return token;
  }

  /** Runs one fetch, naming its failure and reporting it to the observers either way. */
  private async timed<T extends { status: number }>(
    registry: string,
    operation: RegistryOperation,
    send: () => Promise<T>,
  ): Promise<T> {
    const started = process.hrtime.bigint();
    const report = (outcome: RegistryRequestEvent['outcome']): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const observer of this.observers) observer.request({ registry, operation, outcome, seconds });
    };
    let response: T;
    try {
      response = await send();
    } catch (error) {
      const failure = namedFailure(error);
      report(failure.reason);
      throw failure;
    }
    report(statusOutcome(response.status));
    return response;
  }

  /** One connection pool per set of trusted roots; `publicOnly` pools refuse private addresses. */
  private agentFor(ca: readonly string[] | undefined, publicOnly = false): Dispatcher {
    const key = publicOnly
      ? 'public-only'
      : ca
        ? createHash('sha256').update(ca.join('\n')).digest('hex')
        : 'system';
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: { ...(ca ? { ca: [...ca] } : {}), ...(publicOnly ? { lookup: publicAddressLookup } : {}) },
        keepAliveTimeout: 30_000,
        connections: 32,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

const tokenKey = (access: RegistryAccess, scope: string): string =>
  `${access.registry}\n${scope}\n${access.credential?.username ?? ''}`;

const basic = (credential: RegistryCredential): string =>
  `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;

function statusOutcome(status: number): RegistryRequestEvent['outcome'] {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not found';
  if (status === 429) return 'rate limited';
  return status >= 500 ? 'unreachable' : 'invalid response';
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(at - Date.now(), 0);
}

/** A fetch failure as one of the reasons users read. Messages name the cause, never a header. */
function namedFailure(error: unknown): RegistryFailure {
  if (error instanceof RegistryFailure) return error;
  const name = (error as { name?: unknown }).name;
  if (name === 'AbortError' || name === 'TimeoutError')
    return new RegistryFailure('timed out', 'no answer in time');
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message =
    typeof cause?.message === 'string' ? cause.message : String((error as Error).message ?? error);
  if (code === 'EREALM') return new RegistryFailure('unauthorized', message);
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return new RegistryFailure('timed out', message);
  return new RegistryFailure('unreachable', code ? `${code}: ${message}` : message);
}

/** The body, refusing more than `maxBytes`, so a hostile registry cannot fill the bouncer's memory. */
async function readLimited(
  response: Awaited<ReturnType<typeof fetch>>,
  maxBytes: number,
  what: string,
): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RegistryFailure(
      'invalid response',
      `${what} is ${declared} bytes, more than the ${maxBytes} allowed`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += (chunk as Uint8Array).byteLength;
      // Leaving the loop cancels the body; cancel() itself would throw, the stream being locked to the loop.
      if (total > maxBytes)
        throw new RegistryFailure('invalid response', `${what} is more than the ${maxBytes} bytes allowed`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  } catch (error) {
    throw namedFailure(error);
  }
  return Buffer.concat(chunks);
}

import { BoundedTtlCache, InFlight, untilAborted } from '../cache';
import { RegistryCredential } from './docker-config';
import { HopVerdict } from './connection-guard';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure } from './registry-failure';
import { RegistryObservers } from './registry-observer';
import { RegistryAccess } from './registry-settings';
import { RegistryTransport } from './registry-transport';
import { AuthChallenge, parseWwwAuthenticate } from './www-authenticate';

/** Token servers answer in a few kilobytes. */
const MAX_TOKEN_BYTES = 64 * 1024;
/** The Docker token spec's default when a token server does not say. */
const DEFAULT_TOKEN_SECONDS = 60;
/** Reuse a token for a little less than its life, so it does not expire on the wire. */
const TOKEN_MARGIN_SECONDS = 5;
const MAX_TOKENS = 1_000;

/**
 * Authentication as registries ask for it: Basic, and Bearer tokens fetched from the realm a 401
 * names, checked before anything is sent there, and reused per registry and scope until they
 * expire. Re-authenticating on every request is how peers got rate-limited.
 * https://distribution.github.io/distribution/spec/auth/token/
 */
export class RegistryAuth {
  private readonly tokens = new BoundedTtlCache<string, string>({ name: 'token', maxEntries: MAX_TOKENS });
  private readonly tokenRequests = new InFlight<string, string>();
  /** Registries that asked for Basic credentials: sent at once next time, saving a 401. */
  private readonly basicRegistries = new Set<string>();

  constructor(
    private readonly transport: RegistryTransport,
    observers: RegistryObservers,
  ) {
    this.tokens.onEvent((cache, event) => observers.cache(cache, event));
  }

  /** The Authorization a previous exchange taught us for this registry and scope, if any. */
  knownAuthorization(access: RegistryAccess, scope: string): string | undefined {
    const token = this.tokens.get(tokenKey(access, scope));
    if (token !== undefined) return `Bearer ${token}`;
    if (access.credential && this.basicRegistries.has(access.registry)) return basic(access.credential);
    return undefined;
  }

  /** A token the registry no longer takes is forgotten, not offered again. */
  forget(access: RegistryAccess, scope: string): void {
    this.tokens.delete(tokenKey(access, scope));
  }

  /** The Authorization that answers a 401's `WWW-Authenticate`, or `unauthorized` when none can. */
  async answerChallenge(
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
    // Judged before the request is shared, so a refused realm costs no one a wait; the transport
    // judges the URL it sends to again, as it does every connection.
    const verdict = this.transport.judge(challenge.params.realm ?? '', 'realm', access);
    if (!verdict.allowed) throw new RegistryFailure('unauthorized', verdict.why);
    // Shared by concurrent exchanges, so it runs until the last of them stops waiting, not to the
    // first asker's deadline.
    return untilAborted(
      this.tokenRequests.joinUntil(key, deadline, (shared) =>
        this.fetchToken(access, verdict, challenge, scope, key, shared),
      ),
      deadline.signal,
    ).catch((error: unknown) => {
      throw deadline.signal.aborted ? new RegistryFailure('timed out', 'fetching a registry token') : error;
    });
  }

  private async fetchToken(
    access: RegistryAccess,
    verdict: Extract<HopVerdict, { allowed: true }>,
    challenge: AuthChallenge,
    scope: string,
    key: string,
    deadline: RegistryDeadline,
  ): Promise<string> {
    const url = new URL(verdict.url);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', scope);
    // A token server has no reason to redirect, and what it is sent are the registry's credentials.
    const response = await this.transport.send({
      access,
      url,
      hop: 'realm',
      method: 'GET',
      headers: access.credential ? { Authorization: basic(access.credential) } : {},
      operation: 'token',
      deadline,
      followRedirects: false,
    });
    if (!response.ok) {
      await this.transport.discard(response);
      const what = `token server answered HTTP ${response.status}`;
      if (response.status === 401 || response.status === 403) throw new RegistryFailure('unauthorized', what);
      if (response.status === 429) throw new RegistryFailure('rate limited', what);
      throw new RegistryFailure(response.status >= 500 ? 'unreachable' : 'invalid response', what);
    }
    let grant: { token?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    try {
      grant = JSON.parse(
        (await this.transport.read(response, MAX_TOKEN_BYTES, 'token', deadline, 'token')).toString('utf8'),
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
}

const tokenKey = (access: RegistryAccess, scope: string): string =>
  `${access.registry}\n${scope}\n${access.credential?.username ?? ''}`;

const basic = (credential: RegistryCredential): string =>
  `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;

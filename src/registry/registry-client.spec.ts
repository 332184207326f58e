import { createHash } from 'node:crypto';
import { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { CacheEvent } from '../cache/bounded-ttl-cache';
import { InFlight } from '../cache/in-flight';
import { MANIFEST_MEDIA_TYPES } from './distribution-api';
import { RegistryClient } from './registry-client';
import { RegistryDeadline } from './registry-deadline';
import { RegistryObserver, RegistryRequestEvent } from './registry-observer';
import { RegistryFailure } from './registry-failure';
import { RegistryAccess } from './registry-settings';
import { closeServer, listenOnLoopback } from '../testing/loopback-server';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

const USER = 'ci-robot';
const PASSWORD = 'pa55-w0rd-never-shown';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const deadlineIn = (ms = 5_000): RegistryDeadline => ({
  signal: AbortSignal.timeout(ms),
  deadlineAt: Date.now() + ms,
});

/** What the fake registry saw of one request. */
interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

type Handler = (request: SeenRequest, response: ServerResponse) => void;

/** Answers `status` with `headers` and `body`. */
function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: Buffer,
): void {
  response.writeHead(status, { ...(body ? { 'Content-Length': body.length } : {}), ...headers });
  response.end(body);
}

/** A server on 127.0.0.1 whose answers each test writes, and which remembers what it was asked. */
class FakeServer {
  readonly requests: SeenRequest[] = [];
  private handler: Handler = (_request, response) => send(response, 404);
  private server?: Server;
  private port = 0;

  async start(): Promise<void> {
    ({ server: this.server, port: this.port } = await listenOnLoopback((request, response) =>
      this.answer(request, response),
    ));
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  /** Drops open connections, such as one a test left waiting. */
  dropConnections(): void {
    this.server?.closeAllConnections();
  }

  reset(handler: Handler): void {
    this.requests.length = 0;
    this.handler = handler;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** How the policy reaches this registry: listed, insecure (a registry on loopback must be listed). */
  access(more: Partial<RegistryAccess> = {}): RegistryAccess {
    return {
      registry: this.host,
      baseUrl: `http://${this.host}`,
      insecure: true,
      policyLists: (host) => host === this.host,
      ...more,
    };
  }

  /** The requests to `path`, as `METHOD path`. */
  seen(path?: string): string[] {
    return this.requests
      .filter((r) => path === undefined || r.path === path)
      .map((r) => `${r.method} ${r.path}`);
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', `http://${this.host}`);
    const seen = {
      method: request.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
    };
    this.requests.push(seen);
    request.resume();
    this.handler(seen, response);
  }
}

/** The RegistryFailure a call rejected with. */
async function failureOf(call: Promise<unknown>): Promise<RegistryFailure> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryFailure);
    return error as RegistryFailure;
  }
  throw new Error('expected the call to fail');
}

/** An observer that keeps everything it is told. */
function recorder(): RegistryObserver & { requests: RegistryRequestEvent[]; caches: [string, CacheEvent][] } {
  const requests: RegistryRequestEvent[] = [];
  const caches: [string, CacheEvent][] = [];
  return {
    requests,
    caches,
    request: (event) => requests.push(event),
    cache: (cache, event) => caches.push([cache, event]),
  };
}

describe(RegistryClient.name, () => {
  const registry = new FakeServer();
  /** Another host (another port of 127.0.0.1), which a registry may name as its token realm. */
  const elsewhere = new FakeServer();
  let sut: RegistryClient;

  const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] });
  const manifestDigest = digestOf(manifest);
  /** A call about demo/app in the fake registry, with a fresh deadline. */
  const app = <T extends object>(call: T) => ({
    access: registry.access(),
    repository: 'demo/app',
    deadline: deadlineIn(),
    ...call,
  });

  beforeAll(async () => {
    await Promise.all([registry.start(), elsewhere.start()]);
  });

  afterAll(async () => {
    await Promise.all([registry.stop(), elsewhere.stop()]);
  });

  beforeEach(() => {
    sut = new RegistryClient();
    elsewhere.reset((_request, response) => send(response, 200, {}, json({ token: 'from-elsewhere' })));
  });

  afterEach(async () => {
    jest.useRealTimers();
    registry.dropConnections();
    elsewhere.dropConnections();
    await sut.onModuleDestroy();
    jest.restoreAllMocks();
  });

  /** A registry that serves `manifest` under tag v1 and by digest, to anyone. */
  const serveManifest = (headDigest: string | null = manifestDigest): Handler => {
    return (request, response) => {
      if (
        request.path === '/v2/demo/app/manifests/v1' ||
        request.path === `/v2/demo/app/manifests/${manifestDigest}`
      ) {
        const headers = {
          'Content-Type': OCI_MANIFEST,
          ...(headDigest ? { 'Docker-Content-Digest': headDigest } : {}),
        };
        if (request.method === 'HEAD')
          return send(response, 200, { ...headers, 'Content-Length': manifest.length });
        return send(response, 200, headers, manifest);
      }
      send(response, 404);
    };
  };

  describe('resolveTag', () => {
    it('resolves a tag from the Docker-Content-Digest of a HEAD, asking for all four manifest media types', async () => {
      registry.reset(serveManifest());

      const resolved = await sut.resolveTag(app({ tag: 'v1' }));

      expect(resolved).toEqual({ digest: manifestDigest, mediaType: OCI_MANIFEST });
      expect(registry.seen()).toEqual(['HEAD /v2/demo/app/manifests/v1']);
      const accept = String(registry.requests[0].headers.accept).split(/\s*,\s*/);
      expect(accept).toEqual(expect.arrayContaining([...MANIFEST_MEDIA_TYPES]));
      expect(MANIFEST_MEDIA_TYPES).toEqual([
        OCI_INDEX,
        OCI_MANIFEST,
        'application/vnd.docker.distribution.manifest.list.v2+json',
        DOCKER_MANIFEST,
      ]);
    });

    it('hashes the body of a GET when the HEAD answer has no Docker-Content-Digest', async () => {
      registry.reset(serveManifest(null));

      const resolved = await sut.resolveTag(app({ tag: 'v1' }));

      expect(resolved).toEqual({ digest: manifestDigest, mediaType: OCI_MANIFEST });
      expect(registry.seen()).toEqual(['HEAD /v2/demo/app/manifests/v1', 'GET /v2/demo/app/manifests/v1']);
      expect(String(registry.requests[1].headers.accept).split(/\s*,\s*/)).toEqual([...MANIFEST_MEDIA_TYPES]);
    });

    it('hashes the body of a GET when the HEAD answer names no sha256 digest', async () => {
      registry.reset(serveManifest('sha256:not-hex'));

      const resolved = await sut.resolveTag(app({ tag: 'v1' }));

      expect(resolved.digest).toBe(manifestDigest);
      expect(registry.seen()).toHaveLength(2);
    });

    it("says 'not found' for a tag the registry does not have", async () => {
      registry.reset((_request, response) => send(response, 404));

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v9' })));

      expect(failure.reason).toBe('not found');
      expect(failure.detail).toBe('HTTP 404 for HEAD /v2/demo/app/manifests/v9');
      expect(failure.message).toBe('not found: HTTP 404 for HEAD /v2/demo/app/manifests/v9');
    });
  });

  describe('getManifest', () => {
    it('gives the manifest whose content matches its digest', async () => {
      registry.reset(serveManifest());

      const fetched = await sut.getManifest(app({ digest: manifestDigest }));

      expect(fetched).toMatchObject({
        digest: manifestDigest,
        mediaType: OCI_MANIFEST,
        json: { layers: [] },
      });
      expect(fetched.bytes.equals(manifest)).toBe(true);
      expect(registry.seen()).toEqual([`GET /v2/demo/app/manifests/${manifestDigest}`]);
    });

    it("refuses content that does not match its digest as 'invalid response'", async () => {
      const forged = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: ['forged'] });
      registry.reset((_request, response) => send(response, 200, { 'Content-Type': OCI_MANIFEST }, forged));

      const failure = await failureOf(sut.getManifest(app({ digest: manifestDigest })));

      expect(failure.reason).toBe('invalid response');
      expect(failure.detail).toBe(
        `manifest demo/app@${manifestDigest} has the content of ${digestOf(forged)}`,
      );
    });

    it.each([
      ['not JSON', Buffer.from('<html>'), 'is not JSON'],
      ['JSON but not an object', Buffer.from('"text"'), 'is not an object'],
    ])("refuses a manifest that is %s as 'invalid response'", async (_what, body, detail) => {
      registry.reset((_request, response) => send(response, 200, { 'Content-Type': OCI_MANIFEST }, body));

      const failure = await failureOf(sut.getManifest(app({ digest: digestOf(body) })));

      expect(failure.reason).toBe('invalid response');
      expect(failure.detail).toContain(detail);
    });

    it("takes the media type from the Content-Type when the manifest's JSON has none", async () => {
      const bare = json({ schemaVersion: 2, layers: [] });
      registry.reset((_request, response) => send(response, 200, { 'Content-Type': DOCKER_MANIFEST }, bare));

      const fetched = await sut.getManifest(app({ digest: digestOf(bare) }));

      expect(fetched.mediaType).toBe(DOCKER_MANIFEST);
    });
  });

  describe('what goes into a URL path', () => {
    const other = `sha256:${'2'.repeat(64)}`;

    it.each([
      [
        'getManifest',
        () =>
          sut.getManifest(app({ digest: `${manifestDigest}/../../../../../v2/other/manifests/${other}` })),
      ],
      [
        'getBlob',
        () => sut.getBlob(app({ digest: `${manifestDigest}/../../other/blobs/${other}`, maxBytes: 1024 })),
      ],
      ['listReferrers', () => sut.listReferrers(app({ digest: `${manifestDigest}/..` }))],
      ['getTaggedManifest', () => sut.getTaggedManifest(app({ tag: `x:/../../other/manifests/${other}` }))],
      ['resolveTag', () => sut.resolveTag(app({ repository: 'demo/../other', tag: 'v1' }))],
    ])(
      "is checked before any request: %s refuses a path out of the repository as 'invalid response'",
      async (_call, call) => {
        registry.reset(serveManifest());

        const failure = await failureOf(call());

        expect(failure.reason).toBe('invalid response');
        expect(failure.detail).toMatch(/is not an OCI digest$|is not a tag$|is not a repository name$/);
        expect(registry.requests).toEqual([]);
      },
    );
  });

  describe('getTaggedManifest', () => {
    it('gives nothing for a tag that does not exist', async () => {
      registry.reset((_request, response) => send(response, 404));

      await expect(sut.getTaggedManifest(app({ tag: 'sha256-abc.sig' }))).resolves.toBeUndefined();
    });

    it('passes on any other failure', async () => {
      registry.reset((_request, response) => send(response, 500));

      const failure = await failureOf(sut.getTaggedManifest(app({ tag: 'x' })));

      expect(failure.reason).toBe('unreachable');
    });
  });

  describe('Basic authentication', () => {
    const basicRegistry: Handler = (request, response) => {
      if (request.headers.authorization !== BASIC)
        return send(response, 401, { 'WWW-Authenticate': 'Basic realm="Registry Realm"' });
      serveManifest()(request, response);
    };
    const withCredential = (): RegistryAccess =>
      registry.access({ credential: { username: USER, password: PASSWORD } });

    it('answers a Basic challenge, and sends Basic at once the next time', async () => {
      registry.reset(basicRegistry);

      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));
      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));

      expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, BASIC, BASIC]);
    });

    it("says 'unauthorized' when the policy gives no credentials for a registry that asks for them", async () => {
      registry.reset(basicRegistry);

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('the registry asks for credentials and the policy gives none for it');
      expect(registry.requests).toHaveLength(1);
    });

    it("says 'unauthorized' when the registry refuses the credentials too, asking once only", async () => {
      registry.reset((_request, response) => send(response, 401, { 'WWW-Authenticate': 'Basic realm="r"' }));

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('HTTP 401 for HEAD /v2/demo/app/manifests/v1');
      expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, BASIC]);
    });

    it("says 'unauthorized' for a 401 without a challenge it can answer", async () => {
      registry.reset((_request, response) => send(response, 401));

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('the registry asked for authentication');
    });

    it("says 'unauthorized' for a 403", async () => {
      registry.reset((_request, response) => send(response, 403));

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(registry.requests).toHaveLength(1);
    });
  });

  describe('Bearer authentication', () => {
    let issued: number;
    /** Tokens the registry takes now; the token server issues `token-<n>`. */
    let valid: Set<string>;
    let grant: (n: number) => Record<string, unknown>;

    /**
     * A registry whose 401 names a token realm on itself, as distribution's token auth does, and a
     * token server there that takes the robot's Basic credentials.
     */
    const bearerRegistry =
      (realm = (): string => `http://${registry.host}/token`, scope = 'repository:demo/app:pull'): Handler =>
      (request, response) => {
        if (request.path === '/token') {
          if (request.headers.authorization !== BASIC) return send(response, 401);
          issued += 1;
          valid.add(`token-${issued}`);
          return send(response, 200, { 'Content-Type': 'application/json' }, json(grant(issued)));
        }
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        if (bearer === undefined || !valid.has(bearer))
          return send(response, 401, {
            'WWW-Authenticate': `Bearer realm="${realm()}",service="fake-registry",scope="${scope}"`,
          });
        serveManifest()(request, response);
      };
    const withCredential = (): RegistryAccess =>
      registry.access({ credential: { username: USER, password: PASSWORD } });

    beforeEach(() => {
      issued = 0;
      valid = new Set();
      grant = (n) => ({ token: `token-${n}`, expires_in: 300 });
    });

    it('fetches a token from the realm with service, scope and Basic credentials, and reuses it', async () => {
      registry.reset(bearerRegistry());

      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));
      await sut.getManifest(app({ access: withCredential(), digest: manifestDigest }));

      expect(registry.seen()).toEqual([
        'HEAD /v2/demo/app/manifests/v1',
        'GET /token',
        'HEAD /v2/demo/app/manifests/v1',
        `GET /v2/demo/app/manifests/${manifestDigest}`,
      ]);
      const tokenRequest = registry.requests[1];
      expect(Object.fromEntries(tokenRequest.query)).toEqual({
        service: 'fake-registry',
        scope: 'repository:demo/app:pull',
      });
      expect(tokenRequest.headers.authorization).toBe(BASIC);
      expect(registry.requests.map((r) => r.headers.authorization)).toEqual([
        undefined,
        BASIC,
        'Bearer token-1',
        'Bearer token-1',
      ]);
    });

    it('fetches a token anonymously when the policy gives no credentials', async () => {
      registry.reset((request, response) => {
        if (request.path === '/token') return send(response, 200, {}, json({ token: 'anonymous' }));
        if (request.headers.authorization !== 'Bearer anonymous')
          return send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${registry.host}/token"` });
        serveManifest()(request, response);
      });

      await sut.resolveTag(app({ tag: 'v1' }));

      const tokenRequest = registry.requests[1];
      expect(tokenRequest.headers.authorization).toBeUndefined();
      expect(Object.fromEntries(tokenRequest.query)).toEqual({ scope: 'repository:demo/app:pull' });
    });

    it('takes access_token when the token server gives no token', async () => {
      grant = (n) => ({ access_token: `token-${n}` });
      registry.reset(bearerRegistry());

      await expect(sut.resolveTag(app({ access: withCredential(), tag: 'v1' }))).resolves.toMatchObject({
        digest: manifestDigest,
      });
    });

    it('shares one token request among concurrent exchanges', async () => {
      registry.reset(bearerRegistry());

      await Promise.all(
        Array.from({ length: 5 }, () => sut.resolveTag(app({ access: withCredential(), tag: 'v1' }))),
      );

      expect(registry.seen('/token')).toHaveLength(1);
    });

    it("keeps a shared token request going for a later caller past the first caller's deadline", async () => {
      // The first caller's deadline passes on a clock the test moves (the shared request's deadline
      // is a timer of its own, InFlight's); the registry's sockets stay real.
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      let releaseToken: (() => void) | undefined;
      const inner = bearerRegistry();
      registry.reset((request, response) => {
        if (request.path === '/token') releaseToken = () => inner(request, response);
        else inner(request, response);
      });
      const joins = jest.spyOn(InFlight.prototype, 'joinUntil');
      const hurriedSignal = new AbortController();
      const hurriedDeadlineAt = Date.now() + 1_000;

      const hurried = failureOf(
        sut.resolveTag({
          access: withCredential(),
          repository: 'demo/app',
          tag: 'v1',
          deadline: {
            signal: hurriedSignal.signal,
            deadlineAt: hurriedDeadlineAt,
          },
        }),
      );
      const patient = sut.resolveTag({
        access: withCredential(),
        repository: 'demo/app',
        tag: 'v1',
        deadline: deadlineIn(30_000),
      });
      while (joins.mock.calls.length < 2 || releaseToken === undefined)
        await new Promise((next) => setImmediate(next));
      hurriedSignal.abort();
      expect((await hurried).reason).toBe('timed out');
      await jest.advanceTimersByTimeAsync(hurriedDeadlineAt + 50 - Date.now());
      releaseToken();

      await expect(patient).resolves.toMatchObject({ digest: manifestDigest });
      expect(registry.seen('/token')).toHaveLength(1);
    });

    it('fetches a new token when the registry refuses the one it has', async () => {
      registry.reset(bearerRegistry());
      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));
      valid.clear(); // the registry rotated its signing key

      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));

      expect(registry.seen('/token')).toHaveLength(2);
      expect(registry.requests.slice(3).map((r) => `${r.path} ${r.headers.authorization}`)).toEqual([
        '/v2/demo/app/manifests/v1 Bearer token-1',
        `/token ${BASIC}`,
        '/v2/demo/app/manifests/v1 Bearer token-2',
      ]);
    });

    it('asks for the scope the registry names, and reuses and drops that token like any other', async () => {
      registry.reset(bearerRegistry(undefined, 'repository:demo/app:pull,push'));
      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));
      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));
      valid.clear();

      await sut.resolveTag(app({ access: withCredential(), tag: 'v1' }));

      expect(registry.requests[1].query.get('scope')).toBe('repository:demo/app:pull,push');
      expect(registry.requests.map((r) => `${r.path} ${r.headers.authorization}`)).toEqual([
        '/v2/demo/app/manifests/v1 undefined',
        `/token ${BASIC}`,
        '/v2/demo/app/manifests/v1 Bearer token-1',
        '/v2/demo/app/manifests/v1 Bearer token-1',
        '/v2/demo/app/manifests/v1 Bearer token-1',
        `/token ${BASIC}`,
        '/v2/demo/app/manifests/v1 Bearer token-2',
      ]);
    });

    it('reuses a token until a little before its expires_in, then fetches another', async () => {
      const realNow = Date.now;
      let skew = 0;
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
      const client = new RegistryClient();
      grant = (n) => ({ token: `token-${n}`, expires_in: 30 });
      registry.reset(bearerRegistry());
      try {
        await client.resolveTag(app({ access: withCredential(), tag: 'v1' }));

        skew = 20_000;
        await client.resolveTag(app({ access: withCredential(), tag: 'v1' }));
        expect(registry.seen('/token')).toHaveLength(1);

        skew = 26_000; // past 30 s less the 5 s margin
        await client.resolveTag(app({ access: withCredential(), tag: 'v1' }));
        expect(registry.seen('/token')).toHaveLength(2);
        expect(registry.requests.at(-1)?.headers.authorization).toBe('Bearer token-2');
      } finally {
        await client.onModuleDestroy();
      }
    });

    it("says 'unauthorized' when the registry refuses a fresh token too", async () => {
      registry.reset((request, response) => {
        if (request.path === '/token') return send(response, 200, {}, json({ token: 'useless' }));
        send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${registry.host}/token"` });
      });

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('HTTP 401 for HEAD /v2/demo/app/manifests/v1');
      expect(registry.seen()).toEqual([
        'HEAD /v2/demo/app/manifests/v1',
        'GET /token',
        'HEAD /v2/demo/app/manifests/v1',
      ]);
    });

    it("says 'unauthorized' when the token server refuses the credentials", async () => {
      registry.reset(bearerRegistry());

      const failure = await failureOf(
        sut.resolveTag({
          access: registry.access({ credential: { username: USER, password: 'wrong' } }),
          repository: 'demo/app',
          tag: 'v1',
          deadline: deadlineIn(),
        }),
      );

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('token server answered HTTP 401');
    });

    it.each([
      ['not JSON', Buffer.from('<html>'), 'token server answered something that is not JSON'],
      ['no token', json({ expires_in: 60 }), 'token server answered without a token'],
      ['null', Buffer.from('null'), 'token server answered without a token'],
    ])("says 'invalid response' for a token answer with %s", async (_what, body, detail) => {
      registry.reset((request, response) => {
        if (request.path === '/token') return send(response, 200, {}, body);
        send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${registry.host}/token"` });
      });

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure).toMatchObject({ reason: 'invalid response', detail });
    });

    it("refuses a realm on a private host the policy does not list, as 'unauthorized', without asking it", async () => {
      registry.reset(bearerRegistry(() => `http://${elsewhere.host}/token`));

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe(
        `token realm ${elsewhere.host} is a private address the policy does not list`,
      );
      expect(elsewhere.requests).toEqual([]);
    });

    it('fetches a token from a private realm the policy lists', async () => {
      registry.reset((request, response) => {
        if (request.headers.authorization !== 'Bearer from-elsewhere')
          return send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${elsewhere.host}/token"` });
        serveManifest()(request, response);
      });

      await sut.resolveTag({
        access: registry.access({ policyLists: (host) => host === elsewhere.host || host === registry.host }),
        repository: 'demo/app',
        tag: 'v1',
        deadline: deadlineIn(),
      });

      expect(elsewhere.seen()).toEqual(['GET /token']);
    });

    it("refuses a realm named by a host that resolves to a private address, as 'unauthorized', without asking it", async () => {
      const port = elsewhere.host.split(':')[1];
      registry.reset(bearerRegistry(() => `http://localhost:${port}/token`));

      const failure = await failureOf(sut.resolveTag(app({ access: withCredential(), tag: 'v1' })));

      expect(failure.reason).toBe('unauthorized');
      expect(failure.detail).toBe('token realm localhost resolves to a private address');
      expect(elsewhere.requests).toEqual([]);
    });

    it("refuses a Bearer challenge without a realm as 'unauthorized'", async () => {
      registry.reset((_request, response) =>
        send(response, 401, { 'WWW-Authenticate': 'Bearer service="x"' }),
      );

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure).toMatchObject({ reason: 'unauthorized', detail: 'token realm "" is not a URL' });
    });
  });

  describe('rate limiting and failures', () => {
    /** Answers 429 with `retryAfter` the first `times` requests, then serves the manifest. */
    const rateLimited = (times: number, retryAfter?: string): Handler => {
      let answered = 0;
      return (request, response) => {
        if (answered++ < times)
          return send(response, 429, retryAfter === undefined ? {} : { 'Retry-After': retryAfter });
        serveManifest()(request, response);
      };
    };

    it('waits out a 429 whose Retry-After falls inside the deadline, once', async () => {
      registry.reset(rateLimited(1, '0'));

      await expect(sut.resolveTag(app({ tag: 'v1' }))).resolves.toMatchObject({
        digest: manifestDigest,
      });
      expect(registry.requests).toHaveLength(2);
    });

    it("says 'rate limited' for a second 429, having waited once", async () => {
      registry.reset(rateLimited(2, '0'));

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure.reason).toBe('rate limited');
      expect(registry.requests).toHaveLength(2);
    });

    it.each([
      ['a Retry-After beyond the deadline', '3600'],
      ['an HTTP-date Retry-After beyond the deadline', new Date(Date.now() + 3_600_000).toUTCString()],
      ['no Retry-After', undefined],
      ['a Retry-After that is neither seconds nor a date', 'soon'],
    ])("says 'rate limited' at once for a 429 with %s", async (_what, retryAfter) => {
      registry.reset(rateLimited(1, retryAfter));

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure.reason).toBe('rate limited');
      expect(failure.detail).toBe('HTTP 429 for HEAD /v2/demo/app/manifests/v1');
      expect(registry.requests).toHaveLength(1);
    });

    it.each([500, 502, 503])("says 'unreachable' for HTTP %d", async (status) => {
      registry.reset((_request, response) => send(response, status));

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure.reason).toBe('unreachable');
      expect(failure.detail).toBe(`HTTP ${status} for HEAD /v2/demo/app/manifests/v1`);
    });

    it("says 'invalid response' for another HTTP error", async () => {
      registry.reset((_request, response) => send(response, 400));

      const failure = await failureOf(sut.resolveTag(app({ tag: 'v1' })));

      expect(failure.reason).toBe('invalid response');
    });

    it("says 'unreachable' when the connection is refused", async () => {
      const closed = new FakeServer();
      await closed.start();
      const access = closed.access();
      await closed.stop();

      const failure = await failureOf(
        sut.resolveTag({ access, repository: 'demo/app', tag: 'v1', deadline: deadlineIn() }),
      );

      expect(failure.reason).toBe('unreachable');
      expect(failure.detail).toContain('ECONNREFUSED');
    });

    it("says 'timed out' at the caller's signal when the registry accepts and never answers", async () => {
      registry.reset(() => undefined);

      const failure = await failureOf(
        sut.resolveTag({
          access: registry.access(),
          repository: 'demo/app',
          tag: 'v1',
          deadline: deadlineIn(200),
        }),
      );

      expect(failure.reason).toBe('timed out');
      expect(registry.requests).toHaveLength(1);
    });

    it("says 'timed out' without asking when the caller's signal has already aborted", async () => {
      registry.reset(serveManifest());
      const controller = new AbortController();
      controller.abort();

      const failure = await failureOf(
        sut.resolveTag({
          access: registry.access(),
          repository: 'demo/app',
          tag: 'v1',
          deadline: {
            signal: controller.signal,
            deadlineAt: Date.now(),
          },
        }),
      );

      expect(failure.reason).toBe('timed out');
      expect(registry.requests).toEqual([]);
    });
  });

  describe('getBlob', () => {
    const blob = Buffer.from('{"critical":{}}');
    const blobDigest = digestOf(blob);

    it('gives a blob that matches its digest, following a redirect to blob storage', async () => {
      registry.reset((request, response) => {
        if (request.path === `/v2/demo/app/blobs/${blobDigest}`)
          return send(response, 307, { Location: `http://${registry.host}/storage/blob` });
        if (request.path === '/storage/blob') return send(response, 200, {}, blob);
        send(response, 404);
      });

      const bytes = await sut.getBlob(app({ digest: blobDigest, maxBytes: 1024 }));

      expect(bytes.equals(blob)).toBe(true);
      expect(registry.seen()).toEqual([`GET /v2/demo/app/blobs/${blobDigest}`, 'GET /storage/blob']);
    });

    it("answers only the registry's own 401: blob storage it redirects to gets no credentials", async () => {
      registry.reset((request, response) => {
        if (request.headers.authorization !== BASIC)
          return send(response, 401, { 'WWW-Authenticate': 'Basic realm="registry"' });
        send(response, 307, { Location: `http://${elsewhere.host}/storage/blob` });
      });
      elsewhere.reset((_request, response) =>
        send(response, 401, { 'WWW-Authenticate': 'Basic realm="storage"' }),
      );
      const access = registry.access({
        credential: { username: USER, password: PASSWORD },
        policyLists: (host) => host === registry.host || host === elsewhere.host,
      });

      const failure = await failureOf(sut.getBlob(app({ access, digest: blobDigest, maxBytes: 1024 })));

      expect(failure).toMatchObject({
        reason: 'unauthorized',
        detail: `HTTP 401 for GET /v2/demo/app/blobs/${blobDigest}`,
      });
      expect(elsewhere.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
    });

    it('asks for each body as it is stored, so that the length it is charged by is the length it reads', async () => {
      const envelope = json({ payload: 'x'.repeat(4096), signatures: [] });
      // A registry (or the CDN before it) that compresses what a client says it takes, and declares
      // the compressed length, as HTTP has it.
      registry.reset((request, response) => {
        if (!/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
          return send(response, 200, {}, envelope);
        send(response, 200, { 'Content-Encoding': 'gzip' }, gzipSync(envelope));
      });

      const bytes = await sut.getBlob(app({ digest: digestOf(envelope), maxBytes: 8192 }));

      expect(bytes.equals(envelope)).toBe(true);
      expect(registry.requests.map((r) => r.headers['accept-encoding'])).toEqual(['identity']);
    });

    it("refuses a blob whose Content-Length is over maxBytes as 'invalid response'", async () => {
      registry.reset((_request, response) => send(response, 200, {}, blob));

      const failure = await failureOf(sut.getBlob(app({ digest: blobDigest, maxBytes: 4 })));

      expect(failure.reason).toBe('invalid response');
      expect(failure.detail).toBe(
        `blob demo/app@${blobDigest} is ${blob.length} bytes, more than the 4 allowed`,
      );
    });

    it("refuses a blob streamed without a length past maxBytes as 'invalid response'", async () => {
      const big = Buffer.alloc(64 * 1024, 1);
      registry.reset((_request, response) => {
        response.writeHead(200, { 'Transfer-Encoding': 'chunked' });
        response.write(big);
        response.end(big);
      });

      const failure = await failureOf(sut.getBlob(app({ digest: digestOf(big), maxBytes: 1024 })));

      expect(failure.reason).toBe('invalid response');
      expect(failure.detail).toBe(`blob demo/app@${digestOf(big)} is more than the 1024 bytes allowed`);
    });

    it("refuses a blob that does not match its digest as 'invalid response'", async () => {
      registry.reset((_request, response) => send(response, 200, {}, Buffer.from('forged')));

      const failure = await failureOf(sut.getBlob(app({ digest: blobDigest, maxBytes: 1024 })));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: `blob demo/app@${blobDigest} does not match its digest`,
      });
    });

    it('refuses a digest that is not sha256 without asking', async () => {
      registry.reset(serveManifest());

      const failure = await failureOf(sut.getBlob(app({ digest: 'md5:abc', maxBytes: 1024 })));

      expect(failure.reason).toBe('invalid response');
      expect(registry.requests).toEqual([]);
    });
  });

  describe('listReferrers', () => {
    const subject = manifestDigest;
    const fallbackTag = subject.replace(':', '-');
    const signature = { mediaType: OCI_MANIFEST, digest: `sha256:${'1'.repeat(64)}`, artifactType: 'x/sig' };
    const attestation = {
      mediaType: OCI_MANIFEST,
      digest: `sha256:${'2'.repeat(64)}`,
      artifactType: 'x/att',
    };
    const indexOf = (...manifests: unknown[]): Buffer =>
      json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });

    it("gives the OCI referrers API's answer", async () => {
      registry.reset((request, response) => {
        if (request.path === `/v2/demo/app/referrers/${subject}`)
          return send(response, 200, { 'Content-Type': OCI_INDEX }, indexOf(signature, attestation));
        send(response, 404);
      });

      await expect(sut.listReferrers(app({ digest: subject }))).resolves.toEqual([signature, attestation]);
      expect(registry.seen()).toEqual([`GET /v2/demo/app/referrers/${subject}`]);
      expect(registry.requests[0].headers.accept).toBe(OCI_INDEX);
    });

    it('reads the fallback tag sha256-<hex> when the registry has no referrers API', async () => {
      registry.reset((request, response) => {
        if (request.path === `/v2/demo/app/manifests/${fallbackTag}`)
          return send(response, 200, { 'Content-Type': OCI_INDEX }, indexOf(signature));
        send(response, 404);
      });

      await expect(sut.listReferrers(app({ digest: subject }))).resolves.toEqual([signature]);
      expect(registry.seen()).toEqual([
        `GET /v2/demo/app/referrers/${subject}`,
        `GET /v2/demo/app/manifests/${fallbackTag}`,
      ]);
    });

    it('reads the fallback tag when the referrers path answers something that is not an index', async () => {
      registry.reset((request, response) => {
        if (request.path === `/v2/demo/app/referrers/${subject}`)
          return send(response, 200, { 'Content-Type': 'text/html' }, Buffer.from('<html>'));
        if (request.path === `/v2/demo/app/manifests/${fallbackTag}`)
          return send(response, 200, { 'Content-Type': OCI_INDEX }, indexOf(attestation));
        send(response, 404);
      });

      await expect(sut.listReferrers(app({ digest: subject }))).resolves.toEqual([attestation]);
    });

    it('gives an empty list when there is neither', async () => {
      registry.reset((_request, response) => send(response, 404));

      await expect(sut.listReferrers(app({ digest: subject }))).resolves.toEqual([]);
      expect(registry.requests).toHaveLength(2);
    });

    it('passes on a failure of the referrers API other than not found', async () => {
      registry.reset((_request, response) => send(response, 503));

      const failure = await failureOf(sut.listReferrers(app({ digest: subject })));

      expect(failure.reason).toBe('unreachable');
      expect(registry.requests).toHaveLength(1);
    });

    it.each([
      ['not JSON', Buffer.from('{"manifests": [')],
      ['null', Buffer.from('null')],
      ['a number', Buffer.from('5')],
    ])("refuses a referrers answer that is %s as 'invalid response'", async (_what, body) => {
      registry.reset((_request, response) => send(response, 200, { 'Content-Type': OCI_INDEX }, body));

      const failure = await failureOf(sut.listReferrers(app({ digest: subject })));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: `referrers of demo/app@${subject} is not a JSON object`,
      });
    });

    it('gives an empty list for a fallback index whose manifests are not a list', async () => {
      registry.reset((request, response) => {
        if (request.path === `/v2/demo/app/manifests/${fallbackTag}`)
          return send(
            response,
            200,
            { 'Content-Type': OCI_INDEX },
            json({ mediaType: OCI_INDEX, manifests: 'x' }),
          );
        send(response, 404);
      });

      await expect(sut.listReferrers(app({ digest: subject }))).resolves.toEqual([]);
    });
  });

  describe('observers', () => {
    it('are told of every request with its registry, operation and outcome, and of token cache use', async () => {
      const observer = recorder();
      sut.observe(observer);
      registry.reset((request, response) => {
        if (request.path === '/token') return send(response, 200, {}, json({ token: 't' }));
        if (request.headers.authorization !== 'Bearer t')
          return send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${registry.host}/token"` });
        serveManifest()(request, response);
      });

      await sut.resolveTag(app({ tag: 'v1' }));
      await sut.getManifest(app({ digest: manifestDigest }));
      await failureOf(sut.resolveTag(app({ tag: 'v9' })));

      expect(observer.requests.map(({ seconds: _seconds, ...event }) => event)).toEqual([
        { registry: registry.host, operation: 'resolve', outcome: 'unauthorized' },
        { registry: registry.host, operation: 'token', outcome: 'ok' },
        { registry: registry.host, operation: 'resolve', outcome: 'ok' },
        { registry: registry.host, operation: 'manifest', outcome: 'ok' },
        { registry: registry.host, operation: 'resolve', outcome: 'not found' },
      ]);
      for (const event of observer.requests) expect(event.seconds).toBeGreaterThanOrEqual(0);
      expect(observer.caches).toEqual([
        ['token', 'miss'],
        ['token', 'miss'],
        ['token', 'hit'],
        ['token', 'hit'],
      ]);
    });

    it('are told of a request that failed before any answer', async () => {
      const observer = recorder();
      sut.observe(observer);
      registry.reset(() => undefined);

      await failureOf(
        sut.resolveTag({
          access: registry.access(),
          repository: 'demo/app',
          tag: 'v1',
          deadline: deadlineIn(100),
        }),
      );

      expect(observer.requests).toEqual([
        expect.objectContaining({ registry: registry.host, operation: 'resolve', outcome: 'timed out' }),
      ]);
    });

    it('hear the events of caches others keep over the client', () => {
      const observer = recorder();
      sut.observe(observer);

      sut.reportCacheEvent('tag-digest', 'eviction');

      expect(observer.caches).toEqual([['tag-digest', 'eviction']]);
    });
  });

  it('never shows a credential in a failure or an event', async () => {
    const observer = recorder();
    sut.observe(observer);
    const access = registry.access({ credential: { username: USER, password: PASSWORD } });
    const failures: RegistryFailure[] = [];
    const scenarios: Handler[] = [
      (_request, response) => send(response, 401, { 'WWW-Authenticate': 'Basic realm="r"' }),
      (request, response) =>
        request.path === '/token'
          ? send(response, 401)
          : send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${registry.host}/token"` }),
      (_request, response) =>
        send(response, 401, { 'WWW-Authenticate': `Bearer realm="http://${elsewhere.host}/token"` }),
      (_request, response) => send(response, 401, { 'WWW-Authenticate': 'Negotiate' }),
      (_request, response) => send(response, 500),
      (_request, response) => send(response, 429, { 'Retry-After': '3600' }),
      () => undefined,
    ];
    for (const scenario of scenarios) {
      registry.reset(scenario);
      failures.push(
        await failureOf(
          sut.resolveTag({ access, repository: 'demo/app', tag: 'v1', deadline: deadlineIn(300) }),
        ),
      );
    }
    registry.reset((_request, response) => send(response, 200, {}, Buffer.from('forged')));
    failures.push(
      await failureOf(
        sut.getBlob({
          access,
          repository: 'demo/app',
          digest: manifestDigest,
          maxBytes: 1024,
          deadline: deadlineIn(),
        }),
      ),
    );

    const told = JSON.stringify([
      failures.map((f) => [f.message, f.detail, f.stack]),
      observer.requests,
      observer.caches,
    ]);
    expect(failures.map((f) => f.reason)).toEqual([
      'unauthorized',
      'unauthorized',
      'unauthorized',
      'unauthorized',
      'unreachable',
      'rate limited',
      'timed out',
      'invalid response',
    ]);
    for (const secret of [USER, PASSWORD, BASIC.slice('Basic '.length)]) expect(told).not.toContain(secret);
  });
});

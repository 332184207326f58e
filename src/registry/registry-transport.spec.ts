import { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { rootCertificates } from 'node:tls';
import { closeServer, listenOnLoopback, LoopbackTls } from '../testing/loopback-server';
import { createCertificateAuthority, issueCertificate } from '../tls/certificate-issuer';
import { ReviewByteBudget, WorkerByteBudget } from './byte-budget';
import {
  BudgetExceededEvent,
  HopRefusedEvent,
  RegistryObservers,
  RegistryRequestEvent,
} from './registry-observer';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure } from './registry-failure';
import { RegistryAccess } from './registry-settings';
import { RegistryTransport, TransportRequest } from './registry-transport';

const deadlineIn = (ms = 5_000): RegistryDeadline => ({
  signal: AbortSignal.timeout(ms),
  deadlineAt: Date.now() + ms,
});

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A server on 127.0.0.1 that remembers what it was asked and answers as each test says. */
class Listener {
  readonly requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  handler: Handler = (_request, response) => response.writeHead(200).end('ok');
  private server?: Server;
  port = 0;

  constructor(private readonly tls?: LoopbackTls) {}

  async start(port = 0): Promise<void> {
    ({ server: this.server, port: this.port } = await listenOnLoopback(
      (request, response) => {
        this.requests.push({ url: request.url ?? '', headers: request.headers });
        request.resume();
        this.handler(request, response);
      },
      this.tls,
      port,
    ));
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get origin(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host}`;
  }

  redirectTo(location: (request: IncomingMessage) => string, status = 307): void {
    this.handler = (request, response) => response.writeHead(status, { Location: location(request) }).end();
  }
}

/** The RegistryFailure a call rejected with. */
async function failureOf(call: Promise<unknown>): Promise<RegistryFailure> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RegistryFailure);
  return error as RegistryFailure;
}

describe(RegistryTransport.name, () => {
  const registry = new Listener();
  const storage = new Listener();
  let observers: RegistryObservers;
  let refused: HopRefusedEvent[];
  let requests: RegistryRequestEvent[];
  let exceeded: BudgetExceededEvent[];
  let sut: RegistryTransport;

  /** How a policy that lists the registry (and `alsoListed`) reaches it. */
  const access = (...alsoListed: string[]): RegistryAccess => ({
    registry: registry.host,
    baseUrl: registry.origin,
    insecure: true,
    policyLists: (host) => [registry.host, ...alsoListed].includes(host),
  });
  const get = (more: Partial<TransportRequest> = {}): TransportRequest => ({
    access: access(),
    url: `${registry.origin}/v2/demo/app/blobs/sha256:0`,
    hop: 'registry',
    method: 'GET',
    headers: { Authorization: 'Bearer registry-token' },
    operation: 'blob',
    deadline: deadlineIn(),
    followRedirects: true,
    ...more,
  });

  beforeAll(async () => {
    await Promise.all([registry.start(), storage.start()]);
  });

  afterAll(async () => {
    await Promise.all([registry.stop(), storage.stop()]);
  });

  beforeEach(() => {
    registry.requests.length = 0;
    storage.requests.length = 0;
    storage.handler = (_request, response) => response.writeHead(200).end('stored');
    observers = new RegistryObservers();
    refused = [];
    requests = [];
    exceeded = [];
    observers.add({
      request: (event) => requests.push(event),
      cache: () => undefined,
      hopRefused: (event) => refused.push(event),
      budgetExceeded: (event) => exceeded.push(event),
    });
    sut = new RegistryTransport(observers);
  });

  afterEach(async () => {
    await sut.close();
  });

  describe('the registry', () => {
    it('is reached where the policy lists it, as one exchange reported once its body is read', async () => {
      const response = await sut.send(get());
      expect(requests).toEqual([]);
      const body = await sut.read(response, 1024, 'blob', deadlineIn(), 'blob');

      expect(body.toString()).toBe('ok');
      expect(registry.requests.map((r) => r.url)).toEqual(['/v2/demo/app/blobs/sha256:0']);
      expect(requests).toEqual([expect.objectContaining({ operation: 'blob', outcome: 'ok' })]);
    });

    it('is refused on a private address the policy does not list, without a connection', async () => {
      const failure = await failureOf(sut.send(get({ access: { ...access(), policyLists: () => false } })));

      expect(failure).toMatchObject({
        reason: 'private registry not in spec.registries',
        detail: `registry ${registry.host} is a private address the policy does not list`,
      });
      expect(registry.requests).toEqual([]);
      expect(refused).toEqual([{ hop: 'registry', reason: 'address' }]);
    });

    it('is refused by name when the name resolves to a private address, at connect time', async () => {
      const unlisted: RegistryAccess = {
        registry: `localhost:${registry.port}`,
        baseUrl: `http://localhost:${registry.port}`,
        insecure: true,
        policyLists: () => false,
      };

      const failure = await failureOf(
        sut.send(get({ access: unlisted, url: `http://localhost:${registry.port}/v2/` })),
      );

      expect(failure).toMatchObject({
        reason: 'private registry not in spec.registries',
        detail: 'registry localhost resolves to a private address',
      });
      expect(registry.requests).toEqual([]);
      expect(refused).toEqual([{ hop: 'registry', reason: 'resolved address' }]);
    });
  });

  describe('redirects', () => {
    it('are followed to a host the policy lists, without the Authorization of another origin', async () => {
      registry.redirectTo(() => `${storage.origin}/blob`);

      const response = await sut.send(get({ access: access(storage.host) }));

      expect(await response.text()).toBe('stored');
      expect(registry.requests[0].headers.authorization).toBe('Bearer registry-token');
      expect(storage.requests).toEqual([
        { url: '/blob', headers: expect.not.objectContaining({ authorization: expect.anything() }) },
      ]);
    });

    it('keep the Authorization on the same origin, and resolve a relative Location', async () => {
      registry.handler = (request, response) => {
        if (request.url === '/v2/demo/app/blobs/sha256:0')
          return response.writeHead(302, { Location: '../x' }).end();
        response.writeHead(200).end('same origin');
      };

      const response = await sut.send(get());

      expect(await response.text()).toBe('same origin');
      expect(registry.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
        ['/v2/demo/app/blobs/sha256:0', 'Bearer registry-token'],
        ['/v2/demo/app/x', 'Bearer registry-token'],
      ]);
    });

    it('to an unlisted private address are refused before any connection to it', async () => {
      registry.redirectTo(() => `${storage.origin}/latest/meta-data/`);

      const failure = await failureOf(sut.send(get()));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: `redirect to ${storage.host} is a private address the policy does not list`,
      });
      expect(storage.requests).toEqual([]);
      expect(refused).toEqual([{ hop: 'redirect', reason: 'address' }]);
    });

    it('are refused in the same words whether anything listens at the refused address or not', async () => {
      const target = new Listener();
      await target.start();
      registry.redirectTo(() => `${target.origin}/`);
      const withListener = await failureOf(sut.send(get()));
      await target.stop();
      const withoutListener = await failureOf(sut.send(get()));

      expect(withoutListener).toEqual(withListener);
      expect(withListener.message).toBe(
        `invalid response: redirect to ${target.host} is a private address the policy does not list`,
      );
      expect(target.requests).toEqual([]);
    });

    it('to a name that resolves to a private address are refused at connect time, unasked', async () => {
      registry.redirectTo(() => `http://localhost:${storage.port}/x`);

      const failure = await failureOf(sut.send(get()));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: 'redirect to localhost resolves to a private address',
      });
      expect(storage.requests).toEqual([]);
      expect(refused).toEqual([{ hop: 'redirect', reason: 'resolved address' }]);
    });

    it('are followed 20 times, the Fetch standard limit, and the 21st is refused', async () => {
      const hops =
        (limit: number): Handler =>
        (request, response) => {
          const n = Number(/\/hop\/(\d+)$/.exec(request.url ?? '')?.[1] ?? 0);
          if (n < limit) return response.writeHead(307, { Location: `/hop/${n + 1}` }).end();
          response.writeHead(200).end(`after ${n}`);
        };
      registry.handler = hops(20);
      const twenty = await sut.send(get());
      expect(await twenty.text()).toBe('after 20');
      expect(registry.requests).toHaveLength(21);

      registry.requests.length = 0;
      registry.handler = hops(21);
      const failure = await failureOf(sut.send(get()));

      expect(failure).toMatchObject({ reason: 'invalid response' });
      expect(failure.detail).toMatch(/: more than 20 redirects$/);
      expect(registry.requests).toHaveLength(21);
      expect(refused).toEqual([{ hop: 'redirect', reason: 'too many redirects' }]);
    });

    it('from https down to http are refused, even to a host the policy lists', async () => {
      const ca = await createCertificateAuthority({ commonName: 'registry CA' });
      const leaf = await issueCertificate(ca, {
        commonName: 'registry',
        usages: ['server'],
        ipAddresses: ['127.0.0.1'],
      });
      const secure = new Listener({ cert: leaf.certificatePem, key: leaf.privateKeyPem });
      await secure.start();
      try {
        secure.redirectTo(() => `${storage.origin}/blob`);
        const secureAccess: RegistryAccess = {
          registry: secure.host,
          baseUrl: secure.origin,
          insecure: false,
          ca: [...rootCertificates, ca.certificatePem],
          policyLists: (host) => host === secure.host || host === storage.host,
        };

        const failure = await failureOf(
          sut.send(get({ access: secureAccess, url: `${secure.origin}/v2/demo/app/blobs/sha256:0` })),
        );

        expect(failure).toMatchObject({
          reason: 'invalid response',
          detail: `redirect to ${storage.origin} would go from https down to http`,
        });
        expect(secure.requests).toHaveLength(1);
        expect(storage.requests).toEqual([]);
      } finally {
        await secure.stop();
      }
    });

    it('are never followed for a token, which carries the registry credentials', async () => {
      registry.redirectTo(() => `${registry.origin}/elsewhere`, 302);

      const failure = await failureOf(
        sut.send(
          get({ hop: 'realm', url: `${registry.origin}/token`, operation: 'token', followRedirects: false }),
        ),
      );

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: 'HTTP 302 for GET /token: a redirect, never followed for a token',
      });
      expect(registry.requests.map((r) => r.url)).toEqual(['/token']);
    });

    it('without a Location are an invalid response', async () => {
      registry.handler = (_request, response) => response.writeHead(301).end();

      const failure = await failureOf(sut.send(get()));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: 'HTTP 301 for GET /v2/demo/app/blobs/sha256:0 without a Location',
      });
    });

    it('to something that is not a URL are refused', async () => {
      registry.redirectTo(() => 'http://[::1');

      const failure = await failureOf(sut.send(get()));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: 'redirect to "http://[::1" is not a URL',
      });
      expect(refused).toEqual([{ hop: 'redirect', reason: 'not a URL' }]);
    });
  });

  describe('byte budgets', () => {
    const body = Buffer.alloc(1000, 'x');
    /** A deadline for work that settles when the test says, charged to `budget`. */
    const work = (budget?: ReviewByteBudget): RegistryDeadline & { settle(): void } => {
      const releases: (() => void)[] = [];
      return {
        ...deadlineIn(),
        budget,
        onSettled: (release) => releases.push(release),
        settle: () => releases.splice(0).forEach((release) => release()),
      };
    };
    const read = async (deadline: RegistryDeadline, maxBytes = 4096): Promise<Buffer> =>
      sut.read(await sut.send(get({ deadline })), maxBytes, 'blob', deadline, 'blob');

    beforeEach(() => {
      registry.handler = (_request, response) =>
        response.writeHead(200, { 'Content-Length': body.length }).end(body);
    });

    it("refuses a body past the review's budget before reading it, as 'over budget'", async () => {
      const budget = new ReviewByteBudget(1500);
      const deadline = work(budget);
      await read(deadline);

      const failure = await failureOf(read(deadline));

      expect(failure).toMatchObject({
        reason: 'over budget',
        detail: 'blob (1000 bytes) would take the review past the 1500 bytes it may hold at once',
      });
      expect([budget.held, sut.worker.held]).toEqual([1000, 1000]);
      expect(exceeded).toEqual([{ budget: 'review', operation: 'blob' }]);
      expect(requests.map((r) => r.outcome)).toEqual(['ok', 'over budget']);
    });

    it('holds what was read until the work that read it settles', async () => {
      const budget = new ReviewByteBudget();
      const deadline = work(budget);
      await read(deadline);
      await read(deadline);
      expect([budget.held, sut.worker.held]).toEqual([2000, 2000]);

      deadline.settle();

      expect([budget.held, sut.worker.held, budget.peak]).toEqual([0, 0, 2000]);
    });

    it('holds what was read under a plain deadline until the deadline passes', async () => {
      const controller = new AbortController();
      const deadline: RegistryDeadline = { signal: controller.signal, deadlineAt: Date.now() + 5_000 };
      await read(deadline);
      expect(sut.worker.held).toBe(1000);

      controller.abort();

      expect(sut.worker.held).toBe(0);
    });

    it('charges a body without a declared length as it arrives, and refuses it past the budget', async () => {
      registry.handler = (_request, response) => {
        response.writeHead(200);
        for (let i = 0; i < 4; i += 1) response.write(body);
        response.end();
      };
      const budget = new ReviewByteBudget(2500);
      const deadline = work(budget);

      const failure = await failureOf(read(deadline, 8192));

      expect(failure.reason).toBe('over budget');
      expect([budget.held, sut.worker.held]).toEqual([0, 0]);
      expect(budget.peak).toBeLessThanOrEqual(2500);
    });

    it('gives back what a body refused for its own limit had been charged', async () => {
      const budget = new ReviewByteBudget();
      const deadline = work(budget);

      const failure = await failureOf(read(deadline, 10));

      expect(failure).toMatchObject({
        reason: 'invalid response',
        detail: 'blob is 1000 bytes, more than the 10 allowed',
      });
      expect([budget.held, sut.worker.held]).toEqual([0, 0]);
    });

    it("makes a read wait for room in the worker's budget, and reads it once room is given back", async () => {
      await sut.close();
      sut = new RegistryTransport(observers, new WorkerByteBudget(1500));
      const first = work(new ReviewByteBudget());
      await read(first);

      const second = read(work(new ReviewByteBudget()));
      while (sut.worker.waiting === 0) await new Promise((next) => setImmediate(next));
      expect(sut.worker.held).toBe(1000);
      first.settle();

      expect((await second).length).toBe(1000);
      expect(sut.worker.peak).toBe(1000);
      expect(exceeded).toEqual([]);
    });

    it("refuses at once, as 'over budget', a review that already holds bytes when the worker is full", async () => {
      await sut.close();
      sut = new RegistryTransport(observers, new WorkerByteBudget(2500));
      const holder = work(new ReviewByteBudget());
      await read(holder);
      await read(work(new ReviewByteBudget()));

      const failure = await failureOf(read(holder));

      expect(failure).toMatchObject({
        reason: 'over budget',
        detail:
          "blob (1000 bytes) does not fit in the worker's 2500-byte registry budget, which other reviews fill",
      });
      expect([sut.worker.held, sut.worker.waiting]).toEqual([2000, 0]);
      expect(exceeded).toEqual([{ budget: 'worker', operation: 'blob' }]);
    });

    it("gives up waiting for the worker's budget at the read's own deadline, as 'timed out'", async () => {
      await sut.close();
      sut = new RegistryTransport(observers, new WorkerByteBudget(1500));
      await read(work(new ReviewByteBudget()));
      const controller = new AbortController();
      const budget = new ReviewByteBudget();
      const waiting: RegistryDeadline = { signal: controller.signal, deadlineAt: Date.now() + 5_000, budget };

      const failure = failureOf(read(waiting));
      while (sut.worker.waiting === 0) await new Promise((next) => setImmediate(next));
      controller.abort(new DOMException('deadline', 'TimeoutError'));

      expect(await failure).toMatchObject({
        reason: 'timed out',
        detail: "blob waited for room in the worker's 1500-byte registry budget until the deadline",
      });
      expect([budget.held, sut.worker.held, sut.worker.waiting]).toEqual([0, 1000, 0]);
      expect(exceeded).toEqual([{ budget: 'worker', operation: 'blob' }]);
    });
  });
});

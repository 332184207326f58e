import { CacheEvent } from '../cache/bounded-ttl-cache';
import { DigestResolver } from './digest-resolver';
import { RegistryClient } from './registry-client';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure } from './registry-failure';
import { RegistryAccess, RegistrySettings } from './registry-settings';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;
const TTL = 60_000;

const deadlineIn = (ms = 5_000): RegistryDeadline => ({
  signal: AbortSignal.timeout(ms),
  deadlineAt: Date.now() + ms,
});

/** One call of `resolveTag` the test answers by hand; it fails as the client does when its signal aborts. */
interface Lookup {
  readonly access: RegistryAccess;
  readonly repository: string;
  readonly tag: string;
  readonly deadline: RegistryDeadline;
  answer(digest: string): void;
  fail(failure: Error): void;
}

describe(DigestResolver.name, () => {
  const settings = new RegistrySettings([{ host: '127.0.0.1:5000', insecure: true }]);
  let client: RegistryClient;
  let lookups: Lookup[];
  let cacheEvents: [string, CacheEvent][];
  let sut: DigestResolver;

  /** Registry lookups answer at once with `digest`. */
  const answerWith = (digest: string | (() => string)): void => {
    jest
      .spyOn(client, 'resolveTag')
      .mockImplementation(async () =>
        Promise.resolve({ digest: typeof digest === 'string' ? digest : digest() }),
      );
  };

  beforeEach(() => {
    client = new RegistryClient();
    lookups = [];
    cacheEvents = [];
    client.observe({ request: () => undefined, cache: (cache, event) => cacheEvents.push([cache, event]) });
    jest.spyOn(client, 'resolveTag').mockImplementation(
      ({ access, repository, tag, deadline }) =>
        new Promise((resolve, reject) => {
          deadline.signal.addEventListener('abort', () =>
            reject(new RegistryFailure('timed out', 'no answer in time')),
          );
          lookups.push({
            access,
            repository,
            tag,
            deadline,
            answer: (digest) => resolve({ digest }),
            fail: reject,
          });
        }),
    );
    sut = new DigestResolver(client);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const resolve = (deadline = deadlineIn(), tag = 'v1', ttl = TTL) =>
    sut.resolve('127.0.0.1:5000', 'demo/app', tag, settings, ttl, deadline);

  /** Lets the resolver reach the registry client. */
  const started = async (count = 1): Promise<void> => {
    while (lookups.length < count) await new Promise((next) => setImmediate(next));
  };

  it('asks the registry on a miss, then answers from the tag cache', async () => {
    const first = resolve();
    await started();
    lookups[0].answer(DIGEST);

    await expect(first).resolves.toMatchObject({ registry: '127.0.0.1:5000', digest: DIGEST, cache: 'miss' });
    await expect(resolve()).resolves.toMatchObject({ digest: DIGEST, cache: 'hit' });
    expect(client.resolveTag).toHaveBeenCalledTimes(1);
  });

  it('asks the registry the way the policy says to reach it', async () => {
    const resolution = resolve();
    await started();
    lookups[0].answer(DIGEST);
    await resolution;

    expect(lookups[0]).toMatchObject({
      access: { registry: '127.0.0.1:5000', baseUrl: 'http://127.0.0.1:5000', insecure: true },
      repository: 'demo/app',
      tag: 'v1',
    });
  });

  it('keeps tags, repositories and registries apart', async () => {
    answerWith(() => `sha256:${String(lookups.length).repeat(64)}`);

    await resolve(deadlineIn(), 'v1');
    await resolve(deadlineIn(), 'v2');
    await sut.resolve('127.0.0.1:5000', 'demo/other', 'v1', settings, TTL, deadlineIn());
    await sut.resolve('registry.example.com', 'demo/app', 'v1', settings, TTL, deadlineIn());

    expect(client.resolveTag).toHaveBeenCalledTimes(4);
  });

  it('asks again once the tag TTL has passed, and takes the new digest', async () => {
    const realNow = Date.now;
    let skew = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    sut = new DigestResolver(client); // its cache reads the skewed clock
    let digest = DIGEST;
    answerWith(() => digest);

    await resolve(deadlineIn(), 'v1', 30_000);
    skew = 29_000;
    await expect(resolve(deadlineIn(), 'v1', 30_000)).resolves.toMatchObject({
      digest: DIGEST,
      cache: 'hit',
    });

    digest = OTHER_DIGEST; // the tag moved
    skew = 30_000;
    await expect(resolve(deadlineIn(), 'v1', 30_000)).resolves.toMatchObject({
      digest: OTHER_DIGEST,
      cache: 'miss',
    });
    expect(client.resolveTag).toHaveBeenCalledTimes(2);
  });

  it('does not keep a digest when the tag TTL is 0', async () => {
    answerWith(DIGEST);

    await resolve(deadlineIn(), 'v1', 0);
    await expect(resolve(deadlineIn(), 'v1', 0)).resolves.toMatchObject({ cache: 'miss' });
    expect(client.resolveTag).toHaveBeenCalledTimes(2);
  });

  it('makes one registry lookup for 20 concurrent resolves of one tag', async () => {
    const resolutions = Array.from({ length: 20 }, () => resolve());
    await started();
    expect(sut.inFlight).toBe(1);
    lookups[0].answer(DIGEST);

    const answers = await Promise.all(resolutions);

    expect(answers.map((a) => [a.digest, a.cache])).toEqual(Array(20).fill([DIGEST, 'miss']));
    expect(client.resolveTag).toHaveBeenCalledTimes(1);
    expect(sut.inFlight).toBe(0);
  });

  it('gives the registry failure, and does not keep it: the next resolve asks again', async () => {
    const first = resolve();
    await started();
    lookups[0].fail(new RegistryFailure('not found', 'HTTP 404 for HEAD /v2/demo/app/manifests/v1'));

    await expect(first).resolves.toEqual({
      registry: '127.0.0.1:5000',
      failure: { reason: 'not found', detail: 'HTTP 404 for HEAD /v2/demo/app/manifests/v1' },
      cache: 'miss',
      ms: expect.any(Number),
    });

    const second = resolve();
    await started(2);
    lookups[1].answer(DIGEST);
    await expect(second).resolves.toMatchObject({ digest: DIGEST, cache: 'miss' });
  });

  it("names a failure that is not the registry's as 'unreachable'", async () => {
    const resolution = resolve();
    await started();
    lookups[0].fail(new Error('socket hang up'));

    await expect(resolution).resolves.toMatchObject({
      failure: { reason: 'unreachable', detail: 'socket hang up' },
    });
  });

  it("says 'timed out' at once for a caller whose deadline has already passed", async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(resolve({ signal: controller.signal, deadlineAt: Date.now() })).resolves.toMatchObject({
      failure: { reason: 'timed out' },
    });
  });

  it('keeps it going no further than one more budget after its first caller, however many join', async () => {
    const first = deadlineIn(200);
    void resolve(first);
    await started();
    void resolve(deadlineIn(10_000));

    expect(lookups[0].deadline.deadlineAt).toBeLessThanOrEqual(first.deadlineAt + 200);
    lookups[0].answer(DIGEST);
  });

  // Deadlines of seconds, passed on a clock the test moves: the shared lookup's deadline is a
  // timer of its own (InFlight), and so is each caller's here.
  describe('on a clock the test moves', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    /** A caller's deadline `ms` from now on the test's clock, aborting as AbortSignal.timeout does. */
    const deadlineOnClockIn = (ms: number): RegistryDeadline => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException('timed out', 'TimeoutError')), ms);
      return { signal: controller.signal, deadlineAt: Date.now() + ms };
    };
    const elapse = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

    it("says 'timed out' at the caller's deadline while a later caller still gets the shared answer", async () => {
      // Every review has the same budget; the later caller joins while the first one still waits.
      const hurried = resolve(deadlineOnClockIn(2_000));
      await started();
      await elapse(300);
      const patient = resolve(deadlineOnClockIn(2_000));

      await elapse(1_700);
      await expect(hurried).resolves.toMatchObject({
        failure: { reason: 'timed out', detail: 'no answer within the review deadline' },
      });
      await elapse(100); // past the hurried caller's deadline, not the patient one's
      expect(lookups[0].deadline.signal.aborted).toBe(false);
      lookups[0].answer(DIGEST);

      await expect(patient).resolves.toMatchObject({ digest: DIGEST, cache: 'miss' });
      expect(client.resolveTag).toHaveBeenCalledTimes(1);
      await expect(resolve()).resolves.toMatchObject({ digest: DIGEST, cache: 'hit' });
    });

    it('keeps the shared lookup going past its first caller, up to the last deadline of those waiting', async () => {
      const first = deadlineOnClockIn(2_000);
      void resolve(first);
      await started();
      await elapse(1_000);
      const last = deadlineOnClockIn(2_000);
      void resolve(last);

      await elapse(1_500); // past the first deadline, not the last

      expect(lookups[0].deadline.deadlineAt).toBe(last.deadlineAt);
      expect(lookups[0].deadline.signal.aborted).toBe(false);
      lookups[0].answer(DIGEST);
    });

    it('ends the shared lookup once every caller has given up', async () => {
      const resolutions = [resolve(deadlineOnClockIn(30)), resolve(deadlineOnClockIn(60))];
      await started();

      await elapse(160);
      await Promise.all(resolutions);

      expect(lookups[0].deadline.signal.aborted).toBe(true);
      expect(sut.inFlight).toBe(0);
    });
  });

  it('reports its cache under the name tag-digest through the client', async () => {
    answerWith(DIGEST);

    await resolve();
    await resolve();

    expect(cacheEvents).toEqual([
      ['tag-digest', 'miss'],
      ['tag-digest', 'hit'],
    ]);
  });
});

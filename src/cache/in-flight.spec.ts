import { DeadlineExceededError, InFlight, SharedDeadline, untilAborted } from './in-flight';

/** A promise the test settles by hand. */
function deferred<V>(): { promise: Promise<V>; resolve: (value: V) => void; reject: (error: Error) => void } {
  let resolve!: (value: V) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback already queued run. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(InFlight.name, () => {
  it('starts the work once for any number of concurrent joins of one key', async () => {
    const sut = new InFlight<string, string>();
    const work = deferred<string>();
    const start = jest.fn(() => work.promise);

    const joins = Array.from({ length: 10 }, () => sut.join('nginx:1', start));
    expect(sut.size).toBe(1);
    work.resolve('sha256:a');

    await expect(Promise.all(joins)).resolves.toEqual(Array(10).fill('sha256:a'));
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('keeps different keys apart', async () => {
    const sut = new InFlight<string, string>();

    const [a, b] = await Promise.all([
      sut.join('a', () => Promise.resolve('for a')),
      sut.join('b', () => Promise.resolve('for b')),
    ]);

    expect([a, b]).toEqual(['for a', 'for b']);
  });

  it('forgets the work once it has answered, so the next join starts anew', async () => {
    const sut = new InFlight<string, number>();
    let starts = 0;
    const start = (): Promise<number> => Promise.resolve(++starts);

    await expect(sut.join('k', start)).resolves.toBe(1);
    await settled();
    expect(sut.size).toBe(0);

    await expect(sut.join('k', start)).resolves.toBe(2);
  });

  it('forgets the work once it has failed, and every joiner gets the failure', async () => {
    const sut = new InFlight<string, number>();
    const work = deferred<number>();

    const first = sut.join('k', () => work.promise);
    const second = sut.join('k', () => Promise.resolve(0));
    work.reject(new Error('registry down'));

    await expect(first).rejects.toThrow('registry down');
    await expect(second).rejects.toThrow('registry down');
    await settled();
    expect(sut.size).toBe(0);
    await expect(sut.join('k', () => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe(`${InFlight.name} joinUntil`, () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it("runs the work once, to the first caller's deadline while it is the only one", async () => {
    const sut = new InFlight<string, string>();
    const deadlines: SharedDeadline[] = [];
    const work = deferred<string>();

    const first = sut.joinUntil('k', { deadlineAt: 1_000_100 }, (deadline) => {
      deadlines.push(deadline);
      return work.promise;
    });

    expect(deadlines).toHaveLength(1);
    expect(deadlines[0].deadlineAt).toBe(1_000_100);
    jest.advanceTimersByTime(99);
    expect(deadlines[0].signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadlines[0].signal.aborted).toBe(true);
    expect(deadlines[0].signal.reason).toMatchObject({ name: 'TimeoutError' });
    work.reject(new Error('aborted'));
    await expect(first).rejects.toThrow('aborted');
  });

  it('moves the deadline to the latest of the callers joining, and never earlier', () => {
    const sut = new InFlight<string, string>();
    const start = jest.fn((_deadline: SharedDeadline) => new Promise<string>(() => undefined));

    void sut.joinUntil('k', { deadlineAt: 1_000_100 }, start);
    void sut.joinUntil('k', { deadlineAt: 1_000_180 }, start);
    void sut.joinUntil('k', { deadlineAt: 1_000_120 }, start);
    const [[deadline]] = start.mock.calls;

    expect(start).toHaveBeenCalledTimes(1);
    expect(deadline.deadlineAt).toBe(1_000_180);
    jest.advanceTimersByTime(179);
    expect(deadline.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
  });

  it("moves it no further than one more budget after the first caller's, however many join after", () => {
    const sut = new InFlight<string, string>();
    const start = jest.fn((_deadline: SharedDeadline) => new Promise<string>(() => undefined));

    void sut.joinUntil('k', { deadlineAt: 1_000_100 }, start);
    const [[deadline]] = start.mock.calls;
    // Callers keep joining, each with the same budget, each just before the work would end.
    for (let at = 90; at < 400; at += 90) {
      jest.advanceTimersByTime(90);
      if (!deadline.signal.aborted) void sut.joinUntil('k', { deadlineAt: 1_000_000 + at + 100 }, start);
    }

    expect(start).toHaveBeenCalledTimes(1);
    expect(deadline.deadlineAt).toBe(1_000_200);
    expect(deadline.signal.aborted).toBe(true);
  });

  it('stops the clock and forgets the deadline once the work has settled', async () => {
    const sut = new InFlight<string, number>();
    const deadlines: SharedDeadline[] = [];
    const start = (deadline: SharedDeadline): Promise<number> => {
      deadlines.push(deadline);
      return Promise.resolve(deadlines.length);
    };

    await expect(sut.joinUntil('k', { deadlineAt: 1_000_100 }, start)).resolves.toBe(1);
    jest.advanceTimersByTime(1_000);
    await expect(sut.joinUntil('k', { deadlineAt: 1_002_000 }, start)).resolves.toBe(2);

    expect(deadlines[0].signal.aborted).toBe(false);
    expect(deadlines[1].deadlineAt).toBe(1_002_000);
    expect(sut.size).toBe(0);
  });

  it('forgets the deadline of work that failed', async () => {
    const sut = new InFlight<string, number>();
    const deadlines: SharedDeadline[] = [];

    await expect(
      sut.joinUntil('k', { deadlineAt: 1_000_100 }, (deadline) => {
        deadlines.push(deadline);
        return Promise.reject(new Error('boom'));
      }),
    ).rejects.toThrow('boom');
    await sut.joinUntil('k', { deadlineAt: 1_000_900 }, (deadline) => {
      deadlines.push(deadline);
      return Promise.resolve(1);
    });

    expect(deadlines.map((d) => d.deadlineAt)).toEqual([1_000_100, 1_000_900]);
  });

  it('aborts at once for a deadline already past', () => {
    const deadline = new SharedDeadline(Date.now() - 10);

    jest.advanceTimersByTime(1);

    expect(deadline.signal.aborted).toBe(true);
  });
});

describe(untilAborted.name, () => {
  it('gives the answer of work that ends before the signal aborts', async () => {
    const controller = new AbortController();

    await expect(untilAborted(Promise.resolve('sha256:a'), controller.signal)).resolves.toBe('sha256:a');
  });

  it('passes on the failure of work that fails before the signal aborts', async () => {
    const controller = new AbortController();

    await expect(untilAborted(Promise.reject(new Error('boom')), controller.signal)).rejects.toThrow('boom');
  });

  it('turns a rejection that is not an Error into one', async () => {
    const controller = new AbortController();

    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the work may do is the point
    const work = Promise.reject('plain string');

    await expect(untilAborted(work, controller.signal)).rejects.toThrow(new Error('plain string'));
  });

  it('rejects at once for a signal that has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(untilAborted(new Promise(() => undefined), controller.signal)).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
  });

  it('leaves no unhandled rejection behind when the signal had aborted and the work fails later', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const controller = new AbortController();
      controller.abort();
      const work = deferred<string>();

      await expect(untilAborted(work.promise, controller.signal)).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      work.reject(new Error('registry down'));
      await settled();
      await settled();

      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it("rejects with DeadlineExceededError at the caller's signal while the shared work goes on for another caller", async () => {
    const sut = new InFlight<string, string>();
    const work = deferred<string>();
    const start = jest.fn(() => work.promise);
    const hurried = new AbortController();
    const patient = new AbortController();

    const first = untilAborted(sut.join('k', start), hurried.signal);
    const second = untilAborted(sut.join('k', start), patient.signal);
    hurried.abort();

    await expect(first).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(first).rejects.toThrow('deadline exceeded');
    expect(sut.size).toBe(1);

    work.resolve('sha256:a');
    await expect(second).resolves.toBe('sha256:a');
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('stops listening to the signal once the work has settled', async () => {
    const controller = new AbortController();
    const remove = jest.spyOn(controller.signal, 'removeEventListener');

    await untilAborted(Promise.resolve(1), controller.signal);

    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });
});

describe(`${InFlight.name} joinUntil and budgets`, () => {
  it('carries the budget of the caller that started the work, not of those who join it', () => {
    const sut = new InFlight<string, string>();
    const start = jest.fn((_deadline: SharedDeadline<string>) => new Promise<string>(() => undefined));

    void sut.joinUntil('k', { deadlineAt: Date.now() + 1_000, budget: 'first review' }, start);
    void sut.joinUntil('k', { deadlineAt: Date.now() + 2_000, budget: 'second review' }, start);

    expect(start).toHaveBeenCalledTimes(1);
    expect(start.mock.calls[0][0].budget).toBe('first review');
  });

  it('tells who asks once the work has settled, and at once after', async () => {
    const sut = new InFlight<string, number>();
    const told: string[] = [];
    const work = deferred<number>();
    let shared: SharedDeadline | undefined;

    const running = sut.joinUntil('k', { deadlineAt: Date.now() + 1_000 }, (deadline) => {
      shared = deadline;
      deadline.onSettled(() => told.push('while running'));
      return work.promise;
    });
    expect(told).toEqual([]);
    work.resolve(1);
    await running;
    shared!.onSettled(() => told.push('after'));

    expect(told).toEqual(['while running', 'after']);
  });
});

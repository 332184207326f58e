import {
  ByteBudgetExceeded,
  ByteHolding,
  REVIEW_BYTES,
  ReviewByteBudget,
  WORKER_BYTES,
  WorkerByteBudget,
} from './byte-budget';

/** Lets promise callbacks run. */
const settled = (): Promise<void> => new Promise((next) => setImmediate(next));

describe(ReviewByteBudget.name, () => {
  it('holds up to its limit and refuses past it, keeping the most it held at once', () => {
    const sut = new ReviewByteBudget(10);

    expect(sut.tryCharge(6)).toBe(true);
    expect(sut.tryCharge(5)).toBe(false);
    expect(sut.tryCharge(4)).toBe(true);
    sut.release(6);
    expect(sut.tryCharge(5)).toBe(true);

    expect(sut.held).toBe(9);
    expect(sut.peak).toBe(10);
  });

  it('defaults to a review budget below the worker budget, so one review never fills a worker', () => {
    expect(new ReviewByteBudget().limit).toBe(REVIEW_BYTES);
    expect(REVIEW_BYTES * 2).toBeLessThanOrEqual(WORKER_BYTES);
  });
});

describe(WorkerByteBudget.name, () => {
  it('grants at once while there is room', async () => {
    const sut = new WorkerByteBudget(10);

    await sut.acquire(4, new AbortController().signal);
    await sut.acquire(6, new AbortController().signal);

    expect(sut.held).toBe(10);
    expect(sut.waiting).toBe(0);
  });

  it('makes a read wait for room, first come first served, and grants it when room is given back', async () => {
    const sut = new WorkerByteBudget(10);
    await sut.acquire(8, new AbortController().signal);
    const granted: string[] = [];
    void sut.acquire(5, new AbortController().signal).then(() => granted.push('first'));
    void sut.acquire(1, new AbortController().signal).then(() => granted.push('second, which would fit'));
    await settled();
    expect(granted).toEqual([]);
    expect(sut.waiting).toBe(2);

    sut.release(8);
    await settled();

    expect(granted).toEqual(['first', 'second, which would fit']);
    expect(sut.held).toBe(6);
    expect(sut.peak).toBe(8);
  });

  it('lets a waiter go at its own deadline, and those behind it through if they fit', async () => {
    const sut = new WorkerByteBudget(10);
    await sut.acquire(8, new AbortController().signal);
    const deadline = new AbortController();
    const first = sut.acquire(5, deadline.signal);
    let secondGranted = false;
    void sut.acquire(2, new AbortController().signal).then(() => (secondGranted = true));
    await settled();
    expect(secondGranted).toBe(false);

    deadline.abort(new DOMException('deadline', 'TimeoutError'));

    await expect(first).rejects.toHaveProperty('name', 'TimeoutError');
    await settled();
    expect(secondGranted).toBe(true);
    expect(sut.held).toBe(10);
    expect(sut.waiting).toBe(0);
  });

  it('refuses at once a read whose deadline has passed and which would have to wait', async () => {
    const sut = new WorkerByteBudget(10);
    await sut.acquire(10, new AbortController().signal);

    await expect(sut.acquire(1, AbortSignal.abort())).rejects.toBeDefined();
    expect(sut.waiting).toBe(0);
  });

  it('refuses more than it could ever hold', async () => {
    await expect(new WorkerByteBudget(10).acquire(11, new AbortController().signal)).rejects.toThrow(
      RangeError,
    );
  });
});

describe(ByteHolding.name, () => {
  it('charges the review and the worker, and gives both back together', async () => {
    const review = new ReviewByteBudget(10);
    const worker = new WorkerByteBudget(100);
    const sut = new ByteHolding(review, worker);

    await sut.charge(4, new AbortController().signal);
    await sut.charge(5, new AbortController().signal);
    expect([sut.held, review.held, worker.held]).toEqual([9, 9, 9]);
    sut.close();

    expect([sut.held, review.held, worker.held]).toEqual([0, 0, 0]);
  });

  it("refuses past the review's budget without touching the worker's", async () => {
    const review = new ReviewByteBudget(10);
    const worker = new WorkerByteBudget(100);
    const sut = new ByteHolding(review, worker);
    await sut.charge(8, new AbortController().signal);

    await expect(sut.charge(3, new AbortController().signal)).rejects.toEqual(
      new ByteBudgetExceeded('review', 3, 10),
    );
    expect([review.held, worker.held]).toEqual([8, 8]);
  });

  it("gives the review back what it charged when the worker's wait ends at the deadline", async () => {
    const review = new ReviewByteBudget(10);
    const worker = new WorkerByteBudget(5);
    await worker.acquire(5, new AbortController().signal);
    const sut = new ByteHolding(review, worker);
    const deadline = new AbortController();

    const charge = sut.charge(3, deadline.signal);
    deadline.abort(new DOMException('deadline', 'TimeoutError'));

    await expect(charge).rejects.toHaveProperty('name', 'TimeoutError');
    expect([sut.held, review.held, worker.held]).toEqual([0, 0, 5]);
  });

  it('charges only the worker for a caller that brings no review budget', async () => {
    const worker = new WorkerByteBudget(100);
    const sut = new ByteHolding(undefined, worker);

    await sut.charge(50, new AbortController().signal);

    expect(worker.held).toBe(50);
  });

  it('holds nothing more once closed, even for a read that was waiting', async () => {
    const review = new ReviewByteBudget(10);
    const worker = new WorkerByteBudget(5);
    await worker.acquire(5, new AbortController().signal);
    const sut = new ByteHolding(review, worker);
    const waiting = sut.charge(3, new AbortController().signal);
    sut.close();
    worker.release(5);

    await expect(waiting).rejects.toThrow('the work is over');
    await expect(sut.charge(1, new AbortController().signal)).rejects.toThrow('the work is over');
    expect([sut.held, review.held, worker.held]).toEqual([0, 0, 0]);
  });

  it('refuses, rather than makes wait, a review that already holds bytes when the worker has no room', async () => {
    const worker = new WorkerByteBudget(10);
    const review = new ReviewByteBudget(100);
    const sut = new ByteHolding(review, worker);
    await sut.charge(6, new AbortController().signal);
    await new ByteHolding(new ReviewByteBudget(100), worker).charge(3, new AbortController().signal);

    await expect(sut.charge(2, new AbortController().signal)).rejects.toEqual(
      new ByteBudgetExceeded('worker', 2, 10),
    );
    expect([review.held, worker.held, worker.waiting]).toEqual([6, 9, 0]);
  });

  it('counts what the review holds in other work too: its second piece of work does not wait either', async () => {
    const worker = new WorkerByteBudget(10);
    const review = new ReviewByteBudget(100);
    await new ByteHolding(review, worker).charge(9, new AbortController().signal);

    await expect(new ByteHolding(review, worker).charge(2, new AbortController().signal)).rejects.toEqual(
      new ByteBudgetExceeded('worker', 2, 10),
    );
  });

  it('lets a review that holds bytes take room ahead of a waiter, when there is some', async () => {
    const worker = new WorkerByteBudget(10);
    const holder = new ByteHolding(new ReviewByteBudget(100), worker);
    await holder.charge(5, new AbortController().signal);
    let waiterGranted = false;
    void new ByteHolding(new ReviewByteBudget(100), worker)
      .charge(6, new AbortController().signal)
      .then(() => (waiterGranted = true));
    await settled();

    await holder.charge(4, new AbortController().signal);
    holder.close();
    await settled();

    expect(waiterGranted).toBe(true);
    expect(worker.held).toBe(6);
  });

  it('makes nothing wait when told not to, as for a token', async () => {
    const worker = new WorkerByteBudget(10);
    await worker.acquire(10, new AbortController().signal);

    await expect(
      new ByteHolding(new ReviewByteBudget(100), worker).charge(1, new AbortController().signal, false),
    ).rejects.toEqual(new ByteBudgetExceeded('worker', 1, 10));
    expect(worker.waiting).toBe(0);
  });
});

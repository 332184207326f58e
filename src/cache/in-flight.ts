/**
 * Concurrent asks for the same thing share one piece of work: a hundred reviews of one new tag make
 * one registry lookup. Callers give the work a signal of its own that ends at the first asker's
 * deadline (every review has the same budget, so no asker is owed longer than one budget from the
 * start), and a caller that stops waiting, its review answered or abandoned, does not cancel it for
 * the others; each caller stops waiting at its own deadline (see `untilAborted`).
 *
 * What the shared work spends is charged to the budget of the caller that started it: it is that
 * caller's ask, the others only wait for its answer, and a budget that the others could add to
 * would let many small reviews together hold what no one review may.
 */
export class InFlight<K, V> {
  private readonly running = new Map<K, Promise<V>>();
  private readonly deadlines = new Map<K, SharedDeadline<unknown>>();

  get size(): number {
    return this.running.size;
  }

  /** The running work for `key`, or `start()` as the new one; forgotten once it settles. */
  join(key: K, start: () => Promise<V>): Promise<V> {
    const running = this.running.get(key);
    if (running) return running;
    const work = start().finally(() => this.running.delete(key));
    this.running.set(key, work);
    return work;
  }

  /**
   * `join` for work bounded by a deadline: the work runs under a SharedDeadline that each caller
   * joining it moves to its own `deadlineAt` if later, so it ends when the last caller stops waiting.
   * It carries the starting caller's `budget`.
   */
  joinUntil<B>(
    key: K,
    caller: { readonly deadlineAt: number; readonly budget?: B },
    start: (deadline: SharedDeadline<B>) => Promise<V>,
  ): Promise<V> {
    const running = this.running.get(key);
    const shared = this.deadlines.get(key);
    if (running && shared) {
      shared.extendTo(caller.deadlineAt);
      return running;
    }
    const deadline = new SharedDeadline<B>(caller.deadlineAt, caller.budget);
    this.deadlines.set(key, deadline);
    return this.join(key, async () => {
      try {
        return await start(deadline);
      } finally {
        deadline.dispose();
        if (this.deadlines.get(key) === deadline) this.deadlines.delete(key);
      }
    });
  }
}

/**
 * The deadline of work several callers wait for: its signal aborts, as `AbortSignal.timeout` does,
 * at the latest `deadlineAt` any of them brought, not at the first caller's, but never later than
 * one more budget after the first caller's: a caller that joins while the work runs is served until
 * its own deadline, while callers joining one after another cannot keep the work (and whatever it
 * holds) alive for ever. Whoever keeps naming the same stalled registry gets a timeout and fresh
 * work once a round ends. It carries the budget of the caller that started the work, and tells
 * whoever asks when the work has settled, so that what was held for it can be given back then.
 */
export class SharedDeadline<B = unknown> {
  private readonly controller = new AbortController();
  private at: number;
  private readonly latest: number;
  private timer: NodeJS.Timeout;
  private readonly settled: (() => void)[] = [];
  private disposed = false;

  constructor(
    deadlineAt: number,
    readonly budget?: B,
  ) {
    this.at = deadlineAt;
    this.latest = deadlineAt + Math.max(deadlineAt - Date.now(), 0);
    this.timer = this.arm();
  }

  /** Runs `callback` once the work has settled, or at once if it already has. */
  onSettled(callback: () => void): void {
    if (this.disposed) callback();
    else this.settled.push(callback);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get deadlineAt(): number {
    return this.at;
  }

  extendTo(deadlineAt: number): void {
    const until = Math.min(deadlineAt, this.latest);
    if (until <= this.at || this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.at = until;
    this.timer = this.arm();
  }

  /** Stops the clock once the work has settled, and tells those who asked. */
  dispose(): void {
    clearTimeout(this.timer);
    this.disposed = true;
    for (const callback of this.settled.splice(0)) callback();
  }

  private arm(): NodeJS.Timeout {
    const timer = setTimeout(
      () =>
        this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      Math.max(this.at - Date.now(), 1),
    );
    timer.unref();
    return timer;
  }
}

/** The error a caller gets when its own deadline passes while it waits. */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
  constructor() {
    super('deadline exceeded');
  }
}

/** `work`, or a DeadlineExceededError as soon as `signal` aborts, whichever comes first. */
export function untilAborted<V>(work: Promise<V>, signal: AbortSignal): Promise<V> {
  if (signal.aborted) {
    // Nobody else may be waiting for the work: its failure must not become an unhandled rejection.
    work.catch(() => undefined);
    return Promise.reject(new DeadlineExceededError());
  }
  return new Promise<V>((resolve, reject) => {
    const abort = (): void => reject(new DeadlineExceededError());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

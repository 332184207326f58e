/**
 * Concurrent asks for the same thing share one piece of work: a hundred reviews of one new tag make
 * one registry lookup. Callers give the work a signal of its own that ends at the first asker's
 * deadline (every review has the same budget, so no asker is owed longer than one budget from the
 * start), and a caller that stops waiting, its review answered or abandoned, does not cancel it for
 * the others; each caller stops waiting at its own deadline (see `untilAborted`).
 */
export class InFlight<K, V> {
  private readonly running = new Map<K, Promise<V>>();

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
  if (signal.aborted) return Promise.reject(new DeadlineExceededError());
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

/**
 * Bytes read from registries and still held, bounded twice: per review and per worker process.
 * Each body is capped by its own limit (a manifest 4 MiB, an attestation 8 MiB); these bound their
 * sum, which is what one review of four images with maximal artifacts took past the kits' memory
 * limits. The numbers, and why, are in SECURITY.md's budget table.
 */

const MiB = 1024 * 1024;

/**
 * What one review may hold at once: a maximal attestation (8 MiB) with its manifest (4 MiB) fits
 * with room, and two such reviews fill a worker.
 */
export const REVIEW_BYTES = 16 * MiB;

/**
 * What one worker process holds at once across its reviews: two reviews at their budget. The
 * smallest kit (256Mi, one worker) has about 57 MiB over the worker's measured peak
 * (docs/deploying.md); bodies are read into one buffer each, and the verifier parses them, so what
 * is held costs up to about twice its size while it is read.
 */
export const WORKER_BYTES = 32 * MiB;

/** Why bytes could not be held: the review's own budget is full, or the worker's is. */
export type ByteBudgetName = 'review' | 'worker';

/** A review's bytes: refused past the limit, since waiting for itself would never end. */
export class ReviewByteBudget {
  private heldBytes = 0;
  private peakBytes = 0;

  constructor(readonly limit = REVIEW_BYTES) {}

  get held(): number {
    return this.heldBytes;
  }

  /** The most this review held at once. */
  get peak(): number {
    return this.peakBytes;
  }

  tryCharge(bytes: number): boolean {
    if (this.heldBytes + bytes > this.limit) return false;
    this.heldBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
    return true;
  }

  release(bytes: number): void {
    this.heldBytes -= bytes;
  }
}

/** Why a signal aborted, as an Error: a deadline's TimeoutError (a DOMException), or an AbortError. */
function abortReason(signal: AbortSignal): Error {
  // Told apart by shape: a DOMException made in another realm is no instance of this one's Error.
  const reason = signal.reason as { name?: unknown } | null | undefined;
  return typeof reason?.name === 'string'
    ? (reason as Error)
    : new DOMException('The operation was aborted', 'AbortError');
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

/**
 * A worker's bytes, shared by every review it serves. A read that finds no room waits, first come
 * first served, until room is given back or its own deadline passes: a waiter holds up those behind
 * it at most until then, and no longer. Reads of reviews that already hold bytes do not wait (see
 * ByteHolding.charge); they take room ahead of the queue when there is some, and are refused when
 * there is none.
 */
export class WorkerByteBudget {
  private heldBytes = 0;
  private peakBytes = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly limit = WORKER_BYTES) {}

  get held(): number {
    return this.heldBytes;
  }

  /** The most the worker held at once. */
  get peak(): number {
    return this.peakBytes;
  }

  /** Reads waiting for room now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Holds `bytes` once there is room, or rejects when `signal` aborts first. Asking for more than
   * the whole budget is a caller's error: every caller's own limit is below it.
   */
  acquire(bytes: number, signal: AbortSignal): Promise<void> {
    if (bytes > this.limit)
      return Promise.reject(new RangeError(`${bytes} bytes is more than the worker holds`));
    if (this.waiters.length === 0 && this.heldBytes + bytes <= this.limit) {
      this.hold(bytes);
      return Promise.resolve();
    }
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const abort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        // The one that gave up may have held up others that fit now.
        this.grantWaiters();
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal.removeEventListener('abort', abort);
          resolve();
        },
      };
      signal.addEventListener('abort', abort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Holds `bytes` if there is room now, ahead of any waiter: for reviews that already hold some. */
  tryAcquire(bytes: number): boolean {
    if (this.heldBytes + bytes > this.limit) return false;
    this.hold(bytes);
    return true;
  }

  release(bytes: number): void {
    this.heldBytes -= bytes;
    this.grantWaiters();
  }

  private hold(bytes: number): void {
    this.heldBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.heldBytes + this.waiters[0].bytes <= this.limit) {
      const waiter = this.waiters.shift()!;
      this.hold(waiter.bytes);
      waiter.grant();
    }
  }
}

/** A budget that would be exceeded, as the caller names what it was reading. */
export class ByteBudgetExceeded extends Error {
  override name = 'ByteBudgetExceeded';

  constructor(
    readonly budget: ByteBudgetName,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${bytes} more bytes would take the ${budget} past the ${limit} bytes it may hold at once`);
  }
}

/**
 * The bytes read for one piece of work (a review's own, or work shared among reviews) and still
 * held: charged to the review's budget and the worker's, and given back together when the work is
 * done with them.
 */
export class ByteHolding {
  private heldBytes = 0;
  private closed = false;

  constructor(
    private readonly review: ReviewByteBudget | undefined,
    private readonly worker: WorkerByteBudget,
  ) {}

  get held(): number {
    return this.heldBytes;
  }

  /**
   * Holds `bytes` more, refused at once past the review's budget. For room in the worker's, only a
   * review that holds nothing yet may wait (`mayWait`), until `signal` aborts; one that already
   * holds bytes is refused when there is no room. So whoever waits holds nothing that others wait
   * for, and reviews cannot hold the worker's budget between them while each waits for the rest.
   */
  async charge(bytes: number, signal: AbortSignal, mayWait = true): Promise<void> {
    // Once the work is over nothing more is held for it: a read it left behind ends here.
    if (this.closed || signal.aborted)
      throw signal.aborted ? abortReason(signal) : new Error('the work is over');
    const holdsAlready = (this.review?.held ?? this.heldBytes) > 0;
    if (this.review && !this.review.tryCharge(bytes))
      throw new ByteBudgetExceeded('review', bytes, this.review.limit);
    try {
      if (mayWait && !holdsAlready) await this.worker.acquire(bytes, signal);
      else if (!this.worker.tryAcquire(bytes))
        throw new ByteBudgetExceeded('worker', bytes, this.worker.limit);
    } catch (error) {
      this.review?.release(bytes);
      throw error;
    }
    if (this.closed) {
      this.review?.release(bytes);
      this.worker.release(bytes);
      throw new Error('the work is over');
    }
    this.heldBytes += bytes;
  }

  /** Gives back `bytes` of what is held, such as a body dropped after it was read. */
  release(bytes: number): void {
    const given = Math.min(bytes, this.heldBytes);
    this.heldBytes -= given;
    this.review?.release(given);
    this.worker.release(given);
  }

  /** Gives back everything, once the work is done with it, and holds nothing more for it. */
  close(): void {
    this.closed = true;
    this.release(this.heldBytes);
  }
}

import { setMaxListeners } from 'node:events';
import { ReviewByteBudget } from './byte-budget';

/**
 * What a caller gives every call: when to give up, and the moment it will, for Retry-After; and
 * the review it is for, whose byte budget what is read under it is charged to.
 */
export interface RegistryDeadline {
  readonly signal: AbortSignal;
  readonly deadlineAt: number;
  /** The review's bytes budget. Without one, only the worker's budget applies. */
  readonly budget?: ReviewByteBudget;
  /**
   * Calls `release` once the work this deadline bounds has settled (work shared among reviews
   * says so). Without it, what is read under the deadline is held until the deadline passes.
   */
  onSettled?(release: () => void): void;
}

/**
 * A review's deadline, `ms` from now, with the review's byte budget. Its signal, and the timer behind it, is made when something
 * first reads it, which only a registry request or a wait for one does: a review answered from the
 * caches arms no timer. An eager AbortSignal.timeout cost about 15 µs a review on this project's
 * bench machine (each keeps a timer, weakly tracked, for the whole budget: 3 s of them at 2,000
 * reviews/s), more than the cached answers themselves. The signal aborts at the moment an eager one
 * would, with the same TimeoutError.
 */
export function registryDeadline(ms: number): RegistryDeadline {
  return new LazyRegistryDeadline(Date.now() + ms);
}

// A class rather than an object literal with accessors, which V8 builds on a slow path: one is
// made for every review that reaches the registry phase, cache hits included.
class LazyRegistryDeadline implements RegistryDeadline {
  private madeSignal?: AbortSignal;
  private madeBudget?: ReviewByteBudget;

  constructor(readonly deadlineAt: number) {}

  // Made, like the signal, only when a registry request needs it.
  get budget(): ReviewByteBudget {
    return (this.madeBudget ??= new ReviewByteBudget());
  }

  get signal(): AbortSignal {
    if (this.madeSignal === undefined) {
      const left = this.deadlineAt - Date.now();
      this.madeSignal =
        left > 0
          ? AbortSignal.timeout(left)
          : AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      // Every request of the review listens on it, up to REVIEW_IMAGES_AT_ONCE images' worth at
      // once, and each stops listening when it ends: more than Node's warning threshold of 10.
      setMaxListeners(0, this.madeSignal);
    }
    return this.madeSignal;
  }
}

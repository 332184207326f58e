// The caches every feature shares: bounded by entries or weight, and the coalescing of work
// several callers wait for, under one deadline.
export { BoundedTtlCache } from './bounded-ttl-cache';
export type { CacheEvent } from './bounded-ttl-cache';
export { DeadlineExceededError, InFlight, untilAborted } from './in-flight';
export { inTurns } from './turns';

/**
 * At most `limit` pieces of work at once; the rest wait their turn, first come first served. A
 * waiter holds only its place in the queue (no timer, no listener on a signal), so a queue of
 * thousands costs a closure each; work whose turn comes after its deadline is expected to see that
 * and end at once. A finished piece hands its place straight to the next, so the bound is exact.
 */
export function inTurns(limit: number): <R>(work: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <R>(work: () => Promise<R>): Promise<R> => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

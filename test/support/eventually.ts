import { setTimeout as delay } from 'node:timers/promises';

export interface EventuallyOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/** Thrown by an attempt to stop `eventually` at once: waiting longer cannot help (e.g. the process exited). */
export class WaitingIsPointless extends Error {}

/**
 * Retries `attempt` until it returns without throwing, and returns its result. Reloads, rotations, the
 * apiserver's informers and webhook configurations all take effect asynchronously: poll, never sleep.
 * The timeout is a point at which to give up on something that is not going to happen, never a bound
 * the test asserts: a busy machine may take many times longer than a quiet one, and still be right.
 */
export async function eventually<T>(
  description: string,
  attempt: () => Promise<T>,
  { timeoutMs = 30_000, intervalMs = 250 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof WaitingIsPointless)
        throw new Error(`gave up waiting for ${description}: ${error.message}`);
      if (Date.now() >= deadline) {
        const last = error instanceof Error ? error.message : String(error);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; last attempt: ${last}`);
      }
    }
    await delay(intervalMs);
  }
}

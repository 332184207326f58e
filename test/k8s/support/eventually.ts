import { setTimeout as delay } from 'node:timers/promises';

export interface EventuallyOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/** Thrown by an attempt to stop `eventually` at once: waiting longer cannot help (e.g. the process exited). */
export class WaitingIsPointless extends Error {}

/**
 * Retries `attempt` until it returns without throwing, and returns its result. The apiserver's informers,
 * the controller-manager and webhook configurations all take effect asynchronously: poll, never sleep.
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

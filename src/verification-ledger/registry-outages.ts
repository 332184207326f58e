import type { RegistryFailureReason } from '../registry';

/**
 * The registry failures the ledger answers for: the registry is away, not saying no. A registry that
 * answers (a 404, a 401, something malformed, a private address refused) has said something about
 * the image or about us, and the ledger never speaks over it.
 */
export const OUTAGE_REASONS: ReadonlySet<RegistryFailureReason> = new Set<RegistryFailureReason>([
  'timed out',
  'unreachable',
  'rate limited',
]);

export const isOutage = (reason: RegistryFailureReason | undefined): boolean =>
  reason !== undefined && OUTAGE_REASONS.has(reason);

/** Registries tracked at once: every one a pod names could be, so the oldest news goes first. */
const MAX_REGISTRIES = 1_000;

/**
 * Which registries are failing now, from every request the registry client makes: one that ended in
 * an outage reason marks its registry failing, any answer clears it. While a registry is failing, a
 * digest the ledger may admit is admitted without asking it again (a review would only wait for its
 * deadline), and the background refresher probes it with one verification at a time.
 */
export class RegistryOutages {
  private readonly failing = new Map<string, { since: number; reason: RegistryFailureReason }>();
  private readonly listeners: ((registry: string, failing: boolean) => void)[] = [];

  constructor(private readonly now: () => number) {}

  onChange(listener: (registry: string, failing: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** One request's outcome: `ok`, or why it failed. */
  observe(registry: string, outcome: 'ok' | RegistryFailureReason): void {
    if (isOutage(outcome as RegistryFailureReason)) {
      if (this.failing.has(registry)) return;
      this.failing.set(registry, { since: this.now(), reason: outcome as RegistryFailureReason });
      while (this.failing.size > MAX_REGISTRIES) {
        const oldest = this.failing.keys().next().value as string;
        this.failing.delete(oldest);
        this.notify(oldest, false);
      }
      this.notify(registry, true);
    } else if (this.failing.delete(registry)) this.notify(registry, false);
  }

  isFailing(registry: string): boolean {
    return this.failing.has(registry);
  }

  /** Why the registry is failing, if it is. */
  failure(registry: string): RegistryFailureReason | undefined {
    return this.failing.get(registry)?.reason;
  }

  registries(): string[] {
    return [...this.failing.keys()];
  }

  private notify(registry: string, failing: boolean): void {
    for (const listener of this.listeners) listener(registry, failing);
  }
}

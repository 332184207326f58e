/** How a background re-verification ended, as metrics count it. */
export type RefreshOutcome = 'verified' | 'refused' | 'registry failure' | 'stale' | 'deferred';

/** A digest in use, and how to verify it again. */
export interface HotDigest {
  readonly key: string;
  readonly registry: string;
  /** When its verdict should be verified again, in Unix milliseconds. */
  readonly refreshAt: number;
  /** Verifies it again, past every cache, records what came of it, and says when to next. */
  readonly refresh: () => Promise<RefreshResult>;
}

export interface RefreshResult {
  readonly outcome: Exclude<RefreshOutcome, 'deferred'>;
  /** For a verified digest: when its new verdict is due again. */
  readonly refreshAt?: number;
}

/** Digests kept warm at once: the most recently used go on, the least recently used drop out. */
export const MAX_HOT_DIGESTS = 1_000;
/** Re-verifications running at once, per process. */
export const MAX_REFRESHES_AT_ONCE = 2;
/** Re-verifications started per minute, per process: the registry load refresh may add, bounded. */
export const MAX_REFRESHES_PER_MINUTE = 60;
/** How often a failing registry is probed with one re-verification. */
export const OUTAGE_PROBE_INTERVAL_MS = 5_000;

interface Entry {
  digest: HotDigest;
  usedSinceRefresh: boolean;
}

/**
 * Re-verifies digests in use before their verdicts expire, so a digest in daily use reaches an
 * outage with a fresh verdict in the ledger and in the verifier's cache. Only digests used since
 * their last refresh are refreshed (one no longer used drops out), at most MAX_REFRESHES_AT_ONCE at
 * a time and MAX_REFRESHES_PER_MINUTE a minute; what the budget leaves is deferred to the next tick.
 * While a registry is failing, one of its digests is re-verified every OUTAGE_PROBE_INTERVAL_MS
 * whatever its schedule: the probe that tells the bouncer the registry is back.
 */
export class HotDigests {
  private readonly entries = new Map<string, Entry>();
  /** When each failing registry is next probed; forgotten once it answers. */
  private readonly nextProbe = new Map<string, number>();
  private running = 0;
  private windowStart = 0;
  private startedInWindow = 0;
  private readonly listeners: ((outcome: RefreshOutcome) => void)[] = [];

  constructor(
    private readonly now: () => number,
    private readonly isFailing: (registry: string) => boolean,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  onRefresh(listener: (outcome: RefreshOutcome) => void): void {
    this.listeners.push(listener);
  }

  /** A review used the digest's verdict; `refreshAt` replaces the schedule only when it is later news. */
  use(digest: HotDigest): void {
    const held = this.entries.get(digest.key);
    this.entries.delete(digest.key);
    this.entries.set(digest.key, {
      digest:
        held && held.digest.refreshAt > digest.refreshAt
          ? { ...digest, refreshAt: held.digest.refreshAt }
          : digest,
      usedSinceRefresh: true,
    });
    while (this.entries.size > MAX_HOT_DIGESTS)
      this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Starts what is due, within the budgets; the returned promise settles when those finish. */
  tick(): Promise<void> {
    const now = this.now();
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.startedInWindow = 0;
    }
    const started: Promise<void>[] = [];
    for (const registry of this.nextProbe.keys())
      if (!this.isFailing(registry)) this.nextProbe.delete(registry);
    for (const [key, entry] of [...this.entries]) {
      const { registry } = entry.digest;
      const failing = this.isFailing(registry);
      const due = failing ? (this.nextProbe.get(registry) ?? 0) <= now : entry.digest.refreshAt <= now;
      if (!due) continue;
      if (!failing && !entry.usedSinceRefresh) {
        this.entries.delete(key);
        continue;
      }
      if (this.running >= MAX_REFRESHES_AT_ONCE || this.startedInWindow >= MAX_REFRESHES_PER_MINUTE) {
        this.emit('deferred');
        break;
      }
      if (failing) this.nextProbe.set(registry, now + OUTAGE_PROBE_INTERVAL_MS);
      entry.usedSinceRefresh = false;
      this.running += 1;
      this.startedInWindow += 1;
      started.push(
        entry.digest
          .refresh()
          .catch((): RefreshResult => ({ outcome: 'registry failure' }))
          .then(({ outcome, refreshAt }) => {
            const held = this.entries.get(key);
            if (held !== undefined) {
              // A refused or stale verdict is nothing to keep warm; a failure is tried again later.
              if (outcome === 'refused' || outcome === 'stale') this.entries.delete(key);
              else
                held.digest = {
                  ...held.digest,
                  refreshAt: refreshAt ?? this.now() + OUTAGE_PROBE_INTERVAL_MS,
                };
            }
            this.emit(outcome);
          })
          .finally(() => {
            this.running -= 1;
          }),
      );
    }
    return Promise.all(started).then(() => undefined);
  }

  private emit(outcome: RefreshOutcome): void {
    for (const listener of this.listeners) listener(outcome);
  }
}

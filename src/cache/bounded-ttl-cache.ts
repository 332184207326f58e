/** What a cache reports, so that metrics can count it without the cache knowing about metrics. */
export type CacheEvent = 'hit' | 'miss' | 'eviction';

export interface BoundedTtlCacheOptions<V = unknown> {
  /** Names the cache in metrics: `tag-digest`, `manifest`, `token`, `verification`. */
  readonly name: string;
  readonly maxEntries: number;
  readonly clock?: () => number;
  /**
   * A second bound, for values whose sizes differ by orders of magnitude: the weights of the
   * entries held stay at most `maxWeight`, the least recently used going first. A value heavier
   * than the whole bound is not kept at all.
   */
  readonly maxWeight?: number;
  readonly weigh?: (value: V) => number;
}

/**
 * A map whose entries expire and whose size is bounded: the least recently used entry goes first
 * when it is full. Every value lives for the time its writer gives, so one cache can hold a short
 * negative answer beside a long positive one. Memory stays bounded whatever a hostile review asks.
 */
export class BoundedTtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number; weight: number }>();
  private weight = 0;
  private readonly listeners: ((cache: string, event: CacheEvent) => void)[] = [];
  private readonly clock: () => number;

  constructor(private readonly options: BoundedTtlCacheOptions<V>) {
    this.clock = options.clock ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The weights of the entries held, when the cache weighs them. */
  get heldWeight(): number {
    return this.weight;
  }

  onEvent(listener: (cache: string, event: CacheEvent) => void): void {
    this.listeners.push(listener);
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt <= this.clock()) {
      if (entry !== undefined) this.remove(key);
      this.emit('miss');
      return undefined;
    }
    // Re-inserting moves the entry to the young end of the Map's insertion order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.emit('hit');
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.remove(key);
    const weight = this.options.weigh?.(value) ?? 0;
    const { maxWeight = Infinity } = this.options;
    if (weight > maxWeight) return;
    this.entries.set(key, { value, expiresAt: this.clock() + ttlMs, weight });
    this.weight += weight;
    while (this.entries.size > this.options.maxEntries || this.weight > maxWeight) {
      this.remove(this.entries.keys().next().value as K);
      this.emit('eviction');
    }
  }

  delete(key: K): void {
    this.remove(key);
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }

  private remove(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  private emit(event: CacheEvent): void {
    for (const listener of this.listeners) listener(this.options.name, event);
  }
}

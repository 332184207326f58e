import {
  LedgerRecord,
  TagRecord,
  TagSubject,
  VerdictRecord,
  VerdictSubject,
  recordKey,
  recordedAt,
  tagKey,
  verdictKey,
} from './ledger-record';

/** Verdicts kept: as many as the verifier's cache holds. */
export const MAX_LEDGER_VERDICTS = 10_000;
/** Tag resolutions kept: as many as the tag cache holds. */
export const MAX_LEDGER_TAGS = 10_000;

/**
 * The ledger in memory: the latest record under each key, bounded in count (the record written or
 * refreshed longest ago goes first), so memory and the compacted file stay bounded whatever is
 * verified. A record older than the one already held under its key is ignored: records arrive from
 * several workers, not necessarily in order.
 */
export class LedgerIndex {
  private readonly verdicts = new Map<string, VerdictRecord>();
  private readonly tags = new Map<string, TagRecord>();
  /** Verdicts held per registry: which registries' outages matter to the ledger. */
  private readonly perRegistry = new Map<string, number>();

  get size(): number {
    return this.verdicts.size + this.tags.size;
  }

  get verdictCount(): number {
    return this.verdicts.size;
  }

  get tagCount(): number {
    return this.tags.size;
  }

  /** Whether the record was newer than what the index held under its key. */
  put(record: LedgerRecord): boolean {
    const [map, max] =
      record.type === 'verdict'
        ? [this.verdicts as Map<string, LedgerRecord>, MAX_LEDGER_VERDICTS]
        : [this.tags as Map<string, LedgerRecord>, MAX_LEDGER_TAGS];
    const key = recordKey(record);
    const held = map.get(key);
    if (held !== undefined && recordedAt(held) > recordedAt(record)) return false;
    if (held !== undefined) this.count(held, -1);
    map.delete(key);
    map.set(key, record);
    this.count(record, 1);
    while (map.size > max) {
      const oldest = map.keys().next().value as string;
      this.count(map.get(oldest)!, -1);
      map.delete(oldest);
    }
    return true;
  }

  /** Whether the ledger holds a verdict of the registry's. */
  holdsRegistry(registry: string): boolean {
    return this.perRegistry.has(registry);
  }

  private count(record: LedgerRecord, by: 1 | -1): void {
    if (record.type !== 'verdict') return;
    const count = (this.perRegistry.get(record.registry) ?? 0) + by;
    if (count > 0) this.perRegistry.set(record.registry, count);
    else this.perRegistry.delete(record.registry);
  }

  verdict(subject: Omit<VerdictSubject, 'rule'>): VerdictRecord | undefined {
    return this.verdicts.get(`v\n${verdictKey(subject)}`);
  }

  tag(subject: TagSubject): TagRecord | undefined {
    return this.tags.get(`t\n${tagKey(subject)}`);
  }

  records(): LedgerRecord[] {
    return [...this.verdicts.values(), ...this.tags.values()];
  }

  clear(): void {
    this.verdicts.clear();
    this.tags.clear();
    this.perRegistry.clear();
  }
}

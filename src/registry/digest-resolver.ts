import { Injectable } from '@nestjs/common';
import { BoundedTtlCache, DeadlineExceededError, InFlight, untilAborted } from '../cache';
import { RegistryClient } from './registry-client';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure, RegistryFailureReason } from './registry-failure';
import { RegistrySettings } from './registry-settings';

/** A cluster runs a few thousand distinct tags; this bounds the memory a hostile stream of new ones can take. */
const MAX_TAGS = 10_000;

/** What a tag resolved to, or why it did not, with where the answer came from. */
export interface DigestResolution {
  readonly registry: string;
  readonly digest?: string;
  readonly failure?: { readonly reason: RegistryFailureReason; readonly detail: string };
  /** `hit`: from the tag cache; `miss`: asked of the registry now (perhaps shared with other reviews). */
  readonly cache: 'hit' | 'miss';
  readonly ms: number;
}

/**
 * Tags to digests: a bounded cache whose entries live for the policy's tag TTL (a tag moves, so
 * not long), and one registry lookup for any number of concurrent asks of the same tag. Failures
 * are not cached: the next review asks again, and a registry back from an outage is seen at once.
 */
@Injectable()
export class DigestResolver {
  private readonly digests = new BoundedTtlCache<string, string>({
    name: 'tag-digest',
    maxEntries: MAX_TAGS,
  });
  private readonly lookups = new InFlight<string, string>();

  constructor(private readonly client: RegistryClient) {
    this.digests.onEvent((cache, event) => client.reportCacheEvent(cache, event));
  }

  /** Tag lookups being made right now. */
  get inFlight(): number {
    return this.lookups.size;
  }

  async resolve(
    registry: string,
    repository: string,
    tag: string,
    settings: RegistrySettings,
    ttlMs: number,
    deadline: RegistryDeadline,
  ): Promise<DigestResolution> {
    const started = Date.now();
    const key = `${registry}/${repository}:${tag}`;
    const elapsed = (): number => Date.now() - started;
    const cached = this.digests.get(key);
    if (cached !== undefined) return { registry, digest: cached, cache: 'hit', ms: elapsed() };
    // A lookup whose turn came after the review's deadline starts nothing: nobody would wait for it.
    if (deadline.signal.aborted)
      return {
        registry,
        failure: { reason: 'timed out', detail: 'no answer within the review deadline' },
        cache: 'miss',
        ms: elapsed(),
      };
    try {
      const digest = await untilAborted(
        // Shared by every review asking for this tag now: it runs until the last of them stops
        // waiting, not to the deadline of whichever review happened to ask first.
        this.lookups.joinUntil(key, deadline, async (shared) => {
          const resolved = await this.client.resolveTag({
            access: settings.accessFor(registry),
            repository,
            tag,
            deadline: shared,
          });
          this.digests.set(key, resolved.digest, ttlMs);
          return resolved.digest;
        }),
        deadline.signal,
      );
      return { registry, digest, cache: 'miss', ms: elapsed() };
    } catch (error) {
      const failure =
        error instanceof RegistryFailure
          ? error
          : error instanceof DeadlineExceededError
            ? new RegistryFailure('timed out', 'no answer within the review deadline')
            : new RegistryFailure('unreachable', error instanceof Error ? error.message : String(error));
      return {
        registry,
        failure: { reason: failure.reason, detail: failure.detail },
        cache: 'miss',
        ms: elapsed(),
      };
    }
  }
}

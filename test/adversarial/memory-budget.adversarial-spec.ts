import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryClient, RegistryDeadline, RegistryRequestEvent, registryDeadline } from '../../src/registry';
import {
  CosignWriter,
  DSSE_ENVELOPE,
  OCI_CONFIG,
  SLSA,
  byKeys,
  keyPair,
} from '../../src/testing/cosign-fixtures';
import { FakeRegistry, OCI_MANIFEST, tagFor } from '../../src/testing/fake-registry';
import { ImageVerifier } from '../../src/verification';

const MiB = 1024 * 1024;
/** SECURITY.md's budget table: what one review, and one worker, may hold at once. */
const REVIEW_BYTES = 16 * MiB;
const WORKER_BYTES = 32 * MiB;

/**
 * Class 4 of SECURITY.md: a registry serves artifacts of the largest size each is allowed, as many
 * as a review reads, so that one review (or a few at once) holds hundreds of MiB and the worker is
 * killed at its memory limit. The bytes held at once are pinned by counts: every body read stays
 * held until the work that read it settles, and the test keeps all that work from settling (its
 * referrers request waits) until every read has been decided, so the number read is the number held
 * at once.
 */
describe('class 4: a registry that serves the largest artifacts it may', () => {
  const ci = keyPair();

  /** Bodies each layer of 1 MiB, every one a valid blob under its digest (junk, as a hostile registry serves). */
  function attestedWithJunk(registry: FakeRegistry, repository: string, layers: number): string {
    const digest = new CosignWriter(registry).image(repository);
    const config = registry.blob(Buffer.from('{"architecture":"","os":""}'), OCI_CONFIG);
    const blobs = Array.from({ length: layers }, () =>
      registry.blob(randomBytes(MiB), DSSE_ENVELOPE, { predicateType: SLSA }),
    );
    registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: blobs },
      tagFor(digest, '.att'),
    );
    return digest;
  }

  /**
   * Holds each referrers request until `release` is called, then answers it as distribution 2.8
   * does (404): until then, no verification work can settle and give back what it holds.
   */
  function holdReferrers(registries: readonly FakeRegistry[]): { release(): void } {
    const held: ServerResponse[] = [];
    let released = false;
    for (const registry of registries)
      registry.intercept = (request: IncomingMessage, response: ServerResponse): boolean => {
        if (!/\/referrers\//.test(request.url ?? '') || released) return false;
        held.push(response);
        return true;
      };
    return {
      release: () => {
        released = true;
        for (const response of held.splice(0)) response.writeHead(404).end();
      },
    };
  }

  /** Blob reads as the client reports them, and a promise for when `count` of them are decided. */
  function blobOutcomes(client: RegistryClient) {
    const blobs: RegistryRequestEvent[] = [];
    const waiters: { count: number; resolve: () => void }[] = [];
    client.observe({
      request: (event) => {
        if (event.operation !== 'blob') return;
        blobs.push(event);
        for (const waiter of waiters) if (blobs.length >= waiter.count) waiter.resolve();
      },
      cache: () => undefined,
    });
    return {
      blobs,
      decided: (count: number) =>
        new Promise<void>((resolve) => {
          if (blobs.length >= count) resolve();
          else waiters.push({ count, resolve });
        }),
      count: (outcome: string, registry?: string) =>
        blobs.filter(
          (b) => String(b.outcome) === outcome && (registry === undefined || b.registry === registry),
        ).length,
    };
  }

  const verifyAttestations = (
    verifier: ImageVerifier,
    registry: FakeRegistry,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ) =>
    verifier.verify(
      {
        access: registry.access,
        repository,
        digest,
        policyRevision: 'r1',
        successTtlMs: 60_000,
        failureTtlMs: 60_000,
      },
      { kind: 'attestations', trust: byKeys(ci.publicPem), predicateType: SLSA },
      deadline,
    );

  it('holds at most one review budget (16 MiB) at once for a review of four images with 8 MiB of artifacts each', async () => {
    const registry = new FakeRegistry();
    await registry.start();
    const client = new RegistryClient();
    try {
      const repositories = ['a', 'b', 'c', 'd'].map((name) => `demo/heavy-${name}`);
      const digests = repositories.map((repository) => attestedWithJunk(registry, repository, 8));
      const referrers = holdReferrers([registry]);
      const outcomes = blobOutcomes(client);
      const verifier = new ImageVerifier(client);
      const review = registryDeadline(60_000);

      const verifications = repositories.map((repository, i) =>
        verifyAttestations(verifier, registry, repository, digests[i], review),
      );
      await outcomes.decided(32);
      referrers.release();
      const results = await Promise.all(verifications);

      // 15 bodies of 1 MiB fit beside the four .att manifests (a few KiB); the 16th would not.
      expect(outcomes.count('ok')).toBe(Math.floor(REVIEW_BYTES / MiB) - 1);
      expect(outcomes.count('over budget')).toBe(32 - 15);
      expect(results.every((result) => !result.verified && result.registryFailure === undefined)).toBe(true);
    } finally {
      await client.onModuleDestroy();
      await registry.stop();
    }
  });

  it('holds at most one worker budget (32 MiB) at once across three concurrent reviews of 16 MiB of artifacts each', async () => {
    const registries = [new FakeRegistry(), new FakeRegistry(), new FakeRegistry()];
    await Promise.all(registries.map((registry) => registry.start()));
    const client = new RegistryClient();
    try {
      const digests = registries.map((registry) => attestedWithJunk(registry, 'demo/heavy', 16));
      const referrers = holdReferrers(registries);
      const outcomes = blobOutcomes(client);
      const verifier = new ImageVerifier(client);

      // Three reviews, each with a deadline (and a budget) of its own.
      const verifications = registries.map((registry, i) =>
        verifyAttestations(verifier, registry, 'demo/heavy', digests[i], registryDeadline(60_000)),
      );
      await outcomes.decided(48);
      referrers.release();
      await Promise.all(verifications);

      // 31 bodies of 1 MiB fit beside the three .att manifests; every other one was refused, and no
      // review held more than its own budget.
      expect(outcomes.count('ok')).toBe(Math.floor(WORKER_BYTES / MiB) - 1);
      expect(outcomes.count('over budget')).toBe(48 - 31);
      for (const registry of registries)
        expect(outcomes.count('ok', registry.access.registry)).toBeLessThanOrEqual(
          Math.floor(REVIEW_BYTES / MiB) - 1,
        );
    } finally {
      await client.onModuleDestroy();
      await Promise.all(registries.map((registry) => registry.stop()));
    }
  });
});

import { BoundedTtlCache } from '../cache/bounded-ttl-cache';
import { SLSA, byKeys, deadlineIn, envelopeOf, keyPair } from '../testing/cosign-fixtures';
import { verifierOverFakeRegistry } from '../testing/verifier-over-fake-registry';
import type { DsseEnvelope } from './cosign-evidence';
import { VerificationRequest } from './image-verifier.service';

// The verification cache is bounded by the payload bytes of the statements its verdicts keep
// (MAX_CACHED_STATEMENT_BYTES): a verdict's weight goes into the cache beside it, never to callers.

describe('the verification cache, weighing verdicts', () => {
  const fake = verifierOverFakeRegistry('demo/weighed');
  const { cosign } = fake;
  const ci = keyPair();

  const attestations = (keepStatements: boolean): VerificationRequest => ({
    kind: 'attestations',
    trust: byKeys(ci.publicPem),
    predicateType: SLSA,
    keepStatements,
  });
  /** An image with an SLSA attestation by `ci`. */
  const attestedImage = (): { digest: string; envelope: DsseEnvelope } => {
    const digest = cosign.image(fake.repository);
    const envelope = envelopeOf(cosign.statement(fake.repository, digest, SLSA), ci.privateKey);
    cosign.pushAttestations(fake.repository, digest, [{ envelope, predicateType: SLSA }]);
    return { digest, envelope };
  };
  /** The verification cache, once a verdict went into it. */
  const cacheWritten = (set: jest.SpyInstance): BoundedTtlCache<string, unknown> =>
    (set.mock.contexts as BoundedTtlCache<string, unknown>[]).find((cache) => cache.name === 'verification')!;

  afterEach(() => jest.restoreAllMocks());

  it('weighs a verdict that keeps statements by their payload bytes, and hands callers the verdict alone', async () => {
    const { digest, envelope } = attestedImage();
    const set = jest.spyOn(BoundedTtlCache.prototype, 'set');

    const miss = await fake.sut.verify(fake.target(digest), attestations(true), deadlineIn());
    const hit = await fake.sut.verify(fake.target(digest), attestations(true), deadlineIn());

    expect(cacheWritten(set).heldWeight).toBe(Buffer.from(envelope.payload, 'base64').length);
    expect(miss).toMatchObject({ verified: true, cache: 'miss' });
    expect(hit).toEqual({ ...miss, cache: 'hit', ms: hit.ms });
    expect(Object.keys(hit).sort()).toEqual([
      'attestations',
      'cache',
      'digest',
      'evidence',
      'ms',
      'signers',
      'verified',
    ]);
  });

  it('weighs a verdict that keeps no statements at nothing', async () => {
    const { digest } = attestedImage();
    const set = jest.spyOn(BoundedTtlCache.prototype, 'set');

    const miss = await fake.sut.verify(fake.target(digest), attestations(false), deadlineIn());

    expect(miss).toMatchObject({ verified: true, cache: 'miss' });
    expect(cacheWritten(set).heldWeight).toBe(0);
  });
});

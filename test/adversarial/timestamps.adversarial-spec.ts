import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  byKeys,
  deadlineIn,
  envelopeOf,
  keyBundle,
  keyPair,
  trustOf,
} from '../../src/testing/cosign-fixtures';
import {
  countSignatureChecks as countChecks,
  verifierOverFakeRegistry,
} from '../../src/testing/verifier-over-fake-registry';
import { TimestampAuthority, timestampAuthority, timestampOver } from '../../src/testing/timestamp-fixtures';
import { ImageVerifier, VerificationRequest } from '../../src/verification';

/**
 * RFC 3161 timestamps, which a signer (not the TSA) puts beside a signature: one over another
 * signature, one by an authority of the signer's own, one forged, and floods of them, in DER built
 * to burn a parser or the budget of signature checks. A timestamp that does not verify never
 * stands in for one that does; what does not parse is discarded and counted; every check is paid
 * from the same budget as the signatures'.
 */
describe('hostile timestamps', () => {
  const fake = verifierOverFakeRegistry('demo/stamped');
  const { cosign, target } = fake;
  const ci = keyPair();
  let sut: ImageVerifier;
  let repository: string;
  let tsa: TimestampAuthority;
  let ownTsa: TimestampAuthority;

  const requiring = (required = true): VerificationRequest => {
    const timestamps = { authorities: [tsa.node, tsa.root.node], required };
    return { kind: 'signatures', trust: trustOf(byKeys(ci.publicPem).keys, undefined, { timestamps }) };
  };
  /** A bundle by the trusted key whose timestamps are `stamps(signature)`. */
  const pushStamped = (digest: string, stamps: (signature: Buffer) => Buffer[]): void => {
    const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
    cosign.pushBundle(
      repository,
      digest,
      keyBundle(envelope, stamps(Buffer.from(envelope.signatures[0].sig, 'base64'))),
    );
  };

  beforeAll(async () => {
    Logger.overrideLogger(false);
    tsa = await timestampAuthority('trusted tsa');
    ownTsa = await timestampAuthority("the signer's own tsa");
  });
  beforeEach(() => ({ sut, repository } = fake));
  afterEach(() => jest.restoreAllMocks());

  it('a real timestamp of the trusted TSA over another signature does not date this one, and costs no check', async () => {
    const digest = cosign.image(repository);
    const other = randomBytes(71);
    pushStamped(digest, () => [timestampOver(tsa, other)]);
    const meter = countChecks();

    const result = await sut.verify(target(digest), requiring(), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'no verified timestamp' });
    expect(result.evidence[0].timestamps).toEqual(['timestamp not counted: it stamps another signature']);
    // The bundle's own signature only: the imprint is compared before any signature check.
    expect(meter.checks).toBe(1);
  });

  it("a timestamp by the signer's own TSA, or one forged in the trusted TSA's name, is not a signed time", async () => {
    const digest = cosign.image(repository);
    pushStamped(digest, (signature) => [
      timestampOver(ownTsa, signature),
      timestampOver(tsa, signature, { signedBy: ownTsa.privateKey }),
    ]);

    const result = await sut.verify(target(digest), requiring(), deadlineIn());

    expect(result.reason).toBe('no verified timestamp');
    expect(result.evidence[0].timestamps).toEqual([
      expect.stringMatching(/^timestamp not counted: it is by an authority the rule does not trust/),
      'timestamp not counted: its authority did not sign it',
    ]);
  });

  it('a flood of timestamps is read to 32 per signature, the rest counted and discarded', async () => {
    const digest = cosign.image(repository);
    const junk = timestampOver(ownTsa, randomBytes(8));
    pushStamped(digest, () => Array.from({ length: 500 }, () => junk));

    const result = await sut.verify(target(digest), requiring(), deadlineIn());

    expect(result.reason).toBe('no verified timestamp');
    expect(result.evidence[0].timestamps).toHaveLength(32);
    expect(result.evidence).toContainEqual({
      where: 'sigstore bundle',
      problem: 'malformed artifact: 468 timestamps past the budget of 32 per signature, not read',
    });
  });

  it("timestamps that each cost a check are paid from the verification's budget of 256", async () => {
    // Each of these passes the imprint check (the signer stamps the signature itself, with a TSA of
    // its own), so each costs one signature check before its chain is refused: 32 per bundle.
    const digest = cosign.image(repository);
    for (let i = 0; i < 12; i++)
      pushStamped(digest, (signature) => {
        const forged = timestampOver(tsa, signature, { signedBy: ownTsa.privateKey });
        return Array.from({ length: 32 }, () => forged);
      });
    const meter = countChecks();

    const result = await sut.verify(target(digest), requiring(), deadlineIn());

    expect(result.verified).toBe(false);
    expect(meter.checks).toBeLessThanOrEqual(256);
    expect(result.evidence.some((row) => /signature checks per verification/.test(row.problem ?? ''))).toBe(
      true,
    );
  });

  it.each([
    ['bytes that are not DER', () => randomBytes(2_000)],
    [
      'DER longer than 16 KiB',
      () => Buffer.concat([Buffer.from([0x30, 0x82, 0x50, 0x00]), randomBytes(0x5000)]),
    ],
    ['3,000 nested SEQUENCEs', () => nestedSequences(3_000)],
  ])(
    '%s as a timestamp are discarded as malformed, beside a good signature that still counts',
    async (_case, der) => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(repository, digest, keyBundle(envelope, [der()]));

      // A rule that trusts a TSA reads the timestamp, and counts the signature without it.
      const result = await sut.verify(target(digest), requiring(false), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toContainEqual({
        where: 'sigstore bundle',
        problem: expect.stringMatching(
          /^malformed artifact: a timestamp (that is not an RFC 3161 timestamp|longer than 16384 bytes)$/,
        ),
      });
    },
  );
});

function nestedSequences(depth: number): Buffer {
  let der = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < depth; i++) {
    const length = der.length;
    const header =
      length < 0x80
        ? Buffer.from([0x30, length])
        : length < 0x100
          ? Buffer.from([0x30, 0x81, length])
          : Buffer.from([0x30, 0x82, length >> 8, length & 0xff]);
    der = Buffer.concat([header, der]);
  }
  return der;
}

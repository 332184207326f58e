import { Logger } from '@nestjs/common';
import { Tagged, encode } from 'cbor';
import { generateKeyPairSync } from 'node:crypto';
import { deadlineIn, trustOf } from '../../src/testing/cosign-fixtures';
import {
  countSignatureChecks as countChecks,
  verifierOverFakeRegistry,
} from '../../src/testing/verifier-over-fake-registry';
import {
  NotationSigner,
  anyIdentityUnder,
  coseEnvelope,
  jwsEnvelope,
  notationPayload,
  notationSigner,
  pushNotationSignature,
} from '../../src/testing/notation-fixtures';
import { ImageVerifier, VerificationRequest } from '../../src/verification';

/**
 * Notary Project envelopes, which a signer writes whole: a critical header the verifier does not
 * know, an algorithm other than the key's, a chain that is not one, and envelopes built to burn a
 * parser (COSE nested or flat past any honest one, JWS nested JSON, an envelope past its byte
 * budget). What does not fit is discarded and counted, with no signature check spent on it.
 */
describe('hostile Notary Project envelopes', () => {
  const fake = verifierOverFakeRegistry('demo/notation');
  const { registry, cosign, target } = fake;
  let sut: ImageVerifier;
  let repository: string;
  let release: NotationSigner;

  const request = (): VerificationRequest => ({
    kind: 'signatures',
    trust: trustOf([], undefined, { notation: anyIdentityUnder(release) }),
  });

  beforeAll(async () => {
    Logger.overrideLogger(false);
    release = await notationSigner();
  });
  beforeEach(() => ({ sut, repository } = fake));
  afterEach(() => jest.restoreAllMocks());

  it('an envelope marking critical a header the verifier does not know is refused before its signature is checked', async () => {
    const digest = cosign.image(repository);
    pushNotationSignature(
      registry,
      repository,
      digest,
      jwsEnvelope(release, notationPayload(digest), {
        critical: ['io.cncf.notary.signingScheme', 'io.acme.skipChecks'],
        headers: { 'io.acme.skipChecks': true },
      }),
      'JWS',
    );
    const meter = countChecks();

    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result).toMatchObject({
      verified: false,
      reason: 'no Notary Project signature by a trusted identity',
    });
    expect(result.evidence[0].problem).toBe('the critical header io.acme.skipChecks is not understood');
    expect(meter.checks).toBe(0);
  });

  it('an RSA algorithm named over an EC key (or "none") is refused, not tried', async () => {
    const digest = cosign.image(repository);
    for (const alg of ['PS256', 'none', 'HS256'])
      pushNotationSignature(
        registry,
        repository,
        digest,
        jwsEnvelope(release, notationPayload(digest), { headers: { alg } }),
        'JWS',
      );
    const meter = countChecks();

    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result.evidence.map((row) => row.problem)).toEqual([
      "the algorithm PS256 is not the signing certificate key's",
      "the algorithm (none) is not the signing certificate key's",
      "the algorithm (none) is not the signing certificate key's",
    ]);
    expect(meter.checks).toBe(0);
  });

  it('a signature made with a key other than its certificate’s (here a weak RSA-1024 one) does not count', async () => {
    const digest = cosign.image(repository);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    pushNotationSignature(
      registry,
      repository,
      digest,
      jwsEnvelope(release, notationPayload(digest), { signedBy: weak.privateKey }),
      'JWS',
    );

    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result.evidence[0].problem).toBe("the signature does not verify with the certificate's key");
  });

  it.each([
    [
      'COSE nested 100,000 arrays deep',
      () => Buffer.concat([Buffer.from([0xd2]), Buffer.alloc(100_000, 0x81), Buffer.from([0x01])]),
    ],
    [
      'COSE with a flat list of 200,000 items',
      () =>
        encode(
          new Tagged(18, [
            Buffer.alloc(0),
            new Map(),
            Buffer.alloc(0),
            Array.from({ length: 200_000 }, () => 0),
          ]),
        ),
    ],
    ['COSE with indefinite lengths', () => Buffer.from([0xd2, 0x9f, 0x40, 0xa0, 0x40, 0x40, 0xff])],
  ])('%s is discarded before it is decoded', async (_case, envelope) => {
    const digest = cosign.image(repository);
    pushNotationSignature(registry, repository, digest, envelope(), 'COSE');
    const meter = countChecks();

    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'no signature' });
    expect(result.evidence).toEqual([
      {
        where: 'notation signature',
        problem: expect.stringMatching(
          /^malformed artifact: a Notary Project envelope of more than 256 CBOR items or 8 levels \(sha256:[0-9a-f]{64}\)$/,
        ),
      },
    ]);
    expect(meter.checks).toBe(0);
  });

  it('a JWS envelope nested 100,000 deep in its unprotected header is discarded, and a good one beside it counts', async () => {
    const digest = cosign.image(repository);
    const good = JSON.parse(jwsEnvelope(release, notationPayload(digest)).toString()) as {
      header: Record<string, unknown>;
    };
    const nested = JSON.stringify({ ...good, header: { ...good.header, x5c: 'not a list' } }).replace(
      '"not a list"',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    );
    pushNotationSignature(registry, repository, digest, Buffer.from(nested), 'JWS');
    pushNotationSignature(registry, repository, digest, jwsEnvelope(release, notationPayload(digest)), 'JWS');

    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result.verified).toBe(true);
    expect(result.evidence).toContainEqual({
      where: 'notation signature',
      problem: expect.stringMatching(
        /^malformed artifact: a Notary Project envelope with a field of the wrong type/,
      ),
    });
  });

  it('an envelope past its byte budget (256 KiB) is not read, and counted', async () => {
    const digest = cosign.image(repository);
    pushNotationSignature(
      registry,
      repository,
      digest,
      coseEnvelope(release, Buffer.alloc(300 * 1024, 1)),
      'COSE',
    );
    const result = await sut.verify(target(digest), request(), deadlineIn());

    expect(result.verified).toBe(false);
    // Refused by its declared size, before its body is read.
    expect(result.evidence[0]).toEqual({
      where: 'notation signature',
      problem: expect.stringMatching(
        /^malformed artifact: an artifact the registry did not serve \(invalid response: blob .* is \d+ bytes, more than the 262144 allowed\)$/,
      ),
    });
  });
});

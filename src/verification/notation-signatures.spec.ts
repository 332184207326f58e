import { X509Certificate } from 'node:crypto';
import { HOUR, byKeys, deadlineIn, keyPair } from '../testing/cosign-fixtures';
import { verifierOverFakeRegistry } from '../testing/verifier-over-fake-registry';
import {
  NotationSigner,
  RELEASE_SUBJECT,
  coseEnvelope,
  jwsEnvelope,
  notationPayload,
  notationSigner,
  pushNotationSignature,
} from '../testing/notation-fixtures';
import { TimestampAuthority, timestampAuthority, timestampOver } from '../testing/timestamp-fixtures';
import { ImageVerifier, VerificationRequest } from './image-verifier.service';
import { parseDistinguishedName } from './notation-identity';
import { NotationTrust, SignatureTrust, trustHash } from './trust';

// Notary Project signatures made in-process as notation v1.3 writes them (the registry tier holds
// notation's own), judged as notation's strict level judges them.

describe('Notary Project signatures', () => {
  const fake = verifierOverFakeRegistry('demo/notation');
  const { registry, cosign, target } = fake;
  let sut: ImageVerifier;
  let repository: string;
  let release: NotationSigner;
  let stranger: NotationSigner;
  let tsa: TimestampAuthority;
  let otherTsa: TimestampAuthority;

  const trusting = (notation: Partial<NotationTrust> = {}, signer = release): SignatureTrust => {
    const trust: NotationTrust = {
      trustStore: [new X509Certificate(signer.trustStorePem)],
      identities: [
        { name: parseDistinguishedName('C=US, ST=WA, O=Acme'), written: 'x509.subject: C=US, ST=WA, O=Acme' },
      ],
      timestampAuthorities: [],
      ...notation,
    };
    return { keys: [], notation: trust, hash: trustHash([], undefined, { notation: trust }) };
  };
  const signatures = (trust: SignatureTrust): VerificationRequest => ({ kind: 'signatures', trust });
  const push = (digest: string, envelope: Buffer, format: 'JWS' | 'COSE' = 'JWS'): void =>
    pushNotationSignature(registry, repository, digest, envelope, format);
  const stampedBy = (authority: TimestampAuthority, genTime?: Date) => (signature: Buffer) =>
    timestampOver(authority, signature, { tokenOnly: true, genTime });

  beforeAll(async () => {
    release = await notationSigner();
    stranger = await notationSigner({ underCa: true });
    tsa = await timestampAuthority('notation tsa');
    otherTsa = await timestampAuthority('someone else tsa');
  });

  beforeEach(() => ({ sut, repository } = fake));

  it.each(['JWS', 'COSE'] as const)(
    'verifies a %s signature by a trusted identity, naming it',
    async (format) => {
      const digest = cosign.image(repository);
      const envelope = format === 'JWS' ? jwsEnvelope : coseEnvelope;
      push(digest, envelope(release, notationPayload(digest)), format);

      const result = await sut.verify(target(digest), signatures(trusting()), deadlineIn());

      expect(result).toMatchObject({ verified: true, signers: { counted: 1, required: 1 } });
      expect(result.evidence).toEqual([
        {
          where: 'notation signature',
          verifiedBy: `Notary Project identity ${RELEASE_SUBJECT} (${format})`,
        },
      ]);
    },
  );

  it('verifies a signing certificate a CA in the trust store issued', async () => {
    const signer = await notationSigner({ underCa: true });
    const digest = cosign.image(repository);
    push(digest, jwsEnvelope(signer, notationPayload(digest)));

    expect((await sut.verify(target(digest), signatures(trusting({}, signer)), deadlineIn())).verified).toBe(
      true,
    );
  });

  it.each([
    [
      'an identity the certificate does not carry',
      (): Partial<NotationTrust> => ({
        identities: [
          {
            name: parseDistinguishedName('C=US, ST=WA, O=Other'),
            written: 'x509.subject: C=US, ST=WA, O=Other',
          },
        ],
      }),
      /subject .* is not a trusted identity/,
    ],
    [
      'a trust store without its chain',
      (): Partial<NotationTrust> => ({ trustStore: [new X509Certificate(stranger.trustStorePem)] }),
      /no certificate of its chain is in the trust store/,
    ],
  ])('refuses a signature with %s', async (_case, notation, problem) => {
    const digest = cosign.image(repository);
    push(digest, jwsEnvelope(release, notationPayload(digest)));

    const result = await sut.verify(target(digest), signatures(trusting(notation())), deadlineIn());

    expect(result).toMatchObject({
      verified: false,
      reason: 'no Notary Project signature by a trusted identity',
    });
    expect(result.evidence[0].problem).toMatch(problem);
  });

  it('accepts any certificate of the trust store with the identity "*"', async () => {
    const digest = cosign.image(repository);
    push(digest, coseEnvelope(release, notationPayload(digest)), 'COSE');

    const anyone = trusting({ identities: [{ anyone: true, written: '*' }] });
    expect((await sut.verify(target(digest), signatures(anyone), deadlineIn())).verified).toBe(true);
  });

  it.each([
    [
      'a critical header it does not know',
      {
        critical: ['io.cncf.notary.signingScheme', 'io.acme.mustUnderstand'],
        headers: { 'io.acme.mustUnderstand': 'x' },
      },
      'the critical header io.acme.mustUnderstand is not understood',
    ],
    [
      'the signing-authority scheme',
      { headers: { 'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority' } },
      'the signing scheme notary.x509.signingAuthority is not supported (only notary.x509 is)',
    ],
    [
      'an expiry not marked critical',
      { headers: { 'io.cncf.notary.expiry': new Date(Date.now() + HOUR).toISOString() } },
      'the header io.cncf.notary.expiry is not marked critical',
    ],
    [
      'another payload type',
      { headers: { cty: 'application/json' } },
      "the content type application/json is not the Notary Project payload's",
    ],
    [
      'no signing time',
      { headers: { 'io.cncf.notary.signingTime': undefined } },
      'the signature has no signing time',
    ],
    [
      'an algorithm the key does not have',
      { headers: { alg: 'PS256' } },
      "the algorithm PS256 is not the signing certificate key's",
    ],
  ])('refuses a JWS envelope with %s', async (_case, options, problem) => {
    const digest = cosign.image(repository);
    push(digest, jwsEnvelope(release, notationPayload(digest), options));

    const result = await sut.verify(target(digest), signatures(trusting()), deadlineIn());

    expect(result.verified).toBe(false);
    expect(result.evidence).toEqual([{ where: 'notation signature', problem }]);
  });

  it('refuses a COSE envelope with a critical header it does not know, by an integer label', async () => {
    const digest = cosign.image(repository);
    push(
      digest,
      coseEnvelope(release, notationPayload(digest), {
        critical: ['io.cncf.notary.signingScheme', 99],
        headers: { 99: 1 },
      }),
      'COSE',
    );

    const result = await sut.verify(target(digest), signatures(trusting()), deadlineIn());

    expect(result.evidence).toEqual([
      { where: 'notation signature', problem: 'the critical header 99 is not understood' },
    ]);
  });

  it('refuses a signature by another key than its certificate, and one for another digest', async () => {
    const digest = cosign.image(repository);
    push(digest, jwsEnvelope(release, notationPayload(digest), { signedBy: keyPair().privateKey }));
    expect(await sut.verify(target(digest), signatures(trusting()), deadlineIn())).toMatchObject({
      verified: false,
      evidence: [{ problem: "the signature does not verify with the certificate's key" }],
    });

    const copied = cosign.image(repository, 'v2');
    push(copied, jwsEnvelope(release, notationPayload(digest)));
    expect(await sut.verify(target(copied), signatures(trusting()), deadlineIn())).toMatchObject({
      verified: false,
      reason: 'signature for another digest',
    });
  });

  it('refuses a signature past its expiry', async () => {
    const digest = cosign.image(repository);
    const expiry = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000);
    push(
      digest,
      jwsEnvelope(release, notationPayload(digest), {
        critical: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'],
        headers: { 'io.cncf.notary.expiry': expiry.toISOString() },
      }),
    );

    const result = await sut.verify(target(digest), signatures(trusting()), deadlineIn());

    expect(result.evidence[0].problem).toBe(`the signature expired at ${expiry.toISOString()}`);
  });

  describe('with timestamp authorities, every signature needs a countersignature', () => {
    const withTsa = () => trusting({ timestampAuthorities: [tsa.root.node] });

    it.each(['JWS', 'COSE'] as const)(
      'verifies a %s signature stamped by a trusted TSA, showing the timestamp',
      async (format) => {
        const digest = cosign.image(repository);
        const envelope = format === 'JWS' ? jwsEnvelope : coseEnvelope;
        push(digest, envelope(release, notationPayload(digest), { stampWith: stampedBy(tsa) }), format);

        const result = await sut.verify(target(digest), signatures(withTsa()), deadlineIn());

        expect(result.verified).toBe(true);
        expect(result.evidence[0].timestamps).toEqual([
          expect.stringMatching(/^timestamp \S+ by CN=notation tsa, O=acme, verified$/),
        ]);
      },
    );

    it.each([
      ['an unstamped signature', undefined],
      ['a signature stamped by another TSA', () => stampedBy(otherTsa)],
    ])('refuses %s, saying timestamp', async (_case, stamp) => {
      const digest = cosign.image(repository);
      push(digest, jwsEnvelope(release, notationPayload(digest), { stampWith: stamp?.() }));

      const result = await sut.verify(target(digest), signatures(withTsa()), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no verified timestamp' });
    });

    it('refuses a countersignature over another signature', async () => {
      const digest = cosign.image(repository);
      const other = Buffer.alloc(64, 7);
      push(
        digest,
        jwsEnvelope(release, notationPayload(digest), {
          stampWith: () => timestampOver(tsa, other, { tokenOnly: true }),
        }),
      );

      const result = await sut.verify(target(digest), signatures(withTsa()), deadlineIn());

      expect(result.reason).toBe('no verified timestamp');
      expect(result.evidence[0].timestamps).toEqual(['timestamp not counted: it stamps another signature']);
    });

    it('admits an expired certificate whose validity held the stamped time, and only with it', async () => {
      const expired = await notationSigner({
        notBefore: new Date(Date.now() - 3 * HOUR),
        notAfter: new Date(Date.now() - HOUR / 2),
      });
      const digest = cosign.image(repository);
      push(
        digest,
        jwsEnvelope(expired, notationPayload(digest), {
          stampWith: stampedBy(tsa, new Date(Math.floor((Date.now() - 0.75 * HOUR) / 1000) * 1000)),
        }),
      );

      expect(
        (
          await sut.verify(
            target(digest),
            signatures(trusting({ timestampAuthorities: [tsa.root.node] }, expired)),
            deadlineIn(),
          )
        ).verified,
      ).toBe(true);
      const withoutTsa = await sut.verify(target(digest), signatures(trusting({}, expired)), deadlineIn());
      expect(withoutTsa.verified).toBe(false);
      expect(withoutTsa.evidence[0].problem).toBe(
        'a certificate of its chain is not valid now (and the rule trusts no timestamp authority)',
      );

      const lateStamp = cosign.image(repository, 'v2');
      push(lateStamp, jwsEnvelope(expired, notationPayload(lateStamp), { stampWith: stampedBy(tsa) }));
      const late = await sut.verify(
        target(lateStamp),
        signatures(trusting({ timestampAuthorities: [tsa.root.node] }, expired)),
        deadlineIn(),
      );
      expect(late.evidence[0].problem).toBe('a certificate of its chain was not valid at the stamped time');
    });
  });

  it('does not fetch Notary Project signatures for a rule that trusts cosign keys only', async () => {
    const digest = cosign.image(repository);
    push(digest, jwsEnvelope(release, notationPayload(digest)));
    const before = registry.requests.length;

    const result = await sut.verify(target(digest), signatures(byKeys(keyPair().publicPem)), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'no signature' });
    expect(registry.requests.slice(before).filter((r) => r.includes('/blobs/'))).toEqual([]);
  });
});

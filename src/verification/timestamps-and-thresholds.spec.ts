import {
  Authority,
  GITHUB_ISSUER,
  TransparencyLog,
  WORKFLOW,
  authority,
  b64,
  byCaFile,
  byIdentity,
  byKeys,
  certificateBundle,
  deadlineIn,
  dsseV002EntryBody,
  envelopeOf,
  keyBundle,
  keyPair,
  logEntryV2,
  rekorV2Log,
  signingCertificate,
  trustedRootDocument,
  trustOf,
} from '../testing/cosign-fixtures';
import { verifierOverFakeRegistry } from '../testing/verifier-over-fake-registry';
import {
  anyIdentityUnder,
  jwsEnvelope,
  notationPayload,
  notationSigner,
  pushNotationSignature,
} from '../testing/notation-fixtures';
import { TimestampAuthority, timestampAuthority, timestampOver } from '../testing/timestamp-fixtures';
import { ImageVerifier, VerificationRequest } from './image-verifier.service';
import { SignatureTrust, TrustedIdentity, readTrustedRoot } from './trust';

// RFC 3161 timestamps on cosign's signatures (a bundle's timestampVerificationData, the classic
// annotation), Rekor v2 entries (built in-process: no rekor-tiles log runs offline), and k-of-n
// thresholds across keys, identities and Notary Project identities.

describe('timestamps, Rekor v2 entries and thresholds', () => {
  const fake = verifierOverFakeRegistry('demo/stamped');
  const { registry, cosign, target } = fake;
  const ci = keyPair();
  const release = keyPair();
  let sut: ImageVerifier;
  let repository: string;
  let tsa: TimestampAuthority;
  let otherTsa: TimestampAuthority;
  let fulcio: Authority;

  const signatures = (trust: SignatureTrust): VerificationRequest => ({ kind: 'signatures', trust });
  /** Keys with timestamps: `certificates: {timestampAuthorities: [tsa-chain.pem], requireTimestamp}`. */
  const keysWithTimestamps = (required: boolean, ...pems: string[]): SignatureTrust => {
    const timestamps = { authorities: [tsa.node, tsa.root.node], required };
    return trustOf(byKeys(...pems).keys, undefined, { timestamps });
  };
  const bundleOf = (digest: string, privateKey = ci.privateKey) =>
    envelopeOf(cosign.imageSignatureStatement(repository, digest), privateKey);
  const signatureBytes = (envelope: { signatures: readonly { sig: string }[] }): Buffer =>
    Buffer.from(envelope.signatures[0].sig, 'base64');

  beforeAll(async () => {
    tsa = await timestampAuthority('test tsa');
    otherTsa = await timestampAuthority('someone else tsa');
    fulcio = await authority('test fulcio');
  });

  beforeEach(() => ({ sut, repository } = fake));

  describe('RFC 3161 timestamps on keyed signatures', () => {
    it('counts a bundle signed by a trusted key with a timestamp over its signature, and shows it', async () => {
      const digest = cosign.image(repository);
      const envelope = bundleOf(digest);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelope, [timestampOver(tsa, signatureBytes(envelope))]),
      );

      const result = await sut.verify(
        target(digest),
        signatures(keysWithTimestamps(true, ci.publicPem)),
        deadlineIn(),
      );

      expect(result.verified).toBe(true);
      expect(result.evidence[0].timestamps).toEqual([
        expect.stringMatching(/^timestamp \S+Z by CN=test tsa, O=acme, verified$/),
      ]);
    });

    it("counts cosign's classic signature with its rfc3161timestamp annotation over the raw signature", async () => {
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, ci.privateKey);
      cosign.pushSignatures(repository, digest, [
        { ...layer, timestamp: timestampOver(tsa, layer.signature) },
      ]);

      expect(
        (await sut.verify(target(digest), signatures(keysWithTimestamps(true, ci.publicPem)), deadlineIn()))
          .verified,
      ).toBe(true);
    });

    it.each([
      ['no timestamp', () => []],
      [
        'a timestamp by an authority the rule does not trust',
        (sig: Buffer) => [timestampOver(otherTsa, sig)],
      ],
      [
        'a timestamp over another signature',
        () => [timestampOver(tsa, signatureBytes(bundleOf(`sha256:${'b'.repeat(64)}`)))],
      ],
    ])('refuses a trusted key with %s when the rule requires a timestamp', async (_case, stamps) => {
      const digest = cosign.image(repository);
      const envelope = bundleOf(digest);
      cosign.pushBundle(repository, digest, keyBundle(envelope, stamps(signatureBytes(envelope))));

      const result = await sut.verify(
        target(digest),
        signatures(keysWithTimestamps(true, ci.publicPem)),
        deadlineIn(),
      );

      expect(result).toMatchObject({ verified: false, reason: 'no verified timestamp' });
      expect(result.evidence[0]).toMatchObject({ verifiedBy: expect.stringMatching(/^key /) });
    });

    it('counts the same signature without a timestamp when the rule does not require one', async () => {
      const digest = cosign.image(repository);
      const envelope = bundleOf(digest);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelope, [timestampOver(otherTsa, signatureBytes(envelope))]),
      );

      const result = await sut.verify(
        target(digest),
        signatures(keysWithTimestamps(false, ci.publicPem)),
        deadlineIn(),
      );

      expect(result.verified).toBe(true);
      expect(result.evidence[0].timestamps?.[0]).toMatch(
        /^timestamp not counted: it is by an authority the rule does not trust/,
      );
    });
  });

  describe('an expired keyless certificate', () => {
    const identities: TrustedIdentity[] = [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }];
    const trust = (required: boolean): SignatureTrust => {
      const timestamps = { authorities: [tsa.node, tsa.root.node], required };
      return trustOf([], byCaFile([fulcio], identities).certificates, { timestamps });
    };

    it('counts only with a verified timestamp inside its validity', async () => {
      const now = Date.now();
      const certificate = await signingCertificate(fulcio, {
        notBefore: new Date(now - 50 * 60_000),
        notAfter: new Date(now - 40 * 60_000),
      });
      const stamp = (at: number) => (sig: Buffer) => [
        timestampOver(tsa, sig, { genTime: new Date(Math.floor(at / 1000) * 1000) }),
      ];
      const cases = [
        ['inside', stamp(now - 45 * 60_000), true],
        ['none', () => [], false],
        ['after it expired', stamp(now - 5 * 60_000), false],
      ] as const;
      for (const [, timestamps, verified] of cases) {
        const digest = cosign.image(repository);
        const envelope = envelopeOf(
          cosign.imageSignatureStatement(repository, digest),
          certificate.privateKey,
        );
        cosign.pushBundle(
          repository,
          digest,
          certificateBundle(envelope, certificate, [], timestamps(signatureBytes(envelope))),
        );
        const result = await sut.verify(target(digest), signatures(trust(false)), deadlineIn());
        expect(result.verified).toBe(verified);
        if (!verified) expect(result.reason).toBe('no signature by a trusted identity');
      }
    });

    it('refuses a valid certificate without a timestamp when the rule requires one, saying so', async () => {
      const certificate = await signingCertificate(fulcio);
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate));

      expect(await sut.verify(target(digest), signatures(trust(true)), deadlineIn())).toMatchObject({
        verified: false,
        reason: 'no verified timestamp',
      });
    });
  });

  describe('Rekor v2 entries (in-process: rekor-tiles runs on cloud storage, not offline)', () => {
    let log: TransparencyLog;

    beforeAll(() => {
      log = rekorV2Log('log2026-1.rekor.example');
    });

    const rekorV2Trust = (required: boolean): SignatureTrust => {
      const root = readTrustedRoot(
        trustedRootDocument(fulcio, [log], [], undefined, [[tsa.der, tsa.root.der]]),
        'root.json',
      );
      const { certificates } = byIdentity({
        authorities: root.authorities,
        logs: root.logs,
        identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
        requireTransparencyLog: true,
      });
      const timestamps = {
        authorities: root.timestampAuthorities,
        authorityValidFor: root.timestampAuthorityValidFor,
        required,
      };
      return trustOf([], certificates, { timestamps });
    };

    it('proves a dsse 0.0.2 entry by its checkpoint, signed under its signed-note key id, with the time from a timestamp', async () => {
      const certificate = await signingCertificate(fulcio);
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      const entry = logEntryV2(log, dsseV002EntryBody(envelope, { certificate: certificate.der }));
      cosign.pushBundle(
        repository,
        digest,
        certificateBundle(envelope, certificate, [entry], [timestampOver(tsa, signatureBytes(envelope))]),
      );

      const result = await sut.verify(target(digest), signatures(rekorV2Trust(true)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence[0].timestamps).toHaveLength(1);
    });

    it('gives no time of its own: without a timestamp, a rule requiring one refuses it', async () => {
      const certificate = await signingCertificate(fulcio);
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      cosign.pushBundle(
        repository,
        digest,
        certificateBundle(envelope, certificate, [
          logEntryV2(log, dsseV002EntryBody(envelope, { certificate: certificate.der })),
        ]),
      );

      expect(await sut.verify(target(digest), signatures(rekorV2Trust(true)), deadlineIn())).toMatchObject({
        verified: false,
        reason: 'no verified timestamp',
      });
    });

    it('refuses an entry recording another envelope, and a checkpoint another log signed', async () => {
      const certificate = await signingCertificate(fulcio);
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      const other = envelopeOf(
        cosign.imageSignatureStatement(repository, `sha256:${'c'.repeat(64)}`),
        certificate.privateKey,
      );
      const stamps = [timestampOver(tsa, signatureBytes(envelope))];
      cosign.pushBundle(
        repository,
        digest,
        certificateBundle(
          envelope,
          certificate,
          [logEntryV2(log, dsseV002EntryBody(other, { certificate: certificate.der }))],
          stamps,
        ),
      );
      const forgedLog = { ...rekorV2Log('log2026-1.rekor.example'), id: log.id };
      const second = cosign.image(repository, 'v2');
      const envelope2 = envelopeOf(
        cosign.imageSignatureStatement(repository, second),
        certificate.privateKey,
      );
      cosign.pushBundle(
        repository,
        second,
        certificateBundle(
          envelope2,
          certificate,
          [logEntryV2(forgedLog, dsseV002EntryBody(envelope2, { certificate: certificate.der }))],
          [timestampOver(tsa, signatureBytes(envelope2))],
        ),
      );

      const first = await sut.verify(target(digest), signatures(rekorV2Trust(true)), deadlineIn());
      expect(first.evidence[0].problem).toBe('the transparency-log entry records another envelope');
      const forged = await sut.verify(target(second), signatures(rekorV2Trust(true)), deadlineIn());
      expect(forged.evidence[0].problem).toBe(
        'the checkpoint is not signed by the log, or states another tree',
      );
    });
  });

  describe('thresholds', () => {
    const twoKeys = (threshold: number): SignatureTrust =>
      trustOf(byKeys(ci.publicPem, release.publicPem).keys, undefined, { threshold });

    it('counts two distinct trusted keys, whatever layout each signed in', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);
      cosign.pushBundle(repository, digest, keyBundle(bundleOf(digest, release.privateKey)));

      const result = await sut.verify(target(digest), signatures(twoKeys(2)), deadlineIn());

      expect(result).toMatchObject({ verified: true, signers: { counted: 2, required: 2 } });
    });

    it('refuses a threshold met by one signer twice', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);
      cosign.pushBundle(repository, digest, keyBundle(bundleOf(digest)));
      cosign.pushBundle(repository, digest, keyBundle(bundleOf(digest)));

      const result = await sut.verify(target(digest), signatures(twoKeys(2)), deadlineIn());

      expect(result).toMatchObject({
        verified: false,
        reason: 'not enough trusted signatures (1 of 2)',
        signers: { counted: 1, required: 2 },
      });
    });

    it('counts one certificate that two trusted identities describe once', async () => {
      const certificate = await signingCertificate(fulcio);
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        certificateBundle(
          envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey),
          certificate,
        ),
      );
      const base = byCaFile(
        [fulcio],
        [
          { issuer: GITHUB_ISSUER, subject: WORKFLOW },
          { issuer: GITHUB_ISSUER, subjectRegExp: /^https:\/\/github\.com\/acme\// },
        ],
      );

      const result = await sut.verify(target(digest), signatures({ ...base, threshold: 2 }), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
    });

    it('counts a cosign key and a Notary Project identity toward one threshold', async () => {
      const notation = await notationSigner();
      const digest = cosign.image(repository);
      cosign.pushBundle(repository, digest, keyBundle(bundleOf(digest)));
      pushNotationSignature(
        registry,
        repository,
        digest,
        jwsEnvelope(notation, notationPayload(digest)),
        'JWS',
      );
      const trust = trustOf(byKeys(ci.publicPem).keys, undefined, {
        notation: anyIdentityUnder(notation),
        threshold: 2,
      });

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result).toMatchObject({ verified: true, signers: { counted: 2, required: 2 } });
      expect(result.evidence.map((e) => e.where).sort()).toEqual(['notation signature', 'sigstore bundle']);
    });
  });

  describe('under verifyAttestations, the same keys', () => {
    const SLSA = 'https://slsa.dev/provenance/v1';
    const attestations = (trust: SignatureTrust): VerificationRequest => ({
      kind: 'attestations',
      trust,
      predicateType: SLSA,
    });
    const attestationOf = (digest: string, privateKey = ci.privateKey) =>
      envelopeOf(cosign.statement(repository, digest, SLSA), privateKey);

    it('count distinct signers toward a threshold: two keys pass, one key twice does not', async () => {
      const trust = trustOf(byKeys(ci.publicPem, release.publicPem).keys, undefined, { threshold: 2 });
      const twice = cosign.image(repository, 'twice');
      cosign.pushBundle(repository, twice, keyBundle(attestationOf(twice)));
      cosign.pushBundle(repository, twice, keyBundle(attestationOf(twice)));
      const both = cosign.image(repository, 'both');
      cosign.pushBundle(repository, both, keyBundle(attestationOf(both)));
      cosign.pushBundle(repository, both, keyBundle(attestationOf(both, release.privateKey)));

      expect(await sut.verify(target(both), attestations(trust), deadlineIn())).toMatchObject({
        verified: true,
        signers: { counted: 2, required: 2 },
      });
      expect(await sut.verify(target(twice), attestations(trust), deadlineIn())).toMatchObject({
        verified: false,
        reason: 'not enough trusted signatures (1 of 2)',
        signers: { counted: 1, required: 2 },
      });
    });

    it('require a timestamp over the attestation when the rule says so', async () => {
      const stamped = cosign.image(repository, 'stamped');
      const envelope = attestationOf(stamped);
      cosign.pushBundle(
        repository,
        stamped,
        keyBundle(envelope, [timestampOver(tsa, signatureBytes(envelope))]),
      );
      const bare = cosign.image(repository, 'bare');
      cosign.pushBundle(repository, bare, keyBundle(attestationOf(bare)));
      const trust = keysWithTimestamps(true, ci.publicPem);

      expect(await sut.verify(target(stamped), attestations(trust), deadlineIn())).toMatchObject({
        verified: true,
      });
      expect(await sut.verify(target(bare), attestations(trust), deadlineIn())).toMatchObject({
        verified: false,
        reason: 'no verified timestamp',
      });
    });
  });

  it('reads a trusted root whose timestamp authorities and Rekor v2 log ids it uses', () => {
    const log = rekorV2Log('log2026-2.rekor.example');
    const root = readTrustedRoot(
      trustedRootDocument(fulcio, [log], [], undefined, [[tsa.der, tsa.root.der]]),
      'root.json',
    );

    expect(root.timestampAuthorities.map((c) => c.fingerprint256)).toEqual([
      tsa.node.fingerprint256,
      tsa.root.node.fingerprint256,
    ]);
    expect(root.logs[0].otherIds).toEqual([log.id.toString('hex')]);
    expect(b64(log.id)).not.toBe('');
  });
});

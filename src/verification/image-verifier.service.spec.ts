import * as x509 from '@peculiar/x509';
import { createPublicKey, randomBytes, sign } from 'node:crypto';
import { RegistryClient, RegistryFailure } from '../registry';
import {
  Authority,
  COSIGN_SIGN,
  CosignWriter,
  GITHUB_ISSUER,
  HOUR,
  IN_TOTO,
  SLSA,
  SigningCertificate,
  TransparencyLog,
  WORKFLOW,
  authority,
  b64,
  byIdentity,
  byKeys,
  certificateBundle,
  deadlineIn,
  dsseEntryBody,
  envelopeOf,
  fingerprintOf,
  keyBundle,
  keyPair,
  logEntry,
  signingCertificate,
  transparencyLog,
  trustedRootDocument,
} from '../testing/cosign-fixtures';
import { FakeRegistry, digestOf, tagFor } from '../testing/fake-registry';
import type { DsseEnvelope, TlogEntry } from './cosign-evidence';
import type { Discard } from './evidence';
import { ImageVerifier, VerificationRequest, VerificationTarget } from './image-verifier.service';
import { SignatureTrust, TrustedIdentity, readTrustedRoot } from './trust';

describe(ImageVerifier.name, () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const client = new RegistryClient();
  const ci = keyPair();
  const stranger = keyPair();
  let sut: ImageVerifier;
  let repositories = 0;
  let repository: string;

  const target = (digest: string, overrides: Partial<VerificationTarget> = {}): VerificationTarget => ({
    access: registry.access,
    repository,
    digest,
    policyRevision: 'r1',
    successTtlMs: 600_000,
    failureTtlMs: 10_000,
    ...overrides,
  });
  const signatures = (trust: SignatureTrust): VerificationRequest => ({ kind: 'signatures', trust });
  const attestations = (trust: SignatureTrust, predicateType = SLSA): VerificationRequest => ({
    kind: 'attestations',
    trust,
    predicateType,
  });

  beforeAll(async () => {
    await registry.start();
  });

  afterAll(async () => {
    await client.onModuleDestroy();
    await registry.stop();
  });

  beforeEach(() => {
    registry.behaviour = 'serve';
    registry.intercept = undefined;
    repository = `demo/app-${++repositories}`;
    sut = new ImageVerifier(client);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('signatures by key', () => {
    it("verifies cosign's classic .sig signature by a trusted key, naming the key and its source", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: true, digest, cache: 'miss' });
      expect(result.reason).toBeUndefined();
      expect(result.evidence).toEqual([
        { where: 'sig tag', verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-0.pub)` },
      ]);
    });

    it('verifies a sigstore bundle found through the referrers fallback tag', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(repository, digest, keyBundle(envelope));

      const result = await sut.verify(
        target(digest),
        signatures(byKeys(stranger.publicPem, ci.publicPem)),
        deadlineIn(),
      );

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        {
          where: 'sigstore bundle',
          verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-1.pub)`,
          predicateType: COSIGN_SIGN,
        },
      ]);
    });

    it('verifies a sigstore bundle found through the referrers API', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(repository, digest, keyBundle(envelope), 'referrers');

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it("says 'no signature' for an image nothing was written about", async () => {
      const digest = cosign.image(repository);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature', evidence: [] });
      expect(result.registryFailure).toBeUndefined();
    });

    it("says 'no signature by a trusted key' for a signature by another key", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [
        cosign.classicSignature(repository, digest, stranger.privateKey),
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
      expect(result.evidence).toEqual([{ where: 'sig tag', problem: 'not signed by a trusted key' }]);
    });

    it("says 'signature for another digest' for a valid .sig of one digest copied under another's tag", async () => {
      const signed = cosign.image(repository);
      const replayed = cosign.image(repository);
      cosign.pushSignatures(repository, replayed, [
        cosign.classicSignature(repository, signed, ci.privateKey),
      ]);

      const result = await sut.verify(target(replayed), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'signature for another digest' });
    });

    it('does not count a bundle signed for another digest', async () => {
      const signed = cosign.image(repository);
      const replayed = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, signed), ci.privateKey);
      cosign.pushBundle(repository, replayed, keyBundle(envelope));

      const result = await sut.verify(target(replayed), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'signature for another digest' });
    });

    it('never counts a forged envelope found through referrers, however well formed', async () => {
      const digest = cosign.image(repository);
      const forged = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      const otherPayload = envelopeOf(
        cosign.imageSignatureStatement(repository, `sha256:${'1'.repeat(64)}`),
        ci.privateKey,
      );
      // A real signature by the trusted key, but over another payload; then plain garbage.
      cosign.pushBundle(
        repository,
        digest,
        keyBundle({ ...forged, signatures: otherPayload.signatures }),
        'referrers',
      );
      cosign.pushBundle(
        repository,
        digest,
        keyBundle({ ...forged, signatures: [{ sig: b64('not a signature at all') }] }),
        'referrers',
      );

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
      expect(result.evidence).toHaveLength(2);
      expect(result.evidence.every((e) => e.verifiedBy === undefined)).toBe(true);
    });

    it('does not count a classic signature whose payload was changed after signing', async () => {
      const digest = cosign.image(repository);
      const { signature } = cosign.classicSignature(repository, `sha256:${'2'.repeat(64)}`, ci.privateKey);
      cosign.pushSignatures(repository, digest, [
        { payload: cosign.simpleSigning(repository, digest), signature },
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
    });

    it('is verified by one good signature beside a bad one', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [
        cosign.classicSignature(repository, digest, stranger.privateKey),
        cosign.classicSignature(repository, digest, ci.privateKey),
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence.map((e) => e.verifiedBy !== undefined)).toEqual([false, true]);
    });

    it('does not take an attestation bundle for an image signature', async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature' });
    });
  });

  describe('attestations by key', () => {
    it("verifies cosign's classic .att attestation of the predicate type asked for", async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: true, digest });
      expect(result.evidence).toEqual([
        {
          where: 'att tag',
          verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-0.pub)`,
          predicateType: SLSA,
        },
      ]);
    });

    it('verifies an attestation in a sigstore bundle', async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        expect.objectContaining({ where: 'sigstore bundle', predicateType: SLSA }),
      ]);
    });

    it("says 'no attestation of type <T>' when none was written", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it("says 'no attestation of type <T>' when only a signature bundle is there", async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it("says 'no attestation of type <T>' for an attestation of another predicate type", async () => {
      const digest = cosign.image(repository);
      const scan = 'https://cosign.sigstore.dev/attestation/vuln/v1';
      const envelope = envelopeOf(cosign.statement(repository, digest, scan), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: scan }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it('does not count an attestation whose statement names another digest', async () => {
      const digest = cosign.image(repository);
      const other = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, other, SLSA), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'attestation for another digest' });
    });

    it('does not count an attestation by an untrusted key', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), stranger.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({
        verified: false,
        reason: `no attestation of type ${SLSA} by a trusted key`,
      });
    });

    it('never counts a forged attestation envelope found through referrers', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
      const forged = { ...envelope, signatures: [{ sig: b64(randomBytes(72)) }] };
      cosign.pushBundle(repository, digest, keyBundle(forged), 'referrers');

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({
        verified: false,
        reason: `no attestation of type ${SLSA} by a trusted key`,
      });
    });

    it('does not count a signature over the bare payload rather than its DSSE encoding', async () => {
      const digest = cosign.image(repository);
      const payload = Buffer.from(JSON.stringify(cosign.statement(repository, digest, SLSA)));
      const envelope = {
        payloadType: IN_TOTO,
        payload: b64(payload),
        signatures: [{ sig: b64(sign('sha256', payload, ci.privateKey)) }],
      };
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(false);
    });
  });

  describe('statements for conditions', () => {
    const keeping = (trust: SignatureTrust): VerificationRequest => ({
      kind: 'attestations',
      trust,
      predicateType: SLSA,
      keepStatements: true,
    });
    const withBuilder = (digest: string, builder: string) => ({
      ...cosign.statement(repository, digest, SLSA),
      predicate: { runDetails: { builder: { id: builder } } },
    });

    it('hands on the statement of each attestation that counts, with who signed it, only when asked', async () => {
      const digest = cosign.image(repository);
      const statement = withBuilder(digest, 'https://ci.example/release');
      cosign.pushAttestations(repository, digest, [
        { envelope: envelopeOf(statement, ci.privateKey), predicateType: SLSA },
      ]);

      const kept = await sut.verify(target(digest), keeping(byKeys(ci.publicPem)), deadlineIn());
      const plain = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(kept.attestations).toEqual([
        {
          where: 'att tag',
          verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-0.pub)`,
          predicateType: SLSA,
          statement,
          // As a threshold counts it: the trusted key it stands for, and the key it signed with.
          signer: {
            id: 'key 0',
            names: [
              `key ${createPublicKey(ci.publicPem).export({ type: 'spki', format: 'der' }).toString('hex')}`,
            ],
            entries: ['key 0'],
          },
        },
      ]);
      expect(plain.attestations).toBeUndefined();
    });

    it('never hands on the statement of an attestation whose signature did not verify, or that names another digest', async () => {
      const digest = cosign.image(repository);
      const other = cosign.image(repository);
      cosign.pushAttestations(repository, digest, [
        {
          envelope: envelopeOf(withBuilder(digest, 'https://stranger'), stranger.privateKey),
          predicateType: SLSA,
        },
        { envelope: envelopeOf(withBuilder(other, 'https://copied'), ci.privateKey), predicateType: SLSA },
        {
          envelope: {
            ...envelopeOf(withBuilder(digest, 'https://forged'), ci.privateKey),
            signatures: [{ sig: b64(randomBytes(72)) }],
          },
          predicateType: SLSA,
        },
        {
          envelope: envelopeOf(withBuilder(digest, 'https://ci.example/release'), ci.privateKey),
          predicateType: SLSA,
        },
      ]);

      const result = await sut.verify(target(digest), keeping(byKeys(ci.publicPem)), deadlineIn());

      expect(
        result.attestations!.map((a) => (a.statement as ReturnType<typeof withBuilder>).predicate),
      ).toEqual([{ runDetails: { builder: { id: 'https://ci.example/release' } } }]);
    });

    it('answers a cache hit with the statements it verified, whatever the registry serves since (kyverno#17130)', async () => {
      const digest = cosign.image(repository);
      const verified = withBuilder(digest, 'https://ci.example/dev');
      cosign.pushAttestations(repository, digest, [
        { envelope: envelopeOf(verified, ci.privateKey), predicateType: SLSA },
      ]);
      const first = await sut.verify(target(digest), keeping(byKeys(ci.publicPem)), deadlineIn());
      // The registry now serves an unsigned attestation saying what a condition would want to read.
      const unsigned = withBuilder(digest, 'https://ci.example/release');
      cosign.pushAttestations(repository, digest, [
        {
          envelope: { ...envelopeOf(unsigned, ci.privateKey), signatures: [{ sig: b64(randomBytes(72)) }] },
          predicateType: SLSA,
        },
      ]);
      const requests = registry.manifestRequests(repository, tagFor(digest, '.att'));

      const second = await sut.verify(target(digest), keeping(byKeys(ci.publicPem)), deadlineIn());

      expect(second.cache).toBe('hit');
      expect(second.attestations!.map((a) => a.statement)).toEqual([verified]);
      expect(second.attestations![0].statement).toBe(first.attestations![0].statement);
      expect(registry.manifestRequests(repository, tagFor(digest, '.att'))).toBe(requests);
      // Verified again, as on a cache miss, the registry's new content does not count.
      const fresh = await new ImageVerifier(client).verify(
        target(digest),
        keeping(byKeys(ci.publicPem)),
        deadlineIn(),
      );
      expect(fresh).toMatchObject({ verified: false, cache: 'miss' });
      expect(fresh.attestations).toEqual([]);
    });

    it('does not serve a verdict kept without statements to a request that needs them', async () => {
      const digest = cosign.image(repository);
      cosign.pushAttestations(repository, digest, [
        { envelope: envelopeOf(withBuilder(digest, 'https://ci'), ci.privateKey), predicateType: SLSA },
      ]);
      await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      const kept = await sut.verify(target(digest), keeping(byKeys(ci.publicPem)), deadlineIn());

      expect(kept).toMatchObject({ cache: 'miss', attestations: [expect.anything()] });
    });
  });

  describe('signatures by certificate identity', () => {
    let ca: Authority;
    let otherCa: Authority;
    const identities: TrustedIdentity[] = [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }];
    const trustIn = (ids: TrustedIdentity[], authorities = [ca.node]): SignatureTrust =>
      byIdentity({ authorities, identities: ids, requireTransparencyLog: false, logs: [] });

    beforeAll(async () => {
      ca = await authority('test fulcio');
      otherCa = await authority('someone else');
    });

    const pushKeyless = (digest: string, certificate: SigningCertificate, chain = ca.pem): void => {
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain }]);
    };

    it('verifies a signature whose certificate carries the exact trusted identity', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        { where: 'sig tag', verifiedBy: `identity ${WORKFLOW} (issuer ${GITHUB_ISSUER})` },
      ]);
    });

    it('verifies a signature whose identity matches trusted regular expressions', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));
      const trust = trustIn([
        {
          issuerRegExp: /^https:\/\/token\.actions\.githubusercontent\.com$/,
          subjectRegExp: /^https:\/\/github\.com\/acme\/[^/]+\/\.github\/workflows\/.+@refs\/heads\/main$/,
        },
      ]);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('verifies an attestation whose certificate carries the trusted identity', async () => {
      const digest = cosign.image(repository);
      const certificate = await signingCertificate(ca);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushAttestations(repository, digest, [
        { envelope, predicateType: SLSA, certificate: certificate.pem, chain: ca.pem },
      ]);

      const result = await sut.verify(target(digest), attestations(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('verifies a certificate issued by an intermediate the signature carries in its chain', async () => {
      const intermediate = await authority('test fulcio intermediate', ca);
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(intermediate), `${intermediate.pem}\n${ca.pem}`);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it.each<[string, TrustedIdentity]>([
      ['the issuer differs', { issuer: 'https://accounts.google.com', subject: WORKFLOW }],
      [
        'the subject differs',
        {
          issuer: GITHUB_ISSUER,
          subject: 'https://github.com/acme/other/.github/workflows/ci.yml@refs/heads/main',
        },
      ],
      ['the subject pattern does not match', { issuer: GITHUB_ISSUER, subjectRegExp: /@refs\/tags\// }],
    ])("says 'no signature by a trusted identity' when %s", async (_case, identity) => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));

      const result = await sut.verify(target(digest), signatures(trustIn([identity])), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('is not a trusted one');
    });

    it('does not count a certificate that chains to another CA', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(otherCa), otherCa.pem);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('does not chain to a trusted authority');
    });

    it('does not count a certificate whose intermediate is not in the trusted chain', async () => {
      const intermediate = await authority('test fulcio intermediate', otherCa);
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(intermediate), `${intermediate.pem}\n${ca.pem}`);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('does not chain to a trusted authority');
    });

    it('does not count an expired signing certificate', async () => {
      const digest = cosign.image(repository);
      const now = Date.now();
      pushKeyless(
        digest,
        await signingCertificate(ca, { notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) }),
      );

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('is not valid at');
    });

    it('does not count a certificate whose extended key usage lacks code signing', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca, { usages: [x509.ExtendedKeyUsage.serverAuth] }));

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('not for code signing');
    });

    it("does not count a signature made with a key other than the certificate's", async () => {
      const digest = cosign.image(repository);
      const certificate = await signingCertificate(ca);
      const layer = cosign.classicSignature(repository, digest, ci.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain("does not verify with the certificate's key");
    });

    it('does not count a keyed signature when identities are asked for', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('no signing certificate');
    });
  });

  describe('with requireTransparencyLog', () => {
    let ca: Authority;
    let log: TransparencyLog;
    let otherLog: TransparencyLog;
    let trust: SignatureTrust;
    let certificate: SigningCertificate;

    beforeAll(async () => {
      ca = await authority('test fulcio');
      log = transparencyLog('rekor.example - 1');
      otherLog = transparencyLog('rekor.example - 2');
      certificate = await signingCertificate(ca);
      const root = readTrustedRoot(trustedRootDocument(ca, [log]), 'trusted-root.json');
      trust = byIdentity({
        authorities: root.authorities,
        logs: root.logs,
        identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
        requireTransparencyLog: true,
      });
    });

    /** Pushes a keyless bundle for `digest` whose log entry `entryFor` makes from the signed envelope. */
    function pushLogged(digest: string, entryFor: (envelope: DsseEnvelope) => TlogEntry[]): void {
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, entryFor(envelope)));
    }

    const proven = (envelope: DsseEnvelope): TlogEntry[] => [
      logEntry(log, dsseEntryBody(envelope, certificate.pem)),
    ];

    it('verifies a bundle whose log entry is proven included in a checkpoint the trusted log signed', async () => {
      const digest = cosign.image(repository);
      pushLogged(digest, proven);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        {
          where: 'sigstore bundle',
          verifiedBy: `identity ${WORKFLOW} (issuer ${GITHUB_ISSUER})`,
          predicateType: COSIGN_SIGN,
        },
      ]);
    });

    const withProof = (
      envelope: DsseEnvelope,
      change: (proof: NonNullable<TlogEntry['inclusionProof']>) => object,
    ): TlogEntry[] => {
      const [entry] = proven(envelope);
      return [{ ...entry, inclusionProof: { ...entry.inclusionProof, ...change(entry.inclusionProof!) } }];
    };

    it.each<[string, (envelope: DsseEnvelope) => TlogEntry[], string]>([
      [
        'proof states a wrong root hash',
        (envelope) => withProof(envelope, () => ({ rootHash: b64(randomBytes(32)) })),
        'the inclusion proof does not lead to its root',
      ],
      [
        'proof has a hash with a bit flipped',
        (envelope) =>
          withProof(envelope, ({ hashes }) => {
            const flipped = Buffer.from(hashes![1], 'base64');
            flipped[0] ^= 1;
            return { hashes: [hashes![0], b64(flipped), ...hashes!.slice(2)] };
          }),
        'the inclusion proof does not lead to its root',
      ],
      [
        'checkpoint is signed by another key',
        (envelope) => [logEntry(log, dsseEntryBody(envelope, certificate.pem), otherLog)],
        'the checkpoint is not signed by the log',
      ],
      [
        'log is not in the trusted root',
        (envelope) => [logEntry(otherLog, dsseEntryBody(envelope, certificate.pem))],
        'from a log the trusted root does not name',
      ],
      [
        'log body records another envelope',
        () => {
          const other = envelopeOf(
            { _type: 'https://in-toto.io/Statement/v1', predicateType: COSIGN_SIGN },
            certificate.privateKey,
          );
          return [logEntry(log, dsseEntryBody(other, certificate.pem))];
        },
        'the transparency-log entry records another envelope',
      ],
    ])('does not count a bundle whose %s', async (_case, entryFor, problem) => {
      const digest = cosign.image(repository);
      pushLogged(digest, entryFor);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.evidence.every((e) => e.verifiedBy === undefined)).toBe(true);
      expect(result.detail).toContain(problem);
    });

    it('does not count a trusted signature put beside the one the log recorded', async () => {
      const digest = cosign.image(repository);
      const statement = cosign.imageSignatureStatement(repository, digest);
      const someone = await signingCertificate(ca, {
        subject: 'https://github.com/mallory/x/.github/workflows/ci.yml@refs/heads/main',
      });
      const logged = envelopeOf(statement, someone.privateKey);
      const trusted = envelopeOf(statement, certificate.privateKey);
      const envelope = { ...trusted, signatures: [...trusted.signatures, ...logged.signatures] };
      const entry = logEntry(log, dsseEntryBody(logged, someone.pem));
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, [entry]));

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('the transparency-log entry records another envelope');
    });

    it('verifies an attestation bundle whose log entry is proven included', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, proven(envelope)));

      const result = await sut.verify(target(digest), attestations(trust), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('does not count a classic .att attestation, which carries no inclusion proof', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushAttestations(repository, digest, [
        { envelope, predicateType: SLSA, certificate: certificate.pem, chain: ca.pem },
      ]);

      const result = await sut.verify(target(digest), attestations(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('no transparency-log inclusion proof');
    });

    it("says 'no transparency-log inclusion proof' for a bundle with no log entry", async () => {
      const digest = cosign.image(repository);
      pushLogged(digest, () => []);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
    });

    it("does not count cosign's classic layout, which carries no inclusion proof", async () => {
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
    });

    it('verifies the same classic signature once the log is not required', async () => {
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);
      const relaxed = byIdentity({ ...trust.certificates!, requireTransparencyLog: false });

      const result = await sut.verify(target(digest), signatures(relaxed), deadlineIn());

      expect(result.verified).toBe(true);
    });
  });

  describe("cosign's deliberate leniencies, kept", () => {
    it('verifies a classic .att envelope with several signatures when one of them is by a trusted key', async () => {
      const digest = cosign.image(repository);
      const statement = cosign.statement(repository, digest, SLSA);
      const bySomeone = envelopeOf(statement, stranger.privateKey);
      const byCi = envelopeOf(statement, ci.privateKey);
      const envelope = { ...byCi, signatures: [...bySomeone.signatures, ...byCi.signatures] };
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('does not verify a sigstore bundle whose envelope carries more than one signature, as sigstore-go does not', async () => {
      const digest = cosign.image(repository);
      const statement = cosign.imageSignatureStatement(repository, digest);
      const byCi = envelopeOf(statement, ci.privateKey);
      const envelope = {
        ...byCi,
        signatures: [...byCi.signatures, ...envelopeOf(statement, stranger.privateKey).signatures],
      };
      cosign.pushBundle(repository, digest, keyBundle(envelope));

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
      expect(result.evidence).toEqual([
        {
          where: 'sigstore bundle',
          problem: "a sigstore bundle's envelope carries 2 signatures, where it must carry one",
          predicateType: COSIGN_SIGN,
        },
      ]);
    });

    it("reads a signed payload's duplicate keys as Go's encoding/json does: the last one wins", async () => {
      const digest = cosign.image(repository);
      const other = `sha256:${'3'.repeat(64)}`;
      const payload = (first: string, last: string): Buffer =>
        Buffer.from(
          `{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"${first}","docker-manifest-digest":"${last}"},"type":"cosign container image signature"},"optional":null}`,
        );
      const lastWins = cosign.image(repository);
      cosign.pushSignatures(repository, lastWins, [
        {
          payload: payload(other, lastWins),
          signature: sign('sha256', payload(other, lastWins), ci.privateKey),
        },
      ]);
      cosign.pushSignatures(repository, digest, [
        { payload: payload(digest, other), signature: sign('sha256', payload(digest, other), ci.privateKey) },
      ]);

      const verified = await sut.verify(target(lastWins), signatures(byKeys(ci.publicPem)), deadlineIn());
      const replayed = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(verified.verified).toBe(true);
      expect(replayed).toMatchObject({ verified: false, reason: 'signature for another digest' });
    });

    it("does not compare the payload's docker-reference with the image's repository", async () => {
      const digest = cosign.image(repository);
      const payload = Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': 'elsewhere.example/another/name' },
            image: { 'docker-manifest-digest': digest },
            type: 'cosign container image signature',
          },
          optional: null,
        }),
      );
      cosign.pushSignatures(repository, digest, [
        { payload, signature: sign('sha256', payload, ci.privateKey) },
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
    });
  });

  describe('budgets shared by a review', () => {
    /** An image whose ten .att layers each carry 32 well-formed signatures nobody trusted made. */
    const hostileImage = (): string => {
      const digest = cosign.image(repository);
      const junk = Array.from({ length: 32 }, (_, i) => ({
        sig: b64(sign('sha256', Buffer.from(`junk ${i}`), stranger.privateKey)),
      }));
      cosign.pushAttestations(
        repository,
        digest,
        Array.from({ length: 10 }, (_, i) => ({
          envelope: {
            ...envelopeOf({ ...cosign.statement(repository, digest, SLSA), n: i }, ci.privateKey),
            signatures: junk,
          },
          predicateType: SLSA,
        })),
      );
      return digest;
    };

    it("runs its own verification when the work it joined was cut short by another review's budget", async () => {
      const signed = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, signed, SLSA), ci.privateKey);
      cosign.pushAttestations(repository, signed, [{ envelope, predicateType: SLSA }]);
      const spent = deadlineIn(30_000);
      // Four hostile images spend the first review's 1,024 checks.
      for (let i = 0; i < 4; i++)
        await sut.verify(target(hostileImage()), attestations(byKeys(ci.publicPem)), spent);

      const [inSpentReview, inOtherReview] = await Promise.all([
        sut.verify(target(signed), attestations(byKeys(ci.publicPem)), spent),
        sut.verify(target(signed), attestations(byKeys(ci.publicPem)), deadlineIn(30_000)),
      ]);

      expect(inSpentReview).toMatchObject({ verified: false, cache: 'miss' });
      expect(inSpentReview.evidence).toContainEqual({
        where: 'att tag',
        problem: 'not checked: the budget of signature checks ran out',
        predicateType: SLSA,
      });
      expect(inOtherReview).toMatchObject({ verified: true, cache: 'miss' });
    });

    it('does not cache a failure reached while an artifact went unread for a reason that may pass', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);
      // What the registry client says when a review's byte budget refuses a download.
      jest
        .spyOn(client, 'getBlob')
        .mockRejectedValueOnce(new RegistryFailure('over budget', 'bytes in flight'));

      const refused = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());
      const again = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(refused).toMatchObject({ verified: false, reason: 'no signature' });
      expect(refused.evidence).toEqual([
        {
          where: 'sig tag',
          problem:
            'malformed artifact: an artifact the registry did not serve (over budget: bytes in flight)',
        },
      ]);
      expect(again).toMatchObject({ verified: true, cache: 'miss' });
    });
  });

  describe('what does not fit the evidence shape', () => {
    it('tells its discard listeners what it discarded, by reason, once per verification that read it', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
      const junk = {
        ...envelope,
        signatures: [null, { sig: '' }, ...envelope.signatures],
      } as unknown as DsseEnvelope;
      cosign.pushAttestations(repository, digest, [{ envelope: junk, predicateType: SLSA }]);
      const heard: Discard[] = [];
      sut.onDiscard((discarded) => heard.push(discarded));

      await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());
      await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(heard).toEqual([
        { source: 'att tag', reason: 'malformed signature', cause: 'not an object', count: 1 },
        { source: 'att tag', reason: 'malformed signature', cause: 'empty signature', count: 1 },
      ]);
    });

    it('discards one artifact the registry will not serve, and judges the others', async () => {
      const digest = cosign.image(repository);
      const gone = Buffer.concat([cosign.simpleSigning(repository, digest), Buffer.from(' ')]);
      cosign.pushSignatures(repository, digest, [
        { payload: gone, signature: sign('sha256', gone, stranger.privateKey) },
        cosign.classicSignature(repository, digest, ci.privateKey),
      ]);
      registry.intercept = (request, response) => {
        if (request.url?.endsWith(`/blobs/${digestOf(gone)}`)) {
          response.writeHead(404).end();
          return true;
        }
        return false;
      };

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toContainEqual({
        where: 'sig tag',
        problem: expect.stringMatching(
          /^malformed artifact: an artifact the registry did not serve \(not found: /,
        ) as string,
      });
    });
  });

  describe('caching', () => {
    const signedImage = (): string => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);
      return digest;
    };
    const sigRequests = (digest: string): number =>
      registry.manifestRequests(repository, tagFor(digest, '.sig'));

    /** How far `Date.now` runs ahead of the real clock, so expiry is tested without waiting. */
    let skewMs = 0;

    beforeEach(() => {
      skewMs = 0;
      const now = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => now() + skewMs);
      // Built after the spy, so that its cache reads the skewed clock.
      sut = new ImageVerifier(client);
    });

    it('answers a second verification from the cache, without asking the registry', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      const first = await sut.verify(target(digest), request, deadlineIn());

      const second = await sut.verify(target(digest), request, deadlineIn());

      expect(first.cache).toBe('miss');
      expect(second).toMatchObject({ verified: true, cache: 'hit', evidence: first.evidence });
      expect(sigRequests(digest)).toBe(1);
    });

    it('answers every hit with the one result it cached, frozen, waiting on nothing (0 ms) and building nothing', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      await sut.verify(target(digest), request, deadlineIn());

      const hit = await sut.verify(target(digest), request, deadlineIn());
      const nextHit = await sut.verify(target(digest), request, deadlineIn());

      expect(hit).toMatchObject({ verified: true, cache: 'hit', ms: 0 });
      expect(nextHit).toBe(hit);
      expect(Object.isFrozen(hit)).toBe(true);
    });

    it('does not reuse a verdict under another policy revision', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      await sut.verify(target(digest), request, deadlineIn());

      const result = await sut.verify(target(digest, { policyRevision: 'r2' }), request, deadlineIn());

      expect(result.cache).toBe('miss');
      expect(sigRequests(digest)).toBe(2);
    });

    it('does not reuse a verdict reached with other trust material', async () => {
      const digest = signedImage();
      await sut.verify(target(digest), signatures(byKeys(stranger.publicPem)), deadlineIn());

      const result = await sut.verify(
        target(digest),
        signatures(byKeys(stranger.publicPem, ci.publicPem)),
        deadlineIn(),
      );

      expect(result).toMatchObject({ verified: true, cache: 'miss' });
    });

    it('does not reuse a signature verdict for an attestation request', async () => {
      const digest = signedImage();
      await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, cache: 'miss' });
    });

    it('keeps a definite failure for failureTtlMs only, so a freshly signed image soon passes', async () => {
      const digest = cosign.image(repository);
      const request = signatures(byKeys(ci.publicPem));
      const failureTtlMs = 10_000;
      await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const soon = await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());
      skewMs = failureTtlMs + 1;
      const later = await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());

      expect(soon).toMatchObject({ verified: false, reason: 'no signature', cache: 'hit' });
      expect(later).toMatchObject({ verified: true, cache: 'miss' });
    });

    it('keeps a success for successTtlMs, past the failure TTL', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      const ttls = { successTtlMs: 600_000, failureTtlMs: 10_000 };
      await sut.verify(target(digest, ttls), request, deadlineIn());

      skewMs = ttls.failureTtlMs + 1;
      const within = await sut.verify(target(digest, ttls), request, deadlineIn());
      skewMs = ttls.successTtlMs + 1;
      const past = await sut.verify(target(digest, ttls), request, deadlineIn());

      expect(within.cache).toBe('hit');
      expect(past.cache).toBe('miss');
    });

    it("reports a registry answering HTTP 500 as 'registry unreachable', and does not cache it", async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      registry.behaviour = 'fail';

      const failed = await sut.verify(target(digest), request, deadlineIn());
      registry.behaviour = 'serve';
      const recovered = await sut.verify(target(digest), request, deadlineIn());

      expect(failed).toMatchObject({
        verified: false,
        reason: 'registry unreachable',
        registryFailure: 'unreachable',
        evidence: [],
      });
      expect(recovered).toMatchObject({ verified: true, cache: 'miss' });
    });

    it("reports a registry that never answers as 'registry timed out' at the deadline", async () => {
      const digest = signedImage();
      registry.behaviour = 'hang';

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn(300));

      expect(result).toMatchObject({
        verified: false,
        reason: 'registry timed out',
        registryFailure: 'timed out',
      });
    });

    it('shares one registry read among concurrent verifications of one key', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));

      const results = await Promise.all(
        Array.from({ length: 10 }, () => sut.verify(target(digest), request, deadlineIn())),
      );

      expect(results.every((r) => r.verified)).toBe(true);
      expect(sigRequests(digest)).toBe(1);
    });
  });
});

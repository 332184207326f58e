import { Logger } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import {
  Authority,
  GITHUB_ISSUER,
  SigningCertificate,
  WORKFLOW,
  authority,
  b64,
  byCaFile,
  byKeys,
  certificateBundle,
  deadlineIn,
  envelopeOf,
  keyBundle,
  keyPair,
  signingCertificate,
  trustOf,
} from '../../src/testing/cosign-fixtures';
import { sha256 } from '../../src/testing/fake-registry';
import { verifierOverFakeRegistry } from '../../src/testing/verifier-over-fake-registry';
import {
  anyIdentityUnder,
  jwsEnvelope,
  notationPayload,
  notationSigner,
  pushNotationSignature,
} from '../../src/testing/notation-fixtures';
import { ImageVerifier, SignatureTrust, VerificationRequest } from '../../src/verification';

/**
 * k-of-n thresholds, which one signer would like to meet alone: the same signature many times,
 * its own signature in every layout, a signature that names another trusted key in its hint, one
 * certificate that several trusted identities describe. A signer counts once however many of its
 * signatures are present, and each counted signer stands for one trusted key or identity.
 */
describe('a threshold met by one signer', () => {
  const fake = verifierOverFakeRegistry('demo/threshold');
  const { cosign, registry, target } = fake;
  const ci = keyPair();
  const release = keyPair();
  let sut: ImageVerifier;
  let repository: string;
  let fulcio: Authority;

  const twoOf = (trust: SignatureTrust): VerificationRequest => ({
    kind: 'signatures',
    trust: { ...trust, threshold: 2 },
  });
  const bundleBy = (digest: string, key = ci.privateKey) =>
    envelopeOf(cosign.imageSignatureStatement(repository, digest), key);
  /** A sigstore bundle over `digest` signed with `certificate`'s key, carrying the certificate. */
  const pushCertificateBundle = (digest: string, certificate: SigningCertificate): void =>
    cosign.pushBundle(
      repository,
      digest,
      certificateBundle(bundleBy(digest, certificate.privateKey), certificate),
    );

  beforeAll(async () => {
    Logger.overrideLogger(false);
    fulcio = await authority('test fulcio');
  });
  beforeEach(() => ({ sut, repository } = fake));

  it('the same trusted signature 40 times, in every layout, is one signer of two', async () => {
    const digest = cosign.image(repository);
    const envelope = bundleBy(digest);
    for (let i = 0; i < 20; i++)
      cosign.pushBundle(repository, digest, keyBundle(envelope), i % 2 ? 'referrers' : 'fallback tag');
    cosign.pushSignatures(
      repository,
      digest,
      Array.from({ length: 20 }, () => cosign.classicSignature(repository, digest, ci.privateKey)),
    );

    const result = await sut.verify(
      target(digest),
      twoOf(byKeys(ci.publicPem, release.publicPem)),
      deadlineIn(),
    );

    expect(result).toMatchObject({
      verified: false,
      reason: 'not enough trusted signatures (1 of 2)',
      signers: { counted: 1, required: 2 },
    });
  });

  it("a signature that names the other trusted key in its hint is still the signer's own", async () => {
    const digest = cosign.image(repository);
    cosign.pushBundle(repository, digest, keyBundle(bundleBy(digest)));
    const releaseHint = b64(
      sha256(createPublicKey(release.publicPem).export({ type: 'spki', format: 'der' })),
    );
    cosign.pushBundle(repository, digest, {
      ...keyBundle(bundleBy(digest)),
      verificationMaterial: { publicKey: { hint: releaseHint } },
    });

    const result = await sut.verify(
      target(digest),
      twoOf(byKeys(ci.publicPem, release.publicPem)),
      deadlineIn(),
    );

    expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
  });

  it('one certificate that two trusted identities describe is one signer, however often it signs', async () => {
    const certificate = await signingCertificate(fulcio);
    const digest = cosign.image(repository);
    for (let i = 0; i < 3; i++) pushCertificateBundle(digest, certificate);
    const trust = byCaFile(
      [fulcio],
      [
        { issuer: GITHUB_ISSUER, subject: WORKFLOW },
        { issuer: GITHUB_ISSUER, subjectRegExp: /^https:\/\/github\.com\// },
      ],
    );

    const result = await sut.verify(target(digest), twoOf(trust), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
  });

  it('two certificates of one identity are one signer; two identities are two', async () => {
    const [first, second] = [await signingCertificate(fulcio), await signingCertificate(fulcio)];
    const other = await signingCertificate(fulcio, {
      subject: 'https://github.com/acme/release/.github/workflows/r.yml@refs/heads/main',
    });
    const identities = [
      { issuer: GITHUB_ISSUER, subject: WORKFLOW },
      { issuer: GITHUB_ISSUER, subjectRegExp: /^https:\/\/github\.com\/acme\/release\// },
    ];
    const trust = byCaFile([fulcio], identities);
    const same = cosign.image(repository);
    for (const certificate of [first, second]) pushCertificateBundle(same, certificate);
    const distinct = cosign.image(repository, 'v2');
    for (const certificate of [first, other]) pushCertificateBundle(distinct, certificate);

    expect((await sut.verify(target(same), twoOf(trust), deadlineIn())).reason).toBe(
      'not enough trusted signatures (1 of 2)',
    );
    expect((await sut.verify(target(distinct), twoOf(trust), deadlineIn())).verified).toBe(true);
  });

  it('one private key, trusted both as a key and inside a certificate of a trusted identity, is one signer', async () => {
    const certificate = await signingCertificate(fulcio);
    const samePublicPem = createPublicKey(certificate.privateKey)
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const digest = cosign.image(repository);
    // The same private key signs twice: once bare (a trusted key), once with its certificate.
    cosign.pushBundle(repository, digest, keyBundle(bundleBy(digest, certificate.privateKey)));
    pushCertificateBundle(digest, certificate);
    const trust = trustOf(
      byKeys(samePublicPem).keys,
      byCaFile([fulcio], [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }]).certificates,
    );

    const result = await sut.verify(target(digest), twoOf(trust), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
  });

  it('one private key, trusted as a cosign key and as a Notary Project signing certificate, is one signer', async () => {
    const notation = await notationSigner();
    const digest = cosign.image(repository);
    cosign.pushBundle(repository, digest, keyBundle(bundleBy(digest, notation.privateKey)));
    pushNotationSignature(
      registry,
      repository,
      digest,
      jwsEnvelope(notation, notationPayload(digest)),
      'JWS',
    );
    const samePublicPem = createPublicKey(notation.privateKey)
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const trust = trustOf(byKeys(samePublicPem).keys, undefined, { notation: anyIdentityUnder(notation) });

    const result = await sut.verify(target(digest), twoOf(trust), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
  });

  it('a certificate naming two trusted identities, beside another of one of them, is one signer', async () => {
    const release = 'https://github.com/acme/release/.github/workflows/r.yml@refs/heads/main';
    const both = await signingCertificate(fulcio, { moreSubjects: [release] });
    const ciOnly = await signingCertificate(fulcio);
    const digest = cosign.image(repository);
    for (const certificate of [both, ciOnly]) pushCertificateBundle(digest, certificate);
    const trust = byCaFile(
      [fulcio],
      [
        { issuer: GITHUB_ISSUER, subject: WORKFLOW },
        { issuer: GITHUB_ISSUER, subject: release },
      ],
    );

    const result = await sut.verify(target(digest), twoOf(trust), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'not enough trusted signatures (1 of 2)' });
  });
});

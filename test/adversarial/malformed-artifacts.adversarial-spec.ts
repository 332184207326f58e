import { Logger } from '@nestjs/common';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  Authority,
  BUNDLE,
  GITHUB_ISSUER,
  OCI_CONFIG,
  SIMPLE_SIGNING,
  SLSA,
  WORKFLOW,
  authority,
  b64,
  byCaFile,
  byIdentity,
  byKeys,
  certificateBundle,
  deadlineIn,
  envelopeOf,
  keyBundle,
  keyPair,
  signingCertificate,
} from '../../src/testing/cosign-fixtures';
import { OCI_MANIFEST, tagFor } from '../../src/testing/fake-registry';
import { verifierOverFakeRegistry } from '../../src/testing/verifier-over-fake-registry';
import { engineFor } from '../../src/testing/policy-engine';
import { ImageVerifier, VerificationRequest } from '../../src/verification';
import type { SignatureTrust } from '../../src/verification';
import type { RunningWebhookServer } from '../../src/server/webhook-server';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { imageReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { policyOverRegistry, underPolicy } from './support/under-policy';

/**
 * Class 2 of SECURITY.md's hostile inputs: a registry or signer serves artifacts that do not have
 * the shape they claim. Each is discarded and listed as a malformed artifact beside whatever else
 * was found; none of them fails the verification, so a good signature beside junk still verifies,
 * and a `warn` rule over nothing but junk warns instead of denying.
 */
describe('malformed artifacts', () => {
  const fake = verifierOverFakeRegistry('hostile/app');
  const { registry, cosign, client, target } = fake;
  const ci = keyPair();
  let sut: ImageVerifier;
  let repository: string;

  const signatures = (trust: SignatureTrust = byKeys(ci.publicPem)): VerificationRequest => ({
    kind: 'signatures',
    trust,
  });
  const attestations = (trust: SignatureTrust = byKeys(ci.publicPem)): VerificationRequest => ({
    kind: 'attestations',
    trust,
    predicateType: SLSA,
  });
  const malformed = (where: string): unknown =>
    expect.objectContaining({ where, problem: expect.stringMatching(/^malformed artifact: /) as string });

  /** A well-formed bundle signed by `ci`, listed through the referrers API. */
  const pushGoodBundle = (digest: string): void =>
    cosign.pushBundle(
      repository,
      digest,
      keyBundle(envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey)),
      'referrers',
    );

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => ({ sut, repository } = fake));

  it('verifies a classic .att envelope whose other signature entries are null and a number, listing them as malformed', async () => {
    const digest = cosign.image(repository);
    const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
    const junk = {
      ...envelope,
      signatures: [null, 42, ...envelope.signatures],
    } as unknown as typeof envelope;
    cosign.pushAttestations(repository, digest, [{ envelope: junk, predicateType: SLSA }]);

    const result = await sut.verify(target(digest), attestations(), deadlineIn());

    expect(result).toMatchObject({ verified: true, digest });
    expect(result.registryFailure).toBeUndefined();
    expect(result.evidence).toEqual([
      expect.objectContaining({ where: 'att tag', verifiedBy: expect.stringMatching(/^key /) }),
      { where: 'att tag', problem: 'malformed artifact: a signature that is not a JSON object (2 times)' },
    ]);
  });

  it('reads tlogEntries that are not a list as no entries: a well-formed denial naming what is missing', async () => {
    const ca = await authority('test fulcio');
    const certificate = await signingCertificate(ca);
    const digest = cosign.image(repository);
    const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
    const bundle = certificateBundle(envelope, certificate) as { verificationMaterial: object };
    cosign.pushBundle(repository, digest, {
      ...bundle,
      verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: 'not a list' },
    });
    const trust = byIdentity({
      authorities: [ca.node],
      identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
      requireTransparencyLog: true,
      logs: [],
    });

    const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

    expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
    expect(result.registryFailure).toBeUndefined();
    expect(result.evidence).toContainEqual({
      where: 'sigstore bundle',
      problem: 'malformed artifact: transparency-log entries that are not a list',
    });
  });

  it('verifies a keyless bundle whose certificate chain holds a null entry, by its leaf', async () => {
    const ca: Authority = await authority('test fulcio');
    const certificate = await signingCertificate(ca);
    const digest = cosign.image(repository);
    const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
    cosign.pushBundle(repository, digest, {
      mediaType: BUNDLE,
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: b64(certificate.der) }, null] },
        tlogEntries: [],
      },
      dsseEnvelope: envelope,
    });
    const trust = byCaFile([ca], [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }]);

    const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

    expect(result.verified).toBe(true);
    expect(result.evidence).toContainEqual(malformed('sigstore bundle'));
  });

  it('verifies by a bundle when the .sig manifest has layers that are not a list', async () => {
    const digest = cosign.image(repository);
    const config = registry.blob(Buffer.from('{}'), OCI_CONFIG);
    registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: { 0: config } },
      tagFor(digest, '.sig'),
    );
    pushGoodBundle(digest);

    const result = await sut.verify(target(digest), signatures(), deadlineIn());

    expect(result).toMatchObject({ verified: true });
    expect(result.registryFailure).toBeUndefined();
    expect(result.evidence).toContainEqual({
      where: 'sig tag',
      problem: 'malformed artifact: a manifest whose layers are not a list',
    });
  });

  it('verifies by the next referrer when one referrer descriptor is null', async () => {
    const digest = cosign.image(repository);
    registry.addReferrer(repository, digest, null as never);
    pushGoodBundle(digest);

    const result = await sut.verify(target(digest), signatures(), deadlineIn());

    expect(result).toMatchObject({ verified: true });
    expect(result.evidence).toContainEqual({
      where: 'sigstore bundle',
      problem: 'malformed artifact: a descriptor that is not a JSON object',
    });
  });

  it('verifies a good signature beside junk of every kind, listing each piece of junk', async () => {
    const digest = cosign.image(repository);
    const good = cosign.classicSignature(repository, digest, ci.privateKey);
    const config = registry.blob(Buffer.from('{}'), OCI_CONFIG);
    const layers = [
      // A signature annotation that is a number, and a digest that climbs out of the repository.
      {
        ...registry.blob(good.payload, SIMPLE_SIGNING),
        annotations: { 'dev.cosignproject.cosign/signature': 7 },
      },
      { mediaType: SIMPLE_SIGNING, digest: 'sha256:../../other/app/manifests/latest', size: 1 },
      null,
      registry.blob(good.payload, SIMPLE_SIGNING, {
        'dev.cosignproject.cosign/signature': b64(good.signature),
      }),
    ];
    registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers },
      tagFor(digest, '.sig'),
    );
    cosign.pushBundle(repository, digest, 'not a bundle' as never, 'referrers');

    const result = await sut.verify(target(digest), signatures(), deadlineIn());

    expect(result).toMatchObject({ verified: true, digest });
    expect(result.evidence.filter((e) => e.verifiedBy !== undefined)).toEqual([
      expect.objectContaining({ where: 'sig tag' }),
    ]);
    expect(result.evidence.filter((e) => e.problem?.startsWith('malformed artifact'))).toEqual([
      { where: 'sig tag', problem: 'malformed artifact: a descriptor without a sha256 digest' },
      { where: 'sig tag', problem: 'malformed artifact: a descriptor that is not a JSON object' },
      {
        where: 'sig tag',
        problem: `malformed artifact: a signature with a field of the wrong type (${registry.blob(good.payload, SIMPLE_SIGNING).digest})`,
      },
      {
        where: 'sigstore bundle',
        problem: expect.stringMatching(
          /^malformed artifact: a sigstore bundle that is not a JSON object \(sha256:[a-f0-9]{64}\)$/,
        ) as string,
      },
    ]);
    expect(registry.requests.some((r) => r.includes('..'))).toBe(false);
  });

  describe('under a policy', () => {
    const policyYaml = (enforcement: 'warn' | 'enforce'): string =>
      policyOverRegistry(
        registry,
        [
          '- name: signed',
          `  enforcement: ${enforcement}`,
          '  verifySignatures:',
          `    keys: [${JSON.stringify(ci.publicPem)}]`,
        ],
        // A warn-only policy can deny nothing, which the compiler refuses unless it is meant.
        ['allowPermissive: true'],
      );
    const policyWith = (enforcement: 'warn' | 'enforce') => underPolicy(policyYaml(enforcement));
    /** An image whose only artifact is a bundle with a null signature entry. */
    const junkOnly = (): string => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle({ ...envelope, signatures: [null as never] }),
        'referrers',
      );
      return `${registry.access.registry}/${repository}@${digest}`;
    };

    it('warns, and does not deny, under a warn rule when nothing but junk was found', async () => {
      const image = junkOnly();

      const decision = await engineFor(policyWith('warn'), client).evaluate({ images: [{ image }] });

      expect(decision.allowed).toBe(true);
      expect(decision.verdicts[0].violations).toEqual([
        expect.objectContaining({
          rule: 'signed',
          enforcement: 'warn',
          problem: 'has no verified signature: no signature by a trusted key',
        }),
      ]);
    });

    it('denies under an enforce rule with the verification reason, not as a failure to evaluate', async () => {
      const image = junkOnly();

      const decision = await engineFor(policyWith('enforce'), client).evaluate({ images: [{ image }] });

      expect(decision.allowed).toBe(false);
      expect(decision.verdicts[0].violations).toEqual([
        expect.objectContaining({
          rule: 'signed',
          enforcement: 'enforce',
          problem: 'has no verified signature: no signature by a trusted key',
        }),
      ]);
    });

    describe('through the app over HTTPS', () => {
      let pki: TestPki;
      let server: RunningWebhookServer;

      beforeAll(async () => {
        pki = await createTestPki();
        const policyPath = join(mkdtempSync(join(tmpdir(), 'malformed-artifacts-')), 'policy.yaml');
        writeFileSync(policyPath, policyYaml('warn'));
        server = await startTestServer(pki, { policyPath, healthPort: true });
      });

      afterAll(() => server.close());

      it('answers with a warning and counts each discarded piece by reason', async () => {
        const image = junkOnly();

        const answer = await request(server.tlsServer)
          .post('/image_policy')
          .ca(pki.ca.certificatePem)
          .send(imageReview([image]))
          .expect(200);
        const metrics = await request(server.healthServer!).get('/metrics').expect(200);

        expect(answer.body.status).toMatchObject({ allowed: true });
        expect(JSON.stringify(answer.body.status)).toContain('no signature by a trusted key');
        expect(
          sampleValue(parsePrometheusText(metrics.text), 'kube_image_bouncer_evidence_discarded_total', {
            reason: 'malformed signature',
          }),
        ).toBe(1);
      });
    });
  });
});

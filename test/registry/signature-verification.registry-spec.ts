import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { Sample, parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { POD_KIND, admissionReview, imageReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { Cosign, keylessIdentity, pushArtifact } from './support/cosign';
import { Crane, LocalRegistry, startRegistry, startSilentServer } from './support/local-registry';
import { writePolicy } from './support/pinning-client';

const SLSA = 'https://slsa.dev/provenance/v0.2';
const SCAN = 'https://example.com/vulnerability-scan/v1';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main';
const GITHUB = 'https://token.actions.githubusercontent.com';

interface BothAnswers {
  readonly imageReview: { allowed: boolean; reason?: string };
  readonly admission: { allowed: boolean; message?: string; warnings?: string[] };
}

/**
 * Signature and attestation rules against a real registry holding what the real cosign wrote:
 * keyed classic signatures, --new-bundle-format bundles, --recursive on an index, attestations of
 * two types, a second key nobody trusts, a certificate from a local CA, and the attacks: a
 * signature replayed onto another digest and a forged envelope. Every reason is checked on both
 * review types, which must agree.
 */
describe('signature verification against a real registry, on both review types', () => {
  let pki: TestPki;
  let crane: Crane;
  let cosign: Cosign;
  let registry: LocalRegistry;
  const servers: RunningWebhookServer[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  let trusted: string;
  const digests: Record<string, string> = {};
  let repo: (name: string) => string;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    crane = new Crane();
    cosign = new Cosign();
    registry = await startRegistry();
    stoppers.push(() => registry.stop());
    repo = (name) => `${registry.host}/demo/${name}`;
    trusted = await cosign.generateKeyPair('ci');
    await cosign.generateKeyPair('someone-else');

    for (const name of [
      'signed',
      'bundled',
      'unsigned',
      'by-stranger',
      'attested',
      'replay-target',
      'forged',
      'keyless',
    ])
      digests[name] = await crane.push(`${repo(name)}:v1`, `content of ${name}`);
    const amd64 = await crane.push(`${repo('multi')}:amd64`, 'multi amd64', { platform: 'linux/amd64' });
    const arm64 = await crane.push(`${repo('multi')}:arm64`, 'multi arm64', { platform: 'linux/arm64' });
    digests.multi = await crane.index(`${repo('multi')}:v1`, [
      `${repo('multi')}@${amd64}`,
      `${repo('multi')}@${arm64}`,
    ]);
    digests.multiAmd64 = amd64;

    await cosign.sign(`${repo('signed')}@${digests.signed}`, 'ci');
    await cosign.sign(`${repo('bundled')}@${digests.bundled}`, 'ci', { newBundleFormat: true });
    await cosign.sign(`${repo('multi')}@${digests.multi}`, 'ci', { recursive: true });
    await cosign.sign(`${repo('by-stranger')}@${digests['by-stranger']}`, 'someone-else');
    await cosign.attest(`${repo('attested')}@${digests.attested}`, 'ci', 'slsaprovenance', {
      builder: { id: 'https://ci.example/builder' },
      buildType: 'https://ci.example/build',
    });
    await cosign.attest(`${repo('signed')}@${digests.signed}`, 'ci', SCAN, { scanner: 'none', findings: 0 });

    // The attack of a copied signature: the .sig of `signed` put under `replay-target`'s tag.
    await crane.crane(
      'copy',
      '--insecure',
      `${repo('signed')}:${digests.signed.replace(':', '-')}.sig`,
      `${repo('replay-target')}:${digests['replay-target'].replace(':', '-')}.sig`,
    );
    // The same content in another repository, which has no signature of its own.
    await crane.copy(`${repo('signed')}@${digests.signed}`, `${registry.host}/elsewhere/signed:v1`);
    await pushForgedEnvelope();

    const identity = await keylessIdentity(WORKFLOW, GITHUB);
    await cosign.importKeyPair('keyless', identity.leafKeyPkcs8);
    writeFileSync(join(cosign.dir, 'leaf.pem'), identity.leafPem);
    writeFileSync(join(cosign.dir, 'fulcio-ca.pem'), identity.caPem);
    await cosign.sign(`${repo('keyless')}@${digests.keyless}`, 'keyless', {
      certificate: join(cosign.dir, 'leaf.pem'),
      chain: join(cosign.dir, 'fulcio-ca.pem'),
    });
  }, 600_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    for (const stop of stoppers.reverse()) await stop();
  });

  /**
   * A bundle whose DSSE envelope claims this digest and is valid JSON, but whose signature is not
   * over it: through the referrers fallback tag, exactly where cosign's own bundles are found.
   */
  async function pushForgedEnvelope(): Promise<void> {
    const digest = digests.forged;
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: digest.slice('sha256:'.length) } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
    };
    const bundle = Buffer.from(
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint: '' } },
        dsseEnvelope: {
          payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
          payloadType: 'application/vnd.in-toto+json',
          signatures: [{ sig: Buffer.from('not a signature at all').toString('base64') }],
        },
      }),
    );
    const empty = Buffer.from('{}');
    const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: empty.length, digest: sha(empty) },
      layers: [
        {
          mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          size: bundle.length,
          digest: sha(bundle),
        },
      ],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await pushArtifact(registry.host, 'demo/forged', sha(manifestBytes), manifest, [empty, bundle]);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifest.mediaType,
          size: manifestBytes.length,
          digest: sha(manifestBytes),
          artifactType: 'application/vnd.oci.empty.v1+json',
        },
      ],
    };
    await pushArtifact(registry.host, 'demo/forged', digest.replace(':', '-'), index, []);
  }

  const bouncer = async (spec: string, files: Record<string, string> = {}): Promise<RunningWebhookServer> => {
    const policy = writePolicy(spec);
    for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dirname(policy), name));
    const server = await startTestServer(pki, { policyPath: policy, healthPort: true });
    servers.push(server);
    return server;
  };

  /** The same images asked about through ImagePolicyWebhook and through the validating webhook. */
  async function askBoth(server: RunningWebhookServer, image: string): Promise<BothAnswers> {
    const viaImageReview = await request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview([image]))
      .expect(200);
    const viaAdmission = await request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'app', image }] }) }))
      .expect(200);
    const admission = viaAdmission.body.response as {
      allowed: boolean;
      status?: { message: string };
      warnings?: string[];
    };
    return {
      imageReview: { allowed: viaImageReview.body.status.allowed, reason: viaImageReview.body.status.reason },
      admission: {
        allowed: admission.allowed,
        message: admission.status?.message,
        warnings: admission.warnings,
      },
    };
  }

  const signaturePolicy = (extra = ''): string =>
    `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed-by-ci\n    verifySignatures:\n      keys: [cosign.pub]${extra}`;

  /** Both review types deny, naming the image, the rule and the reason, in their own words. */
  function expectDenied(answers: BothAnswers, image: string, reason: string, kind = 'signature'): void {
    expect(answers.imageReview).toEqual({
      allowed: false,
      reason: `Images without a verified ${kind} are not allowed: ${image} (${reason}) (rule signed-by-ci)`,
    });
    expect(answers.admission).toMatchObject({
      allowed: false,
      message: `container "app" (containers): image ${image} has no verified ${kind}: ${reason} (rule signed-by-ci)`,
    });
  }

  const expectAllowed = (answers: BothAnswers): void => {
    expect(answers.imageReview.allowed).toBe(true);
    expect(answers.admission.allowed).toBe(true);
  };

  describe('verifySignatures with a cosign key', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(signaturePolicy(), { 'cosign.pub': trusted });
    });

    it.each([
      ['a classic signature, by tag', () => `${repo('signed')}:v1`],
      ['a classic signature, by digest', () => `${repo('signed')}@${digests.signed}`],
      ['a --new-bundle-format bundle', () => `${repo('bundled')}:v1`],
      ['a multi-arch index signed --recursive, by its index digest', () => `${repo('multi')}:v1`],
    ])('admits %s', async (_case, image) => {
      expectAllowed(await askBoth(server, image()));
    });

    it.each([
      ['an unsigned image', 'unsigned', () => `${repo('unsigned')}:v1`, 'no signature'],
      [
        'an image signed by an untrusted key',
        'by-stranger',
        () => `${repo('by-stranger')}:v1`,
        'no signature by a trusted key',
      ],
      [
        'a signature copied from another digest',
        'replay',
        () => `${repo('replay-target')}:v1`,
        'signature for another digest',
      ],
      [
        'the same digest in another repository without a signature of its own',
        'elsewhere',
        () => `${registry.host}/elsewhere/signed:v1`,
        'no signature',
      ],
      [
        'a forged envelope, valid JSON with a bad signature',
        'forged',
        () => `${repo('forged')}:v1`,
        'no signature by a trusted key',
      ],
      ['a tag the registry does not have', 'missing', () => `${repo('signed')}:v404`, 'not found'],
    ])('denies %s', async (_case, _name, image, reason) => {
      expectDenied(await askBoth(server, image()), image(), reason);
    });

    it('decides a verified digest from the cache the second time, and counts it', async () => {
      await askBoth(server, `${repo('signed')}@${digests.signed}`);
      const samples = parsePrometheusText(
        (await request(server.healthServer!).get('/metrics').expect(200)).text,
      );
      expect(
        sampleValue(samples, 'kube_image_bouncer_cache_events_total', {
          cache: 'verification',
          event: 'hit',
        }),
      ).toBeGreaterThan(0);
      expect(
        sampleValue(samples, 'kube_image_bouncer_verifications_total', {
          rule: 'signed-by-ci',
          outcome: 'verified',
        }),
      ).toBeGreaterThan(0);
      expect(
        sampleValue(samples, 'kube_image_bouncer_verifications_total', {
          rule: 'signed-by-ci',
          outcome: 'no signature',
        }),
      ).toBeGreaterThan(0);
      expect(hasVerificationHistogram(samples)).toBe(true);
    });
  });

  const hasVerificationHistogram = (samples: Sample[]): boolean =>
    samples.some((s) => s.name === 'kube_image_bouncer_verification_duration_seconds_count');

  it('warns instead of denying under warn, and only logs under audit', async () => {
    const warn = await bouncer(`allowPermissive: true\n${signaturePolicy()}\n    enforcement: warn`, {
      'cosign.pub': trusted,
    });
    const answers = await askBoth(warn, `${repo('unsigned')}:v1`);
    expectAllowed(answers);
    expect(answers.admission.warnings).toEqual([
      `container "app" (containers): image ${repo('unsigned')}:v1 has no verified signature: no signature (rule signed-by-ci)`,
    ]);
    const audit = await bouncer(`allowPermissive: true\n${signaturePolicy()}\n    enforcement: audit`, {
      'cosign.pub': trusted,
    });
    const audited = await askBoth(audit, `${repo('unsigned')}:v1`);
    expectAllowed(audited);
    expect(audited.admission.warnings).toBeUndefined();
  });

  it('denies under enforce when the registry times out, and when it refuses credentials', async () => {
    const silent = await startSilentServer();
    stoppers.push(() => silent.stop());
    const basic = await startRegistry({
      storage: registry.storage,
      auth: { basic: { username: 'u', password: 'p' } },
    });
    stoppers.push(() => basic.stop());
    const server = await bouncer(
      `registries:\n  - {host: "${silent.host}", insecure: true}\n  - {host: "${basic.host}", insecure: true}\nregistryTimeoutSeconds: 1\nrules:\n  - name: signed-by-ci\n    verifySignatures:\n      keys: [cosign.pub]`,
      { 'cosign.pub': trusted },
    );
    expectDenied(
      await askBoth(server, `${silent.host}/demo/signed:v1`),
      `${silent.host}/demo/signed:v1`,
      'registry timed out',
    );
    expectDenied(
      await askBoth(server, `${basic.host}/demo/signed:v1`),
      `${basic.host}/demo/signed:v1`,
      'unauthorized',
    );
  });

  describe('verifyAttestations', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(
        `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed-by-ci\n    verifyAttestations:\n      keys: [cosign.pub]\n      predicateType: ${SLSA}`,
        { 'cosign.pub': trusted },
      );
    });

    it('admits an image with a SLSA provenance attestation signed by the key', async () => {
      expectAllowed(await askBoth(server, `${repo('attested')}:v1`));
    });

    it('denies an image whose only attestation is of another type', async () => {
      expectDenied(
        await askBoth(server, `${repo('signed')}:v1`),
        `${repo('signed')}:v1`,
        `no attestation of type ${SLSA}`,
        'attestation',
      );
    });

    it('denies an image with no attestation', async () => {
      expectDenied(
        await askBoth(server, `${repo('unsigned')}:v1`),
        `${repo('unsigned')}:v1`,
        `no attestation of type ${SLSA}`,
        'attestation',
      );
    });

    it('admits the other type when a rule asks for it', async () => {
      const scan = await bouncer(
        `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: scanned\n    verifyAttestations:\n      keys: [cosign.pub]\n      predicateType: ${SCAN}`,
        { 'cosign.pub': trusted },
      );
      expectAllowed(await askBoth(scan, `${repo('signed')}:v1`));
    });
  });

  describe('certificate identities from a file trust root', () => {
    const keylessPolicy = (identity: string): string =>
      `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed-by-ci\n    verifySignatures:\n      certificates:\n        caFile: fulcio-ca.pem\n        identities:\n          - ${identity}`;

    it('admits a signature whose certificate chains to the CA and carries the identity', async () => {
      const server = await bouncer(
        keylessPolicy(`{issuer: "${GITHUB}", subjectRegExp: "^https://github.com/acme/.*"}`),
        {
          'fulcio-ca.pem': join(cosign.dir, 'fulcio-ca.pem'),
        },
      );
      expectAllowed(await askBoth(server, `${repo('keyless')}:v1`));
    });

    it('denies one whose certificate carries another identity', async () => {
      const server = await bouncer(
        keylessPolicy(`{issuer: "${GITHUB}", subjectRegExp: "^https://github.com/other/.*"}`),
        {
          'fulcio-ca.pem': join(cosign.dir, 'fulcio-ca.pem'),
        },
      );
      expectDenied(
        await askBoth(server, `${repo('keyless')}:v1`),
        `${repo('keyless')}:v1`,
        'no signature by a trusted identity',
      );
    });

    it('denies a keyed signature, which carries no certificate at all', async () => {
      const server = await bouncer(keylessPolicy(`{issuer: "${GITHUB}", subjectRegExp: ".*"}`), {
        'fulcio-ca.pem': join(cosign.dir, 'fulcio-ca.pem'),
      });
      expectDenied(
        await askBoth(server, `${repo('signed')}:v1`),
        `${repo('signed')}:v1`,
        'no signature by a trusted identity',
      );
    });
  });
});

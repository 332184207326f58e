import { RegistryClient, registryDeadline } from '../../src/registry';
import {
  CosignWriter,
  OCI_EMPTY,
  byKeys,
  keyBundle,
  envelopeOf,
  keyPair,
} from '../../src/testing/cosign-fixtures';
import { FakeRegistry, OCI_MANIFEST } from '../../src/testing/fake-registry';
import { ImageVerifier } from '../../src/verification';

/**
 * Class 5 of SECURITY.md: a referrers index lists a descriptor whose "digest" is a path, so that
 * the bouncer's request for it climbs out of the image's repository into another. The content check
 * kept such content out; the request must not even be made.
 */
describe('class 5: a registry that lists a referrer whose digest is a path', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();

  beforeAll(async () => {
    await registry.start();
  });

  afterAll(async () => {
    await registry.stop();
  });

  it('never fetches from another repository, and the signature beside it still verifies', async () => {
    const repository = 'demo/app';
    const digest = cosign.image(repository);
    // What the crafted digest points at: a manifest in a repository the image is not in.
    const elsewhere = registry.manifest('other/repo', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: registry.blob(Buffer.from('{}'), OCI_EMPTY),
      layers: [],
    });
    const climbing = `${digest}/../../../../../v2/other/repo/manifests/${elsewhere.digest}`;
    registry.addReferrer(repository, digest, {
      mediaType: OCI_MANIFEST,
      digest: climbing,
      artifactType: OCI_EMPTY,
    });
    cosign.pushBundle(
      repository,
      digest,
      keyBundle(envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey)),
      'referrers',
    );
    const client = new RegistryClient();

    try {
      const result = await new ImageVerifier(client).verify(
        {
          access: registry.access,
          repository,
          digest,
          policyRevision: 'r1',
          successTtlMs: 60_000,
          failureTtlMs: 60_000,
        },
        { kind: 'signatures', trust: byKeys(ci.publicPem) },
        registryDeadline(10_000),
      );

      expect(registry.requests.filter((request) => !request.includes(` /v2/${repository}/`))).toEqual([]);
      expect(result.verified).toBe(true);
      // Refused before any request by the evidence parser, and by the distribution API were it to get there.
      expect(JSON.stringify(result)).toMatch(/a descriptor without a sha256 digest|is not an OCI digest/);
    } finally {
      await client.onModuleDestroy();
    }
  });
});

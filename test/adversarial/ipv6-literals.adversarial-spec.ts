import { RegistryAccess, RegistryClient, RegistrySettings, registryDeadline } from '../../src/registry';
import { ClassicLayer, CosignWriter, byKeys, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry, digestOf } from '../../src/testing/fake-registry';
import { LoopbackListener } from '../../src/testing/loopback-server';
import { ImageVerifier, VerificationResult } from '../../src/verification';

/**
 * Class 6 of SECURITY.md: IPv6 literals that carry an IPv4 address. Node never looks up an address
 * literal, so no connect-time lookup sees them; the guard judges them before any connection, as the
 * registry an image names, as a redirect hop and as a token realm. Each form here carries
 * 127.0.0.1, where a service of the bouncer's own network listens.
 */
describe('class 6: IPv6 literals that embed an IPv4 address', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();
  const inside = new LoopbackListener();
  let repositories = 0;

  beforeAll(async () => {
    await Promise.all([registry.start(), inside.start()]);
  });

  afterAll(async () => {
    await Promise.all([registry.stop(), inside.stop()]);
  });

  beforeEach(() => {
    registry.intercept = undefined;
    inside.requests.length = 0;
  });

  async function verify(
    access: RegistryAccess,
    repository: string,
    digest: string,
  ): Promise<VerificationResult> {
    const client = new RegistryClient();
    try {
      return await new ImageVerifier(client).verify(
        { access, repository, digest, policyRevision: 'r1', successTtlMs: 60_000, failureTtlMs: 60_000 },
        { kind: 'signatures', trust: byKeys(ci.publicPem) },
        registryDeadline(10_000),
      );
    } finally {
      await client.onModuleDestroy();
    }
  }

  it.each([
    [
      'NAT64, well-known prefix (64:ff9b::/96), judged by the address it carries',
      '[64:ff9b::7f00:1]',
      'a private',
    ],
    ['NAT64, local-use prefix (64:ff9b:1::/48), refused', '[64:ff9b:1::7f00:1]', 'a local-use NAT64'],
    ['IPv4-compatible (::a.b.c.d), refused', '[::7f00:1]', 'an IPv4-compatible'],
    ['IPv4-mapped (::ffff:a.b.c.d), judged by the address it carries', '[::ffff:7f00:1]', 'a private'],
    ['6to4 (2002::/16), refused', '[2002:7f00:1::]', 'a 6to4'],
    ['Teredo (2001::/32), refused', '[2001:0:7f00:1::80ff:fffe]', 'a Teredo'],
  ])(
    '%s: refused as the registry, as a redirect and as a token realm, before any connection',
    async (_form, literal, kind) => {
      const at = `${literal}:${inside.port}`;
      const repository = `demo/v6-${++repositories}`;
      const digest = cosign.image(repository);
      const signature: ClassicLayer = cosign.classicSignature(repository, digest, ci.privateKey);
      cosign.pushSignatures(repository, digest, [signature]);

      // The registry an image names: an unlisted one, reached as the policy reaches any unlisted registry.
      const asRegistry = await verify(new RegistrySettings([]).accessFor(at), repository, digest);

      // A redirect of the signature's blob.
      registry.intercept = (request, response) => {
        if (request.url !== `/v2/${repository}/blobs/${digestOf(signature.payload)}`) return false;
        response.writeHead(307, { Location: `http://${at}/latest/meta-data/` }).end();
        return true;
      };
      const asRedirect = await verify(registry.access, repository, digest);

      // The token realm of a 401.
      registry.intercept = (_request, response) => {
        response
          .writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${at}/token",service="registry"` })
          .end();
        return true;
      };
      const asRealm = await verify(registry.access, repository, digest);

      expect(inside.requests).toEqual([]);
      expect(asRegistry).toMatchObject({
        verified: false,
        registryFailure: 'private registry not in spec.registries',
        detail: `registry ${at} is ${kind} address the policy does not list`,
      });
      expect(asRedirect.verified).toBe(false);
      expect(JSON.stringify(asRedirect)).toContain(
        `redirect to ${at} is ${kind} address the policy does not list`,
      );
      expect(asRealm).toMatchObject({
        verified: false,
        registryFailure: 'unauthorized',
        detail: `token realm ${at} is ${kind} address the policy does not list`,
      });
    },
  );
});

import { keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

/** SECURITY.md's budget table: images whose registry facts one review gathers at once. */
const IMAGES_AT_ONCE = 16;
/**
 * What one image asks at once of a registry that never answers: its tag (pinning), or its `.sig`
 * tag and its referrers (a signature rule, for an image pinned by digest).
 */
const PINNING_REQUESTS_PER_IMAGE = 1;
const VERIFICATION_REQUESTS_PER_IMAGE = 2;

/**
 * A pod author floods one review with images. Nothing in a pod spec bounds how many containers it
 * has: a Pod of a few thousand containers is a megabyte or two, well inside the apiserver's request
 * limits, and webhooks see it before storage refuses anything (a dry run is enough). Before this
 * budget every image's registry work started at once: 5,000 images from a registry that never
 * answers took one worker from 125 to 341 MiB resident, 20,000 to 1 GiB, and 20,000 copies of one
 * tag held the event loop (and /readyz) for 15 s. The registry work of a review is now gathered a
 * bounded number of images at a time, and an image whose turn comes after the deadline fails at
 * once without a request. Pinned by the requests the registries receive: they never answer, so
 * every request a review started is one it held open at once.
 */
describe('a review flooded with images (one pod, thousands of registry lookups)', () => {
  const ci = keyPair();

  /**
   * Registries that never answer, several of them so that no per-host connection limit hides how
   * many requests were started, and a bouncer serving `spec` with them listed. Each test has its
   * own, so that no connection a test left hanging counts for the next.
   */
  function flooded(spec: string) {
    const registries = [new FakeRegistry(), new FakeRegistry(), new FakeRegistry(), new FakeRegistry()];
    const bouncer = new BouncerUnderAttack();
    beforeAll(async () => {
      await Promise.all(registries.map((registry) => registry.start()));
      for (const registry of registries) registry.behaviour = 'hang';
      await bouncer.start(
        `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: flooded}
spec:
  registryTimeoutSeconds: 1
  registries:
${registries.map((registry) => `    - {host: "${registry.host}", insecure: true}`).join('\n')}
${spec}`,
        { 'cosign.pub': ci.publicPem },
      );
    });
    afterAll(async () => {
      await bouncer.stop();
      await Promise.all(registries.map((registry) => registry.stop()));
    });
    return {
      bouncer,
      /** `count` containers, their images spread over the registries. */
      containers: (count: number, image: (host: string, i: number) => string) =>
        Array.from({ length: count }, (_, i) => ({
          name: `c${i}`,
          image: image(registries[i % registries.length].host, i),
        })),
      requestsReceived: (): number =>
        registries.reduce((total, registry) => total + registry.requests.length, 0),
    };
  }

  const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;
  const signatureRule = '  rules:\n    - name: signed\n      verifySignatures: {keys: [cosign.pub]}';

  describe('under a signature rule', () => {
    const { bouncer, containers, requestsReceived } = flooded(signatureRule);

    it('verifies at most 16 images at once, and denies the rest once the deadline has passed', async () => {
      const pod = containers(400, (host, i) => `${host}/flood/a${i}@${digest(i)}`);

      const reply = await bouncer.admission('/validate', podRequest({ spec: { containers: pod } }));

      expect(reply.allowed).toBe(false);
      expect(reply.status?.message).toContain(
        `container "c399" (containers): image ${pod[399].image} has no verified signature: registry timed out`,
      );
      expect(requestsReceived()).toBeGreaterThan(0);
      expect(requestsReceived()).toBeLessThanOrEqual(IMAGES_AT_ONCE * VERIFICATION_REQUESTS_PER_IMAGE);
    });
  });

  describe('under a signature rule, through ImagePolicyWebhook', () => {
    const { bouncer, containers, requestsReceived } = flooded(signatureRule);

    it('verifies at most 16 images at once', async () => {
      const images = containers(400, (host, i) => `${host}/flood/b${i}@${digest(i)}`);

      const status = await bouncer.imageReview(images.map((container) => container.image));

      expect(status.allowed).toBe(false);
      expect(requestsReceived()).toBeGreaterThan(0);
      expect(requestsReceived()).toBeLessThanOrEqual(IMAGES_AT_ONCE * VERIFICATION_REQUESTS_PER_IMAGE);
    });
  });

  describe('under digest pinning', () => {
    const { bouncer, containers, requestsReceived } = flooded(
      '  pinDigests: true\n  rules:\n    - name: no-latest\n      disallowedTags: [latest]',
    );

    it('resolves at most 16 tags at once, and leaves the rest unpinned once the deadline has passed', async () => {
      const pod = containers(400, (host, i) => `${host}/flood/c${i}:v1`);

      const reply = await bouncer.admission('/mutate', podRequest({ spec: { containers: pod } }));

      expect(reply.allowed).toBe(true);
      expect(reply.patch).toBeUndefined();
      expect(reply.warnings).toContain(
        `container "c399" (containers): image ${pod[399].image} was not pinned to a digest: timed out`,
      );
      expect(requestsReceived()).toBeGreaterThan(0);
      expect(requestsReceived()).toBeLessThanOrEqual(IMAGES_AT_ONCE * PINNING_REQUESTS_PER_IMAGE);
    });
  });
});

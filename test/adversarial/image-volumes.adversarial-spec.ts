import { applyPatch } from 'fast-json-patch';
import { FakeRegistry, OCI_MANIFEST } from '../../src/testing/fake-registry';
import { WORKLOAD_KINDS } from '../support/reviews';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

// Class 10: the kubelet pulls an image volume (spec.volumes[].image.reference, KEP-4639, GA in
// 1.36) just as it pulls a container's image. A pod author who may not run evil:latest as a
// container must not be able to mount it as a volume instead, in a Pod or any pod controller.
const withVolume = (reference: unknown): Record<string, unknown> => ({
  containers: [{ name: 'app', image: 'registry.example.com/app:1.0' }],
  volumes: [
    { name: 'config', configMap: { name: 'app' } },
    { name: 'tools', image: { reference, pullPolicy: 'IfNotPresent' } },
  ],
});

describe('image volumes are judged like containers (class 10)', () => {
  describe('under the built-in default policy', () => {
    const bouncer = new BouncerUnderAttack();
    beforeAll(() => bouncer.start());
    afterAll(() => bouncer.stop());

    describe.each(WORKLOAD_KINDS)('$group/$kind', (kind) => {
      it.each(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'])(
        'denies an image volume with a latest tag (%s), naming the volume',
        async (apiVersion) => {
          const reply = await bouncer.admission(
            '/validate',
            podRequest(kind.wrap(withVolume('evil:latest')), { kind }),
            apiVersion,
          );

          expect(reply.allowed).toBe(false);
          expect(reply.status?.message).toBe(
            'image volume "tools": image evil:latest uses the latest tag (rule no-latest)',
          );
          expect(JSON.parse(reply.auditAnnotations!.images)).toEqual({
            'registry.example.com/app:1.0': 'allow',
            'evil:latest': 'deny:no-latest',
          });
        },
      );
    });

    it('allows a volume whose reference is pinned, and one a template leaves empty for later', async () => {
      const pinned = await bouncer.admission('/validate', podRequest({ spec: withVolume('tools:1.2') }));
      const empty = await bouncer.admission('/validate', podRequest({ spec: withVolume('') }));

      expect(pinned.allowed).toBe(true);
      expect(empty.allowed).toBe(true);
    });

    it('refuses a reference that is not a string, as it refuses such a container image', async () => {
      const reply = await bouncer.admission('/validate', podRequest({ spec: withVolume(42) }));

      expect(reply.allowed).toBe(false);
      expect(reply.status?.message).toContain(
        'request.object.spec.volumes[1].image.reference must be a string',
      );
    });
  });

  describe('with digest pinning', () => {
    const registry = new FakeRegistry();
    const bouncer = new BouncerUnderAttack();
    let tools: string;

    beforeAll(async () => {
      await registry.start();
      tools = `${registry.access.registry}/team/tools`;
      registry.manifest('team/tools', { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }, '1.2');
      await bouncer.start(`apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: pinning}
spec:
  pinDigests: {}
  registries: [{host: "${registry.access.registry}", insecure: true}]
  rules:
    - name: pinned
      requireDigest: true
`);
    });
    afterAll(async () => {
      await bouncer.stop();
      await registry.stop();
    });

    it('/mutate pins an image volume as it pins a container, and /validate then admits it', async () => {
      const pod = {
        metadata: { name: 'p' },
        spec: { volumes: [{ name: 'tools', image: { reference: `${tools}:1.2` } }] },
      };

      const mutated = await bouncer.admission('/mutate', podRequest(pod));
      const patched = applyPatch(
        structuredClone(pod),
        JSON.parse(Buffer.from(mutated.patch!, 'base64').toString('utf8')),
      ).newDocument;
      const reference = patched.spec.volumes[0].image.reference;

      expect(reference).toMatch(new RegExp(`^${tools}:1\\.2@sha256:[0-9a-f]{64}$`));
      expect((await bouncer.admission('/validate', podRequest(patched))).allowed).toBe(true);
      const unpinned = await bouncer.admission('/validate', podRequest(pod));
      expect(unpinned.status?.message).toBe(
        `image volume "tools": image ${tools}:1.2 is not pinned by a digest (rule pinned)`,
      );
    });
  });
});

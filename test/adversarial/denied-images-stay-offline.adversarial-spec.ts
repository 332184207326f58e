import { CosignWriter, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

// Class 1's aggravation: a pod author could make the bouncer send requests to a registry of their
// choosing even when an enforced allow-list had already refused the image. A registry-aware rule now
// never asks the registry about an image that an enforced pure rule already denies: with an
// allow-list in force, the bouncer only ever talks to allowed registries.
describe('an image a pure rule already denies is never looked up', () => {
  const registry = new FakeRegistry();
  const bouncer = new BouncerUnderAttack();

  beforeAll(async () => {
    await registry.start();
    // Listed, so that nothing but the allow-list stands between the pod author and this registry.
    await bouncer.start(
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: allow-list-then-signatures}
spec:
  registries: [{host: "${registry.access.registry}", insecure: true}]
  rules:
    - name: trusted
      allowedRepositories: ["registry.example.com/**"]
    - name: signed
      verifySignatures: {keys: [cosign.pub]}
`,
      { 'cosign.pub': keyPair().publicPem },
    );
  });
  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  it('denies it by the allow-list, and the registry it names hears nothing', async () => {
    const image = `${registry.access.registry}/anything/at-all:1`;

    const reply = await bouncer.admission(
      '/validate',
      podRequest({ spec: { containers: [{ name: 'x', image }] } }),
    );
    const status = await bouncer.imageReview([
      image,
      `${registry.access.registry}/other@sha256:${'1'.repeat(64)}`,
    ]);

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toBe(
      `container "x" (containers): image ${image} is not from an allowed repository (rule trusted)`,
    );
    expect(status.allowed).toBe(false);
    expect(registry.requests).toEqual([]);
  });
});

// The same through /mutate: digest pinning resolved every tag a pod names, so with pinDigests on a
// pod author could still make the bouncer call any registry, the allow-list notwithstanding.
describe('an image a pure rule already denies is never pinned', () => {
  const registry = new FakeRegistry();
  const bouncer = new BouncerUnderAttack();

  beforeAll(async () => {
    await registry.start();
    await bouncer.start(
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: allow-list-and-pinning}
spec:
  registries: [{host: "${registry.access.registry}", insecure: true}]
  pinDigests: true
  rules:
    - name: trusted
      allowedRepositories: ["registry.example.com/**"]
`,
    );
  });
  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  it('leaves it as written, and the registry it names hears nothing', async () => {
    const image = `${registry.access.registry}/anything/at-all:1`;

    const reply = await bouncer.admission(
      '/mutate',
      podRequest({ spec: { containers: [{ name: 'x', image }] } }),
    );

    expect(reply.allowed).toBe(true);
    expect(reply.patch).toBeUndefined();
    expect(registry.requests).toEqual([]);
  });
});

// The other side of the same skip: an allow-list entry that names a digest can only say yes once the
// digest is known, so an image it may grant is still pinned (and then admitted).
describe('an image an allow-list grants by digest is still pinned', () => {
  const registry = new FakeRegistry();
  const bouncer = new BouncerUnderAttack();
  let digest: string;

  beforeAll(async () => {
    await registry.start();
    digest = new CosignWriter(registry).image('team/app', '1');
    await bouncer.start(
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: allow-list-by-digest}
spec:
  registries: [{host: "${registry.access.registry}", insecure: true}]
  pinDigests: true
  rules:
    - name: trusted
      allowedRepositories: ["${registry.access.registry}/team/app@${digest}"]
`,
    );
  });
  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  it('pins the tag to the digest the allow-list names', async () => {
    const image = `${registry.access.registry}/team/app:1`;

    const reply = await bouncer.admission(
      '/mutate',
      podRequest({ spec: { containers: [{ name: 'x', image }] } }),
    );

    expect(reply.allowed).toBe(true);
    expect(JSON.parse(Buffer.from(reply.patch ?? '', 'base64').toString())).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: `${image}@${digest}` },
    ]);
  });
});

import { CosignWriter, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { WORKLOAD_KINDS } from '../support/reviews';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

// Class 9: on UPDATE, an image the object already ran is spared a second judgement only where that
// judgement could say nothing new: pinned by digest, or judged by pure string rules alone. A tag can
// move to unsigned content after the pod was admitted; `kubectl debug` must not run it by naming the
// same string as a container the pod already has.
describe('UPDATE does not grandfather by image string alone (class 9)', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();
  const bouncer = new BouncerUnderAttack();
  let app: string;
  let signed: string;
  let unsigned: string;

  beforeAll(async () => {
    await registry.start();
    app = `${registry.access.registry}/team/app`;
    signed = cosign.image('team/app', 'v1');
    cosign.pushSignatures('team/app', signed, [cosign.classicSignature('team/app', signed, ci.privateKey)]);
    // The pod was admitted while v1 was signed; v1 has moved to unsigned content since.
    unsigned = cosign.image('team/app', 'v1');
    await bouncer.start(
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: signed-only}
spec:
  registries: [{host: "${registry.access.registry}", insecure: true}]
  rules:
    - name: signed
      verifySignatures: {keys: [cosign.pub]}
`,
      { 'cosign.pub': ci.publicPem },
    );
  });
  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  const running = (image: string): Record<string, unknown> => ({
    metadata: { name: 'web' },
    spec: { containers: [{ name: 'web', image }] },
  });
  const debugged = (image: string, debugImage: string): Record<string, unknown> => ({
    metadata: { name: 'web' },
    spec: {
      containers: [{ name: 'web', image }],
      ephemeralContainers: [{ name: 'debugger-x7k2p', image: debugImage, targetContainerName: 'web' }],
    },
  });
  const debug = (object: Record<string, unknown>, oldObject: Record<string, unknown>) =>
    bouncer.admission(
      '/validate',
      podRequest(object, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject }),
    );

  it("judges an ephemeral container whose image string equals a running container's", async () => {
    const reply = await debug(debugged(`${app}:v1`, `${app}:v1`), running(`${app}:v1`));

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toBe(
      `container "debugger-x7k2p" (ephemeralContainers): image ${app}:v1 has no verified signature: no signature (rule signed)`,
    );
  });

  it('judges an ephemeral container by digest too: a digest is not grandfathered into a new container', async () => {
    const reply = await debug(
      debugged(`${app}@${signed}`, `${app}@${unsigned}`),
      running(`${app}@${signed}`),
    );

    expect(reply.allowed).toBe(false);
  });

  it('admits a new ephemeral container whose image verifies', async () => {
    const reply = await debug(debugged(`${app}@${signed}`, `${app}@${signed}`), running(`${app}@${signed}`));

    expect(reply.allowed).toBe(true);
  });

  const deployment = WORKLOAD_KINDS.find((kind) => kind.kind === 'Deployment')!;
  const update = (image: string) =>
    bouncer.admission(
      '/validate',
      podRequest(deployment.wrap({ containers: [{ name: 'web', image }] }, { labels: { scaled: 'yes' } }), {
        kind: deployment,
        resource: 'deployments',
        operation: 'UPDATE',
        oldObject: deployment.wrap({ containers: [{ name: 'web', image }] }),
      }),
    );

  it('judges again an unchanged tag that a signature rule judges, since the tag may have moved', async () => {
    const reply = await update(`${app}:v1`);

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toContain(`image ${app}:v1 has no verified signature`);
  });

  it('grandfathers an unchanged image pinned by digest, whatever the registry says now', async () => {
    const reply = await update(`${app}@${unsigned}`);

    expect(reply.allowed).toBe(true);
  });
});

describe('UPDATE still grandfathers what pure rules alone judge', () => {
  const bouncer = new BouncerUnderAttack();
  beforeAll(() => bouncer.start());
  afterAll(() => bouncer.stop());

  it('lets an old workload with a latest tag be scaled after no-latest came in', async () => {
    const deployment = WORKLOAD_KINDS.find((kind) => kind.kind === 'Deployment')!;
    const object = deployment.wrap({ containers: [{ name: 'web', image: 'nginx:latest' }] });

    const reply = await bouncer.admission(
      '/validate',
      podRequest(object, {
        kind: deployment,
        resource: 'deployments',
        operation: 'UPDATE',
        oldObject: object,
      }),
    );

    expect(reply.allowed).toBe(true);
  });

  it('judges a new ephemeral container even when only pure rules judge it', async () => {
    const old = { spec: { containers: [{ name: 'web', image: 'nginx:latest' }] } };
    const withDebugger = {
      spec: { ...old.spec, ephemeralContainers: [{ name: 'debugger', image: 'nginx:latest' }] },
    };

    const reply = await bouncer.admission(
      '/validate',
      podRequest(withDebugger, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: old }),
    );

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toBe(
      'container "debugger" (ephemeralContainers): image nginx:latest uses the latest tag (rule no-latest)',
    );
  });
});

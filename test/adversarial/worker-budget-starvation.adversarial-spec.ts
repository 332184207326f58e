import { IncomingMessage, ServerResponse } from 'node:http';
import { CosignWriter, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry, OCI_INDEX } from '../../src/testing/fake-registry';
import { eventually } from '../support/eventually';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

const MiB = 1024 * 1024;
/** The largest manifest or referrers index the client reads, which a registry may declare and never send. */
const MANIFEST_BYTES = 4 * MiB;

/**
 * Class 4's other side: the worker's byte budget is shared by every review. Before the fix a body's
 * declared length was charged before it was read, so a hostile registry that answered the manifest
 * and referrers reads of its images with headers declaring the largest body allowed, then nothing,
 * held 8 MiB per image; four of its images held the worker's 32 MiB. Shared work lived until the last
 * review that joined it stopped waiting, so pods naming the same hostile images again kept those
 * bytes held for as long as the attacker kept creating them, and every other review that needed a
 * registry read waited until its deadline: an image signed by a trusted key, on an honest registry,
 * was denied as `registry timed out`. Now bytes are charged as they arrive, and shared work is kept
 * alive by later callers for at most one more budget.
 */
describe("a registry that holds the worker's byte budget without sending a byte", () => {
  const honest = new FakeRegistry();
  const hostile = new FakeRegistry();
  const cosign = new CosignWriter(honest);
  const ci = keyPair();
  const bouncer = new BouncerUnderAttack();
  const stalled: ServerResponse[] = [];
  let signed: string;
  let alsoSigned: string;
  const hostileImages = [1, 2, 3, 4].map(
    (i) => () => `${hostile.host}/stall/img${i}@sha256:${String(i).repeat(64)}`,
  );

  beforeAll(async () => {
    await Promise.all([honest.start(), hostile.start()]);
    const digest = cosign.image('team/app');
    cosign.pushSignatures('team/app', digest, [cosign.classicSignature('team/app', digest, ci.privateKey)]);
    signed = `${honest.host}/team/app@${digest}`;
    const other = cosign.image('team/other');
    cosign.pushSignatures('team/other', other, [cosign.classicSignature('team/other', other, ci.privateKey)]);
    alsoSigned = `${honest.host}/team/other@${other}`;
    // Headers that declare the largest body a manifest or referrers index may have, then silence.
    hostile.intercept = (request: IncomingMessage, response: ServerResponse): boolean => {
      if (request.method !== 'GET') return false;
      response.writeHead(200, { 'Content-Type': OCI_INDEX, 'Content-Length': MANIFEST_BYTES });
      response.flushHeaders();
      stalled.push(response);
      return true;
    };
    await bouncer.start(
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: signed-only}
spec:
  registryTimeoutSeconds: 2
  registries:
    - {host: "${honest.host}", insecure: true}
    - {host: "${hostile.host}", insecure: true}
  rules:
    - name: signed
      verifySignatures: {keys: [cosign.pub]}
`,
      { 'cosign.pub': ci.publicPem },
    );
  });
  afterAll(async () => {
    await bouncer.stop();
    for (const response of stalled) response.destroy();
    await Promise.all([honest.stop(), hostile.stop()]);
  });

  const review = (...images: string[]) =>
    bouncer.admission(
      '/validate',
      podRequest({ spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } }),
    );
  const bytesHeld = async (): Promise<number> =>
    sampleValue(parsePrometheusText(await bouncer.metrics()), 'kube_image_bouncer_registry_bytes_held') ?? 0;

  it('admits an image signed by a trusted key while nobody attacks', async () => {
    expect((await review(alsoSigned)).allowed).toBe(true);
  });

  it('still admits an image signed by a trusted key on an honest registry', async () => {
    const [a, b, c, d] = hostileImages.map((image) => image());
    // Two pods of two hostile images each: two reviews at their own budget, the worker's full.
    const attacks = [review(a, b), review(c, d)];
    await eventually('the hostile registry to have stalled every read it was sent', () =>
      Promise.resolve(expect(stalled.length).toBeGreaterThanOrEqual(4)),
    );
    // Headers that promise bytes hold none: only bytes that arrived are charged.
    expect(await bytesHeld()).toBe(0);
    // The attacker keeps naming the same images; each new pod joins the hostile work and keeps it
    // (and the bytes it holds) alive until its own deadline. How often it does so is the attack's
    // pace, not something asserted: any pace well inside the 2 s deadline keeps the budget full.
    let judged = false;
    const honestReview = review(signed).finally(() => (judged = true));
    while (!judged) {
      attacks.push(review(a, b), review(c, d));
      await Promise.race([honestReview, new Promise((resolve) => setTimeout(resolve, 250))]);
    }
    const reply = await honestReview;
    await Promise.all(attacks);

    expect(reply.status?.message).toBeUndefined();
    expect(reply.allowed).toBe(true);
  });
});

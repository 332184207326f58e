import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { POD_KIND, admissionReview, imageReview, web } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const policyFile = (spec: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'policy-exceptions-')), 'policy.yaml');
  writeFileSync(
    path,
    `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n${spec.replace(/^/gm, '  ')}\n`,
  );
  return path;
};

describe('exceptions only the policy can grant, and policies that deny nothing', () => {
  let pki: TestPki;
  const servers: RunningWebhookServer[] = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(() => Promise.all(servers.map((server) => server.close())));

  const serve = async (spec: string): Promise<RunningWebhookServer> => {
    const server = await startTestServer(pki, { policyPath: policyFile(spec), healthPort: true });
    servers.push(server);
    return server;
  };
  const imageReviewOf = (
    server: RunningWebhookServer,
    images: string[],
    annotations?: Record<string, string>,
  ) =>
    request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview(images, { namespace: 'shop', ...(annotations ? { annotations } : {}) }))
      .expect(200);
  const admissionOf = (server: RunningWebhookServer, image: string, annotations?: Record<string, string>) =>
    request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(
        admissionReview({
          namespace: 'shop',
          object: POD_KIND.wrap({ ...web(image) }, annotations ? { annotations } : {}),
        }),
      )
      .expect(200);

  it('lets an excepted image through on both review types until its expiry, then denies it, without a restart', async () => {
    const expires = new Date(Date.now() + 3_000);
    const server = await serve(
      `exceptions:\n  - {images: [legacy/app], namespaces: [shop], expires: "${expires.toISOString()}", ticket: CHG-42}\nrules:\n  - {name: no-latest, disallowedTags: [latest]}`,
    );
    const before = await imageReviewOf(server, ['legacy/app', 'nginx']);
    expect(before.body.status).toMatchObject({
      allowed: false,
      reason: 'Images using latest tag are not allowed: nginx (rule no-latest)',
    });
    const excepted = await imageReviewOf(server, ['legacy/app']);
    expect(excepted.body.status).toMatchObject({
      allowed: true,
      auditAnnotations: {
        exceptions: JSON.stringify({ 'legacy/app': `CHG-42 until ${expires.toISOString()}` }),
      },
    });
    expect((await admissionOf(server, 'legacy/app')).body.response.allowed).toBe(true);

    const metrics = parsePrometheusText(
      (await request(server.healthServer!).get('/metrics').expect(200)).text,
    );
    // Three images went through on it: one beside a denied nginx, one alone, one over AdmissionReview.
    expect(sampleValue(metrics, 'kube_image_bouncer_exceptions_total', { ticket: 'CHG-42' })).toBe(3);

    while (Date.now() <= expires.getTime()) await delay(100);
    expect((await imageReviewOf(server, ['legacy/app'])).body.status).toMatchObject({
      allowed: false,
      reason: 'Images using latest tag are not allowed: legacy/app (rule no-latest)',
    });
    expect((await admissionOf(server, 'legacy/app')).body.response.allowed).toBe(false);
  });

  it('covers only the namespaces it names', async () => {
    const server = await serve(
      `exceptions:\n  - {images: [legacy/app], namespaces: [other], expires: "2999-01-01T00:00:00Z", ticket: CHG-1}\nrules:\n  - {name: no-latest, disallowedTags: [latest]}`,
    );
    expect((await imageReviewOf(server, ['legacy/app'])).body.status.allowed).toBe(false);
  });

  it('ignores break-glass annotations unless the policy turns them on, and says why', async () => {
    const server = await serve('rules:\n  - {name: no-latest, disallowedTags: [latest]}');
    const ticket = {
      'break-glass.image-policy.k8s.io/INC-9': new Date(Date.now() + 3_600_000).toISOString(),
    };
    expect((await imageReviewOf(server, ['nginx'], ticket)).body.status).toMatchObject({
      allowed: false,
      reason:
        'Images using latest tag are not allowed: nginx (rule no-latest); break-glass annotations are disabled by the policy',
    });
    expect((await admissionOf(server, 'nginx', ticket)).body.response.status.message).toBe(
      'container "web" (containers): image nginx uses the latest tag (rule no-latest); break-glass annotations are disabled by the policy',
    );
  });

  it('says in /readyz and a metric that a policy accepted with allowPermissive denies nothing', async () => {
    const server = await serve(
      'allowPermissive: true\nrules:\n  - {name: digests, requireDigest: true, enforcement: audit}',
    );
    const readyz = await request(server.healthServer!).get('/readyz').expect(200);
    expect(readyz.body.info.policy.deniesNothing).toBe('no rule is enforced (digests: audit)');
    const metrics = parsePrometheusText(
      (await request(server.healthServer!).get('/metrics').expect(200)).text,
    );
    expect(sampleValue(metrics, 'kube_image_bouncer_policy_denies_nothing')).toBe(1);

    const strict = await serve('rules:\n  - {name: no-latest, disallowedTags: [latest]}');
    const strictMetrics = parsePrometheusText(
      (await request(strict.healthServer!).get('/metrics').expect(200)).text,
    );
    expect(sampleValue(strictMetrics, 'kube_image_bouncer_policy_denies_nothing')).toBe(0);
    expect(
      (await request(strict.healthServer!).get('/readyz').expect(200)).body.info.policy.deniesNothing,
    ).toBeUndefined();
  });
});

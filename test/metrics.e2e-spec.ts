import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { PolicyStore } from '../src/policy';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { eventually } from './support/eventually';
import { Sample, parsePrometheusText, sampleValue } from './support/prometheus-text';
import { POD_KIND, WORKLOAD_KINDS, admissionReview, imageReview, web } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const EXAMPLE_POLICY = join(__dirname, '..', 'examples', 'image-policy.yaml');
const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;

describe('Prometheus metrics on the health port', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;
  let policyPath: string;

  beforeAll(async () => {
    pki = await createTestPki();
    policyPath = join(mkdtempSync(join(tmpdir(), 'metrics-policy-')), 'policy.yaml');
    copyFileSync(EXAMPLE_POLICY, policyPath);
    server = await startTestServer(pki, { policyPath, healthPort: true });
  });
  afterAll(() => server.close());

  const scrape = async (): Promise<Sample[]> => {
    const response = await request(server.healthServer!).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain;/);
    expect(response.headers['content-type']).toContain('version=0.0.4');
    return parsePrometheusText(response.text);
  };
  const imageReviewOf = (body: unknown, contentType = 'application/json') =>
    request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .set('Content-Type', contentType)
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const admissionOf = (body: unknown) =>
    request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(body as object);

  it('counts known reviews exactly', async () => {
    // ImageReview: allow, deny (no-latest), warn (trusted-sources), deny (no-unknown-hub; trusted-sources only warns)
    for (const image of ['nginx:1.25', 'nginx', 'ghcr.io/acme/tool:1', 'randomuser/miner:1']) {
      await imageReviewOf(imageReview([image])).expect(200);
    }
    await imageReviewOf('{not json').expect(400);
    await imageReviewOf({ ...imageReview(['nginx:1']), apiVersion: 'v1' }).expect(400);
    await imageReviewOf(JSON.stringify(imageReview(['nginx:1'])), 'text/plain').expect(415);

    // AdmissionReview: deny, DELETE (unchecked), exempt namespace, break-glass, malformed with a uid
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    await admissionOf(
      admissionReview({ kind: deployment, object: deployment.wrap({ ...web('nginx') }) }),
    ).expect(200);
    await admissionOf(
      admissionReview({ operation: 'DELETE', oldObject: POD_KIND.wrap({ ...web('nginx') }) }),
    ).expect(200);
    await admissionOf(
      admissionReview({ namespace: 'kube-system', object: POD_KIND.wrap({ ...web('nginx') }) }),
    ).expect(200);
    await admissionOf(
      admissionReview({
        object: POD_KIND.wrap(
          { ...web('nginx') },
          { annotations: { 'break-glass.image-policy.k8s.io/INC-1': inAnHour } },
        ),
      }),
    ).expect(200);
    await admissionOf(admissionReview({ object: { spec: { containers: 'nginx' } } })).expect(200);

    const samples = await scrape();
    const decisions = (labels: Record<string, string>) =>
      sampleValue(samples, 'kube_image_bouncer_decisions_total', labels);
    expect({
      imageAllow: decisions({ endpoint: 'image_policy', decision: 'allow', rule: '' }),
      imageDenyLatest: decisions({ endpoint: 'image_policy', decision: 'deny', rule: 'no-latest' }),
      imageWarn: decisions({ endpoint: 'image_policy', decision: 'warn', rule: 'trusted-sources' }),
      imageDenyHub: decisions({ endpoint: 'image_policy', decision: 'deny', rule: 'no-unknown-hub' }),
      validateDenyLatest: decisions({ endpoint: 'validate', decision: 'deny', rule: 'no-latest' }),
      validateAllow: decisions({ endpoint: 'validate', decision: 'allow', rule: '' }),
    }).toEqual({
      imageAllow: 1,
      imageDenyLatest: 1,
      imageWarn: 1,
      imageDenyHub: 1,
      validateDenyLatest: 1,
      validateAllow: 3,
    });

    const requests = (endpoint: string, code: string) =>
      sampleValue(samples, 'kube_image_bouncer_requests_total', { endpoint, code });
    expect({
      image200: requests('image_policy', '200'),
      image400: requests('image_policy', '400'),
      image415: requests('image_policy', '415'),
      validate200: requests('validate', '200'),
    }).toEqual({ image200: 4, image400: 2, image415: 1, validate200: 5 });
    expect(
      sampleValue(samples, 'kube_image_bouncer_request_duration_seconds_count', { endpoint: 'image_policy' }),
    ).toBe(7);
    expect(
      sampleValue(samples, 'kube_image_bouncer_request_duration_seconds_bucket', {
        endpoint: 'validate',
        le: '1',
      }),
    ).toBe(5);
    expect(sampleValue(samples, 'kube_image_bouncer_break_glass_total')).toBe(1);
    expect(
      sampleValue(samples, 'kube_image_bouncer_review_errors_total', {
        endpoint: 'validate',
        reason: 'malformed',
      }),
    ).toBe(1);
    // Malformed JSON, a wrong apiVersion and a wrong content type: each answered with a 4xx.
    expect(
      sampleValue(samples, 'kube_image_bouncer_review_errors_total', {
        endpoint: 'image_policy',
        reason: 'rejected',
      }),
    ).toBe(3);
    expect(
      sampleValue(samples, 'kube_image_bouncer_review_errors_total', {
        endpoint: 'image_policy',
        reason: 'malformed',
      }),
    ).toBeUndefined();
    expect(sampleValue(samples, 'kube_image_bouncer_certificate_expiry_timestamp_seconds')).toBe(
      new Date(new X509Certificate(pki.server.certificatePem).validTo).getTime() / 1000,
    );
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts policy reloads by result', async () => {
    const reloads = async (result: string) =>
      sampleValue(await scrape(), 'kube_image_bouncer_policy_reloads_total', { result });
    writeFileSync(
      policyPath,
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - disallowedTags: [latest]\n',
    );
    await eventually('the edit to be applied', async () => expect(await reloads('applied')).toBe(1));
    writeFileSync(
      policyPath,
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules: nope\n',
    );
    await eventually('the broken edit to be refused', async () => expect(await reloads('refused')).toBe(1));
    expect({ applied: await reloads('applied'), refused: await reloads('refused') }).toEqual({
      applied: 1,
      refused: 1,
    });
  });

  it('shows a refused edit until the file holds one that applies, and the policy in force', async () => {
    const refusedNow = async () => sampleValue(await scrape(), 'kube_image_bouncer_policy_reload_refused');
    writeFileSync(
      policyPath,
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules: still-nope\n',
    );
    await eventually('the gauge to say the edit was refused', async () => expect(await refusedNow()).toBe(1));
    const inForce = server.app.get(PolicyStore).current;
    expect((await scrape()).filter((s) => s.name === 'kube_image_bouncer_policy_info')).toEqual([
      {
        name: 'kube_image_bouncer_policy_info',
        labels: { name: inForce.name, revision: inForce.revision },
        value: 1,
      },
    ]);
    writeFileSync(
      policyPath,
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: fixed}\nspec:\n  rules:\n    - disallowedTags: [dev]\n',
    );
    await eventually('the gauge to fall back to 0', async () => expect(await refusedNow()).toBe(0));
    const fixed = server.app.get(PolicyStore).current;
    expect((await scrape()).filter((s) => s.name === 'kube_image_bouncer_policy_info')).toEqual([
      {
        name: 'kube_image_bouncer_policy_info',
        labels: { name: 'fixed', revision: fixed.revision },
        value: 1,
      },
    ]);
  });

  it('says what runs: the version, the commit it was built from, and Node.js', async () => {
    expect((await scrape()).filter((s) => s.name === 'kube_image_bouncer_build_info')).toEqual([
      {
        name: 'kube_image_bouncer_build_info',
        labels: {
          version: '0.1.0',
          commit: expect.stringMatching(/^[0-9a-f]{40}(-dirty)?$/),
          nodejs: process.version,
        },
        value: 1,
      },
    ]);
  });
});

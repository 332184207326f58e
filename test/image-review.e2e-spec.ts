import { createHash } from 'node:crypto';
import request from 'supertest';
import { DEFAULT_POLICY_YAML } from '../src/policy/policy-file/default-policy';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { DIGEST, imageReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const SEED_PHRASE = 'Images using latest tag are not allowed';
const DEFAULT_POLICY_REVISION = createHash('sha256').update(DEFAULT_POLICY_YAML).digest('hex').slice(0, 12);

describe('ImageReview over HTTPS (ImagePolicyWebhook)', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki, { healthPort: true });
  });
  afterAll(() => server.close());

  const post = (path: string, body: unknown) =>
    request(server.tlsServer)
      .post(path)
      .ca(pki.ca.certificatePem)
      .send(body as object);

  describe.each(['/image_policy', '/policy'])('POST %s', (path) => {
    it('allows a pinned tag', async () => {
      const response = await post(path, imageReview(['nginx:1.13.8'])).expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        apiVersion: 'imagepolicy.k8s.io/v1alpha1',
        kind: 'ImageReview',
        status: {
          allowed: true,
          auditAnnotations: {
            decision: 'allow',
            images: JSON.stringify({ 'nginx:1.13.8': 'allow' }),
            'policy-revision': DEFAULT_POLICY_REVISION,
          },
        },
      });
    });

    it('denies an untagged image with the seed phrase, naming the image', async () => {
      const response = await post(path, imageReview(['nginx'])).expect(200);

      expect(response.body.status).toEqual({
        allowed: false,
        reason: `${SEED_PHRASE}: nginx (rule no-latest)`,
        auditAnnotations: {
          decision: 'deny',
          images: JSON.stringify({ nginx: 'deny:no-latest' }),
          'policy-revision': DEFAULT_POLICY_REVISION,
        },
      });
    });
  });

  it('allows a digest-pinned image without a tag', async () => {
    const response = await post('/policy', imageReview([`nginx@${DIGEST}`])).expect(200);
    expect(response.body.status.allowed).toBe(true);
  });

  it('denies an explicit :latest tag', async () => {
    const response = await post('/policy', imageReview(['docker.io/library/nginx:latest'])).expect(200);
    expect(response.body.status).toMatchObject({
      allowed: false,
      reason: `${SEED_PHRASE}: docker.io/library/nginx:latest (rule no-latest)`,
    });
  });

  it('takes a registry port for a port, not a tag', async () => {
    const response = await post('/policy', imageReview(['registry:5000/app', 'registry:5000/app:v2'])).expect(
      200,
    );
    expect(response.body.status).toMatchObject({
      allowed: false,
      reason: `${SEED_PHRASE}: registry:5000/app (rule no-latest)`,
    });
  });

  it('decides several images at once and lists every offender in one reason', async () => {
    const response = await post(
      '/policy',
      imageReview(['nginx', 'nginx:1.13.8', 'registry:5000/app', `busybox@${DIGEST}`]),
    ).expect(200);

    expect(response.body.status.allowed).toBe(false);
    expect(response.body.status.reason).toBe(`${SEED_PHRASE}: nginx, registry:5000/app (rule no-latest)`);
    expect(JSON.parse(response.body.status.auditAnnotations.images)).toEqual({
      nginx: 'deny:no-latest',
      'nginx:1.13.8': 'allow',
      'registry:5000/app': 'deny:no-latest',
      [`busybox@${DIGEST}`]: 'allow',
    });
  });

  it.each([
    ['uppercase repository', 'Nginx:1.0', 'repository name (library/Nginx) must be lowercase'],
    ['empty image', '', 'invalid reference format'],
    ['space inside', 'nginx :1.0', 'invalid reference format'],
    ['short digest', 'nginx@sha256:abc', 'invalid'],
  ])('denies an invalid reference (%s), naming the image and the problem', async (_case, image, problem) => {
    const response = await post('/policy', imageReview([image, 'nginx:1.13.8'])).expect(200);

    expect(response.body.status.allowed).toBe(false);
    expect(response.body.status.reason).toContain('Images that are not valid references are not allowed: ');
    expect(response.body.status.reason).toContain(JSON.stringify(image));
    expect(response.body.status.reason).toContain(problem);
  });

  it('tolerates fields it does not model, anywhere in the review', async () => {
    const body = {
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      metadata: { creationTimestamp: null },
      spec: {
        containers: [{ image: 'nginx:1.13.8', name: 'web', futureContainerField: true }],
        annotations: { 'a.image-policy.k8s.io/ticket': '1' },
        namespace: 'default',
        futureSpecField: 'x',
      },
      status: { allowed: true },
      futureField: { nested: [1, 2, 3] },
    };

    const response = await post('/policy', body).expect(200);
    expect(response.body.status.allowed).toBe(true);
  });

  it('allows a review with no containers, since it names no image to refuse', async () => {
    const response = await post('/policy', { ...imageReview([]) }).expect(200);
    expect(response.body.status.allowed).toBe(true);
  });

  describe('a request it cannot read gets a clear JSON 4xx, never an allow', () => {
    const refused = (response: request.Response, status: number, message: string | RegExp): void => {
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ statusCode: status });
      if (typeof message === 'string') expect(response.body.message).toContain(message);
      else expect(response.body.message).toMatch(message);
      expect(response.body.status?.allowed).toBeUndefined();
    };

    it('malformed JSON', async () => {
      const response = await request(server.tlsServer)
        .post('/policy')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'application/json')
        .send('{"apiVersion": "imagepolicy.k8s.io/v1alpha1", ');
      refused(response, 400, /JSON/);
    });

    it.each([
      [
        'wrong apiVersion',
        { ...imageReview(['nginx']), apiVersion: 'imagepolicy.k8s.io/v1' },
        'apiVersion must be imagepolicy.k8s.io/v1alpha1 (got "imagepolicy.k8s.io/v1")',
      ],
      [
        'wrong kind',
        { ...imageReview(['nginx']), kind: 'AdmissionReview' },
        'kind must be ImageReview (got "AdmissionReview")',
      ],
      [
        'missing spec',
        { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview' },
        'spec must be an object',
      ],
      ['spec not an object', { ...imageReview([]), spec: 'nginx' }, 'spec must be an object'],
      [
        'missing containers',
        { ...imageReview([]), spec: { namespace: 'x' } },
        'spec.containers must be an array',
      ],
      [
        'containers not an array',
        { ...imageReview([]), spec: { containers: { image: 'nginx' } } },
        'spec.containers must be an array',
      ],
      [
        'container not an object',
        { ...imageReview([]), spec: { containers: ['nginx'] } },
        'spec.containers must contain only objects',
      ],
      [
        'image not a string',
        { ...imageReview([]), spec: { containers: [{ image: 42 }] } },
        'spec.containers[0].image must be a string (got 42)',
      ],
      [
        'image missing',
        { ...imageReview([]), spec: { containers: [{ name: 'web' }] } },
        'spec.containers[0].image must be a string (got nothing)',
      ],
      [
        'namespace not a string',
        imageReview(['nginx'], { namespace: 7 as unknown as string }),
        'spec.namespace must be a string',
      ],
      [
        'annotations not a string map',
        imageReview(['nginx'], { annotations: { a: 1 } as unknown as Record<string, string> }),
        'spec.annotations must be an object of string values',
      ],
      ['a JSON array body', [imageReview(['nginx'])], 'request body must be a JSON object'],
      // Found by test/robust: an object with its own "constructor" key made class-transformer throw.
      [
        'namespace an object with a "constructor" key',
        imageReview(['nginx'], { namespace: { constructor: 1 } as unknown as string }),
        'spec.namespace must be a string',
      ],
      [
        'apiVersion an object with a "constructor" key',
        { ...imageReview(['nginx']), apiVersion: { constructor: [] } },
        'apiVersion must be imagepolicy.k8s.io/v1alpha1',
      ],
      [
        'image an object with a "constructor" key',
        { ...imageReview([]), spec: { containers: [{ image: { constructor: 'String' } }] } },
        'spec.containers[0].image must be a string',
      ],
    ])('%s', async (_case, body, message) => {
      refused(await post('/policy', body), 400, message);
    });

    it.each([
      ['a JSON string body', '"nginx"'],
      ['a JSON null body', 'null'],
      ['a JSON number body', '42'],
    ])('%s', async (_case, raw) => {
      const response = await request(server.tlsServer)
        .post('/policy')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'application/json')
        .send(raw);
      expect(response.status).toBe(400);
      expect(response.body.status?.allowed).toBeUndefined();
    });

    it('a non-JSON content type', async () => {
      const response = await request(server.tlsServer)
        .post('/policy')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify(imageReview(['nginx:1.0'])));
      refused(response, 415, 'request Content-Type must be application/json (got "text/plain")');
    });

    it('no content type at all', async () => {
      const response = await request(server.tlsServer)
        .post('/policy')
        .ca(pki.ca.certificatePem)
        .send(Buffer.from(JSON.stringify(imageReview(['nginx:1.0']))));
      refused(response, 415, /request Content-Type must be application\/json/);
    });

    it('a body over 7 MiB', async () => {
      const padding = 'x'.repeat(7 * 1024 * 1024);
      const response = await post('/policy', { ...imageReview(['nginx:1.0']), padding });
      refused(response, 413, 'request body is larger than the 7 MiB limit');
    });

    it('accepts a body just under 7 MiB', async () => {
      const padding = 'x'.repeat(7 * 1024 * 1024 - 1024);
      const response = await post('/policy', { ...imageReview(['nginx:1.0']), padding }).expect(200);
      expect(response.body.status.allowed).toBe(true);
    });

    const deeplyNested = (depth: number, leaf = '1'): string => '['.repeat(depth) + leaf + ']'.repeat(depth);

    it.each([
      [
        'in an unmodelled field',
        (d: string) =>
          `{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{"image":"nginx:1.0"}]},"junk":${d}}`,
        200,
      ],
      [
        'in the container list',
        (d: string) =>
          `{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":${d}}}`,
        400,
      ],
      [
        'in the annotations',
        (d: string) =>
          `{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{"image":"nginx"}],"annotations":{"a":${d}}}}`,
        400,
      ],
      [
        'as a container image',
        (d: string) =>
          `{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{"image":${d}}]}}`,
        400,
      ],
    ])('pathological nesting %s neither crashes nor allows a bad review', async (_case, body, status) => {
      const response = await request(server.tlsServer)
        .post('/policy')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'application/json')
        .send(body(deeplyNested(500_000)));
      expect(response.status).toBe(status);
      if (status === 200) expect(response.body.status.allowed).toBe(true);
      else expect(response.body.status?.allowed).toBeUndefined();
    });

    afterAll(async () => {
      // After every bad input above, the server still answers.
      const response = await post('/policy', imageReview(['nginx'])).expect(200);
      expect(response.body.status.allowed).toBe(false);
    });
  });

  describe('listeners', () => {
    it('does not answer reviews on the plain-HTTP health port', async () => {
      const response = await request(server.healthServer!)
        .post('/policy')
        .send(imageReview(['nginx:1.0']));
      expect(response.status).toBe(404);
      expect(response.body.status?.allowed).toBeUndefined();
      expect(response.body.message).toBe(
        'Cannot POST /policy on the health port; reviews are served over TLS',
      );
    });

    it('refuses TLS 1.1 on the review port', async () => {
      const { connect } = await import('node:tls');
      const error = await new Promise<Error>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port: server.address.port,
          ca: pki.ca.certificatePem,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
        });
        socket.once('secureConnect', () => reject(new Error('TLS 1.1 handshake succeeded')));
        socket.once('error', resolve);
      });
      expect(error.message).toMatch(/protocol|version|alert/i);
    });
  });
});

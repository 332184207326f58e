import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import {
  ContainerLists,
  DIGEST,
  POD_KIND,
  WORKLOAD_KINDS,
  admissionReview,
  imageReview,
  web,
} from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const UID = '8c9a2d3e-1111-4222-8333-944455556666';

describe('AdmissionReview over HTTPS (ValidatingAdmissionWebhook)', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki);
  });
  afterAll(() => server.close());

  const post = (body: unknown, path = '/validate') =>
    request(server.tlsServer)
      .post(path)
      .ca(pki.ca.certificatePem)
      .send(body as object);
  const responseTo = async (body: unknown, path?: string) => {
    const reply = await post(body, path).expect(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    return reply.body as {
      apiVersion: string;
      kind: string;
      response: {
        uid: string;
        allowed: boolean;
        status?: { code: number; message: string };
        auditAnnotations: Record<string, string>;
      };
    };
  };
  const podObject = (lists: ContainerLists, metadata: Record<string, unknown> = {}) =>
    POD_KIND.wrap({ ...lists }, metadata);

  describe.each(WORKLOAD_KINDS)('$group/$kind', (kind) => {
    it('is denied with an untagged image, naming the container and its list', async () => {
      const reply = await responseTo(
        admissionReview({ uid: UID, kind, object: kind.wrap({ ...web('nginx') }) }),
      );

      expect(reply.response).toEqual({
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          status: 'Failure',
          reason: 'Forbidden',
          message: 'container "web" (containers): image nginx uses the latest tag (rule no-latest)',
        },
        auditAnnotations: {
          decision: 'deny',
          images: JSON.stringify({ nginx: 'deny:no-latest' }),
          'policy-revision': expect.stringMatching(/^[0-9a-f]{12}$/),
        },
      });
    });

    it('is allowed with a pinned tag', async () => {
      const reply = await responseTo(
        admissionReview({ uid: UID, kind, object: kind.wrap({ ...web('nginx:1.13.8') }) }),
      );
      expect(reply.response).toEqual({
        uid: UID,
        allowed: true,
        auditAnnotations: {
          decision: 'allow',
          images: JSON.stringify({ 'nginx:1.13.8': 'allow' }),
          'policy-revision': expect.stringMatching(/^[0-9a-f]{12}$/),
        },
      });
    });
  });

  describe.each(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'])('%s', (apiVersion) => {
    it("replies in the request's version, echoing its uid", async () => {
      const reply = await responseTo(
        admissionReview({ apiVersion, uid: UID, object: podObject(web('nginx')) }),
      );
      expect(reply).toMatchObject({
        apiVersion,
        kind: 'AdmissionReview',
        response: { uid: UID, allowed: false },
      });
    });
  });

  it('answers on / as well, for the original bouncer users', async () => {
    const reply = await responseTo(admissionReview({ uid: UID, object: podObject(web('nginx')) }), '/');
    expect(reply.response).toMatchObject({ uid: UID, allowed: false });
  });

  it.each([
    [
      'containers',
      { containers: [{ name: 'app', image: 'redis' }] },
      'container "app" (containers): image redis uses the latest tag (rule no-latest)',
    ],
    [
      'initContainers',
      { ...web('nginx:1.0'), initContainers: [{ name: 'migrate', image: 'flyway/flyway:latest' }] },
      'container "migrate" (initContainers): image flyway/flyway:latest uses the latest tag (rule no-latest)',
    ],
    [
      'ephemeralContainers',
      { ...web('nginx:1.0'), ephemeralContainers: [{ name: 'debugger', image: 'busybox' }] },
      'container "debugger" (ephemeralContainers): image busybox uses the latest tag (rule no-latest)',
    ],
  ])('checks %s', async (_list, lists: ContainerLists, message) => {
    const reply = await responseTo(admissionReview({ object: podObject(lists) }));
    expect(reply.response).toMatchObject({ allowed: false, status: { message } });
  });

  it('lists every offending container, and names an invalid reference with the parser message', async () => {
    const lists = {
      containers: [
        { name: 'web', image: 'nginx' },
        { name: 'ok', image: 'nginx:1.13.8' },
        { name: 'cache', image: 'Redis:7' },
      ],
      initContainers: [{ name: 'init', image: 'localhost:5000/setup' }],
    };
    const reply = await responseTo(admissionReview({ object: podObject(lists) }));
    expect(reply.response.status?.message).toBe(
      'container "web" (containers): image nginx uses the latest tag (rule no-latest); ' +
        'container "cache" (containers): image "Redis:7" is not a valid image reference ' +
        '(invalid reference format: repository name (library/Redis) must be lowercase) (rule valid-reference); ' +
        'container "init" (initContainers): image localhost:5000/setup uses the latest tag (rule no-latest)',
    );
  });

  it('decides exactly as ImageReview does for the same images', async () => {
    const images = [
      'nginx',
      'nginx:1.13.8',
      `nginx@${DIGEST}`,
      'registry:5000/app',
      'Bad:Ref',
      'gcr.io/x/y:latest',
      'gcr.io/x/y:v1',
    ];
    for (const image of images) {
      const viaImageReview = await post(imageReview([image]), '/image_policy').expect(200);
      const viaAdmission = await responseTo(admissionReview({ object: podObject(web(image)) }));
      expect({ image, allowed: viaAdmission.response.allowed }).toEqual({
        image,
        allowed: viaImageReview.body.status.allowed,
      });
      expect(viaAdmission.response.auditAnnotations).toEqual(viaImageReview.body.status.auditAnnotations);
    }
  });

  describe('kubectl debug: the pods/ephemeralcontainers subresource', () => {
    const running = podObject(web('nginx:1.13.8'));
    const debugged = (image: string) =>
      podObject({ ...web('nginx:1.13.8'), ephemeralContainers: [{ name: 'debugger-x7k2', image }] });

    it('denies an untagged debug image', async () => {
      const reply = await responseTo(
        admissionReview({
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
          object: debugged('busybox'),
          oldObject: running,
        }),
      );
      expect(reply.response).toMatchObject({
        allowed: false,
        status: {
          message:
            'container "debugger-x7k2" (ephemeralContainers): image busybox uses the latest tag (rule no-latest)',
        },
      });
    });

    it('allows a pinned debug image', async () => {
      const reply = await responseTo(
        admissionReview({
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
          object: debugged('busybox:1.36'),
          oldObject: running,
        }),
      );
      expect(reply.response.allowed).toBe(true);
    });

    it('judges the whole pod when the subresource comes as anything but the UPDATE the apiserver sends', async () => {
      const reply = await responseTo(
        admissionReview({
          operation: 'CREATE',
          subResource: 'ephemeralcontainers',
          object: podObject(web('nginx')),
        }),
      );
      expect(reply.response).toMatchObject({
        allowed: false,
        status: { message: 'container "web" (containers): image nginx uses the latest tag (rule no-latest)' },
      });
    });
  });

  describe('UPDATE judges only the images it introduces', () => {
    const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;
    const old = deployment.wrap({ ...web('nginx') }, { labels: { app: 'web' } });

    it('allows a change that keeps an old latest image (a label change on an old workload)', async () => {
      const relabelled = deployment.wrap({ ...web('nginx') }, { labels: { app: 'web', tier: 'front' } });
      const reply = await responseTo(
        admissionReview({ kind: deployment, operation: 'UPDATE', object: relabelled, oldObject: old }),
      );
      expect(reply.response.allowed).toBe(true);
    });

    it('denies a change that adds a new latest image', async () => {
      const sidecar = deployment.wrap({
        containers: [
          { name: 'web', image: 'nginx' },
          { name: 'proxy', image: 'envoyproxy/envoy' },
        ],
      });
      const reply = await responseTo(
        admissionReview({ kind: deployment, operation: 'UPDATE', object: sidecar, oldObject: old }),
      );
      expect(reply.response).toMatchObject({
        allowed: false,
        status: {
          message:
            'container "proxy" (containers): image envoyproxy/envoy uses the latest tag (rule no-latest)',
        },
      });
    });

    it('denies a change from a pinned image to a latest one', async () => {
      const pinned = deployment.wrap({ ...web('nginx:1.13.8') });
      const reply = await responseTo(
        admissionReview({ kind: deployment, operation: 'UPDATE', object: old, oldObject: pinned }),
      );
      expect(reply.response.allowed).toBe(false);
    });

    it('judges every image when the old object is unreadable', async () => {
      const reply = await responseTo(
        admissionReview({
          kind: deployment,
          operation: 'UPDATE',
          object: old,
          oldObject: { spec: { template: { spec: { containers: 'x' } } } },
        }),
      );
      expect(reply.response.allowed).toBe(false);
    });
  });

  describe('what is allowed without a check', () => {
    it('a DELETE', async () => {
      const reply = await responseTo(
        admissionReview({ operation: 'DELETE', object: null, oldObject: podObject(web('nginx')) }),
      );
      expect(reply.response).toEqual({
        uid: expect.any(String),
        allowed: true,
        auditAnnotations: { decision: 'allow', unchecked: 'operation DELETE' },
      });
    });

    it('a kind with no pod spec', async () => {
      const configMap = { group: '', version: 'v1', kind: 'ConfigMap' };
      const reply = await responseTo(
        admissionReview({ kind: configMap, object: { data: { image: 'nginx' } } }),
      );
      expect(reply.response).toMatchObject({
        allowed: true,
        auditAnnotations: { unchecked: 'kind core/ConfigMap has no pod spec' },
      });
    });

    it('a kind from another API group that shares a name with a workload', async () => {
      const lookalike = { group: 'example.com', version: 'v1', kind: 'Deployment' };
      const reply = await responseTo(
        admissionReview({ kind: lookalike, object: { spec: { template: { spec: web('nginx') } } } }),
      );
      expect(reply.response.allowed).toBe(true);
    });

    it('a subresource other than ephemeralcontainers, such as status', async () => {
      const reply = await responseTo(
        admissionReview({
          operation: 'UPDATE',
          subResource: 'status',
          object: podObject(web('nginx')),
          oldObject: podObject(web('nginx')),
        }),
      );
      expect(reply.response).toMatchObject({
        allowed: true,
        auditAnnotations: { unchecked: 'subresource status' },
      });
    });
  });

  it('tolerates fields it does not model, anywhere', async () => {
    const review = admissionReview({ object: podObject(web('nginx:1.0'), { labels: { a: 'b' } }) });
    Object.assign(review, { futureTopLevel: { x: 1 } });
    Object.assign(review.request as object, { futureRequestField: [1, 2] });
    const reply = await responseTo(review);
    expect(reply.response.allowed).toBe(true);
  });

  it('reads a 5 MiB review', async () => {
    const annotations = Object.fromEntries(
      Array.from({ length: 5 * 1024 }, (_, i) => [`example.com/note-${i}`, 'x'.repeat(1024)]),
    );
    const review = admissionReview({ object: podObject(web('nginx'), { annotations }) });
    expect(JSON.stringify(review).length).toBeGreaterThan(5 * 1024 * 1024);

    const reply = await responseTo(review);
    expect(reply.response).toMatchObject({
      allowed: false,
      status: { message: 'container "web" (containers): image nginx uses the latest tag (rule no-latest)' },
    });
  });

  describe('a problem inside a review with a readable uid gets a denial that says what is wrong', () => {
    it.each([
      [
        'containers not an array',
        admissionReview({ uid: UID, object: { spec: { containers: { name: 'web' } } } }),
        'request.object.spec.containers must be an array',
      ],
      [
        'a container without an image',
        admissionReview({ uid: UID, object: { spec: { containers: [{ name: 'web' }] } } }),
        'request.object.spec.containers[0].image must be a string',
      ],
      [
        'a container that is not an object',
        admissionReview({ uid: UID, object: { spec: { initContainers: ['nginx'] } } }),
        'request.object.spec.initContainers[0] must be an object',
      ],
      [
        'a pod spec that is not an object',
        admissionReview({ uid: UID, object: { spec: 'nginx' } }),
        'request.object.spec must be an object',
      ],
      [
        'no object on CREATE',
        admissionReview({ uid: UID, object: null }),
        'request.object must be an object for CREATE',
      ],
      [
        'an object that is not an object',
        admissionReview({ uid: UID, object: 'pod' as unknown as null }),
        'request.object must be an object',
      ],
      [
        'an unknown operation',
        {
          ...admissionReview({ uid: UID }),
          request: { ...(admissionReview({ uid: UID }).request as object), operation: 'PATCH' },
        },
        'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT (got "PATCH")',
      ],
      [
        'a missing kind',
        {
          ...admissionReview({ uid: UID }),
          request: { ...(admissionReview({ uid: UID }).request as object), kind: undefined },
        },
        'request.kind must be an object',
      ],
      [
        'a wrong review kind',
        { ...admissionReview({ uid: UID, object: podObject(web('nginx:1.0')) }), kind: 'ImageReview' },
        'kind must be AdmissionReview (got "ImageReview")',
      ],
      [
        'an unknown apiVersion',
        {
          ...admissionReview({ uid: UID, object: podObject(web('nginx:1.0')) }),
          apiVersion: 'admission.k8s.io/v2',
        },
        'apiVersion must be one of admission.k8s.io/v1, admission.k8s.io/v1beta1 (got "admission.k8s.io/v2")',
      ],
      // Found by test/robust: an object with its own "constructor" key made class-transformer throw.
      [
        'a kind group that is an object with a "constructor" key',
        {
          ...admissionReview({ uid: UID }),
          request: {
            ...(admissionReview({ uid: UID }).request as object),
            kind: { group: { constructor: 1 }, version: 'v1', kind: 'Pod' },
          },
        },
        'request.kind.group must be a string',
      ],
      [
        'an apiVersion that is an object with a "constructor" key',
        {
          ...admissionReview({ uid: UID, object: podObject(web('nginx:1.0')) }),
          apiVersion: { constructor: 1 },
        },
        'apiVersion must be one of admission.k8s.io/v1, admission.k8s.io/v1beta1',
      ],
    ])('%s', async (_case, body, problem) => {
      const reply = await responseTo(body);
      expect(reply.apiVersion).toMatch(/^admission\.k8s\.io\/v1(beta1)?$/);
      expect(reply.response).toEqual({
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          status: 'Failure',
          reason: 'Forbidden',
          message: expect.stringContaining(problem),
        },
        auditAnnotations: { decision: 'deny', error: 'unreadable-review' },
      });
      expect(reply.response.status?.message).toMatch(
        /^kube-image-bouncer could not read the AdmissionReview: /,
      );
    });
  });

  describe('a review without a readable uid gets a JSON 4xx', () => {
    it.each([
      [
        'no request',
        { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
        'request must be an object',
      ],
      [
        'an empty uid',
        admissionReview({ uid: '', object: podObject(web('nginx:1.0')) }),
        'request.uid should not be empty',
      ],
      [
        'a numeric uid',
        { ...admissionReview(), request: { ...(admissionReview().request as object), uid: 7 } },
        'request.uid must be a string (got 7)',
      ],
      [
        'a uid that is an object with a "constructor" key',
        {
          ...admissionReview(),
          request: { ...(admissionReview().request as object), uid: { constructor: 1 } },
        },
        'request.uid must be a string',
      ],
    ])('%s', async (_case, body, message) => {
      const reply = await post(body).expect(400);
      expect(reply.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringContaining(message),
      });
    });

    it('malformed JSON', async () => {
      const reply = await request(server.tlsServer)
        .post('/validate')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'application/json')
        .send('{"apiVersion":"admission.k8s.io/v1","request":{"uid":"x"');
      expect(reply.status).toBe(400);
      expect(reply.body.response).toBeUndefined();
    });

    it('a body over 7 MiB', async () => {
      const reply = await post({ ...admissionReview({ uid: UID }), padding: 'x'.repeat(7 * 1024 * 1024) });
      expect(reply.status).toBe(413);
    });

    it('a non-JSON content type', async () => {
      const reply = await request(server.tlsServer)
        .post('/validate')
        .ca(pki.ca.certificatePem)
        .set('Content-Type', 'application/yaml')
        .send('apiVersion: admission.k8s.io/v1');
      expect(reply.status).toBe(415);
    });
  });
});

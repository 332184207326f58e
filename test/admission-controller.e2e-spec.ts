import { createHash } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DEFAULT_POLICY_YAML } from '../src/policy/policy-file/default-policy';
import { reviewControllerApp } from '../src/testing/review-controller-app';
import { AdmissionController } from '../src/admission/admission.controller';
import { AdmissionModule } from '../src/admission/admission.module';

const REVISION = createHash('sha256').update(DEFAULT_POLICY_YAML).digest('hex').slice(0, 12);
const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';
const podReview = (object: unknown, apiVersion = 'admission.k8s.io/v1') => ({
  apiVersion,
  kind: 'AdmissionReview',
  request: {
    uid: UID,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'default',
    name: 'web',
    object,
  },
});
const pod = (...images: string[]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web' },
  spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
});

describe(AdmissionController.name, () => {
  let app: NestExpressApplication;

  beforeAll(async () => {
    app = await reviewControllerApp(AdmissionModule);
  });
  afterAll(() => app.close());

  const post = (body: unknown) =>
    request(app.getHttpServer())
      .post('/validate')
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  it('allows a pod with a pinned tag, echoing apiVersion and uid', async () => {
    const { body } = await post(podReview(pod('nginx:1.13.8'), 'admission.k8s.io/v1beta1')).expect(200);
    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: {
        uid: UID,
        allowed: true,
        auditAnnotations: {
          decision: 'allow',
          images: '{"nginx:1.13.8":"allow"}',
          'policy-revision': REVISION,
        },
      },
    });
  });

  it('denies a pod that runs latest, naming the container, the image and the rule', async () => {
    const { body } = await post(podReview(pod('nginx:1.13.8', 'nginx'))).expect(200);
    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          status: 'Failure',
          reason: 'Forbidden',
          message: 'container "c1" (containers): image nginx uses the latest tag (rule no-latest)',
        },
        auditAnnotations: {
          decision: 'deny',
          images: '{"nginx:1.13.8":"allow","nginx":"deny:no-latest"}',
          'policy-revision': REVISION,
        },
      },
    });
  });

  it('denies a review whose uid it can read but whose pod it cannot, saying why', async () => {
    const { body } = await post(podReview({ spec: { containers: 'nginx' } })).expect(200);
    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          status: 'Failure',
          reason: 'Forbidden',
          message:
            'kube-image-bouncer could not read the AdmissionReview: request.object.spec.containers must be an array',
        },
        auditAnnotations: { decision: 'deny', error: 'unreadable-review' },
      },
    });
  });

  it('answers a review without a uid with a 400, having nothing to answer in kind', async () => {
    const review = podReview(pod('nginx:1'));
    const { body } = await post({ ...review, request: { ...review.request, uid: '' } }).expect(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'request.uid should not be empty (got "")',
    });
  });
});

import { createHash } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { reviewControllerApp } from '../src/testing/review-controller-app';
import { ImageReviewModule } from '../src/image-review/image-review.module';
import { PolicyController } from '../src/image-review/policy.controller';
import { DEFAULT_POLICY_YAML } from '../src/policy/policy-file/default-policy';

const REVISION = createHash('sha256').update(DEFAULT_POLICY_YAML).digest('hex').slice(0, 12);
const imageReview = (images: string[], namespace = 'default') => ({
  apiVersion: 'imagepolicy.k8s.io/v1alpha1',
  kind: 'ImageReview',
  spec: { containers: images.map((image) => ({ image })), namespace },
});

describe(PolicyController.name, () => {
  let app: NestExpressApplication;

  beforeAll(async () => {
    app = await reviewControllerApp(ImageReviewModule);
  });
  afterAll(() => app.close());

  const post = (body: unknown, contentType = 'application/json') =>
    request(app.getHttpServer())
      .post('/image_policy')
      .set('Content-Type', contentType)
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  it('allows a pinned tag', async () => {
    const { body } = await post(imageReview(['nginx:1.13.8'])).expect(200);
    expect(body).toEqual({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      status: {
        allowed: true,
        auditAnnotations: {
          decision: 'allow',
          images: '{"nginx:1.13.8":"allow"}',
          'policy-revision': REVISION,
        },
      },
    });
  });

  it("denies an untagged image with the original bouncer's phrase, naming the image and the rule", async () => {
    const { body } = await post(imageReview(['nginx', 'nginx:1.13.8'])).expect(200);
    expect(body).toEqual({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      status: {
        allowed: false,
        reason: 'Images using latest tag are not allowed: nginx (rule no-latest)',
        auditAnnotations: {
          decision: 'deny',
          images: '{"nginx":"deny:no-latest","nginx:1.13.8":"allow"}',
          'policy-revision': REVISION,
        },
      },
    });
  });

  it('answers an envelope it cannot read with a 400 that says what is wrong', async () => {
    const { body } = await post({ ...imageReview(['nginx:1']), apiVersion: 'v1' }).expect(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'apiVersion must be imagepolicy.k8s.io/v1alpha1 (got "v1")',
    });
  });

  it('answers malformed JSON with a 400', async () => {
    const { body } = await post('{not json').expect(400);
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('refuses a body that is not JSON before reading it', async () => {
    const { body } = await post(JSON.stringify(imageReview(['nginx:1'])), 'text/plain').expect(415);
    expect(body).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'request Content-Type must be application/json (got "text/plain")',
    });
  });
});

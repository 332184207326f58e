import fc from 'fast-check';
import { request as httpsRequest } from 'node:https';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { BouncerUnderTest, startBouncer } from './support/bouncer-under-test';
import {
  GeneratedReview,
  admissionReview,
  imageReview,
  mutate,
  mutation,
  toWireJson,
} from './support/review-arbitraries';
import { Exchange, apiserverTls, keepAliveAgent, postReview } from './support/review-client';
import { ImageCatalog, dig, expectAdmissionReview, expectImageReview } from './support/review-oracle';
import { recordResults } from './support/results';
import { propertyRuns } from './support/robust-mode';

const IMAGE_REVIEW_PATHS = ['/image_policy', '/policy'];
const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

const readableUid = (sent: unknown): string | undefined => {
  const uid = dig(sent, 'request', 'uid');
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
};

/**
 * Everything wrong with the answer to one request: a reset or hang-up, a 5xx, a body that is not
 * the JSON the apiserver needs, a 4xx where the README promises a denial, or an allow of an image
 * the generator made to be denied.
 */
function problemsWith(path: string, sent: unknown, exchange: Exchange, catalog: ImageCatalog): string[] {
  if (exchange.kind !== 'response') return [`no response: ${exchange.kind} ${exchange.code}`];
  const { status, headers, text } = exchange;
  if (status >= 500) return [`HTTP ${status}: ${text.slice(0, 300)}`];
  if (!String(headers['content-type']).startsWith('application/json'))
    return [`HTTP ${status} with Content-Type ${String(headers['content-type'])}`];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`];
  }
  const imagePath = IMAGE_REVIEW_PATHS.includes(path);
  if (status !== 200) {
    const problems: string[] = [];
    if (status !== 400) problems.push(`HTTP ${status} for a JSON body of the right size`);
    const message = dig(body, 'message');
    if (
      dig(body, 'statusCode') !== status ||
      typeof dig(body, 'error') !== 'string' ||
      typeof message !== 'string'
    )
      problems.push(`error body is not {statusCode, error, message}: ${text.slice(0, 200)}`);
    if (!imagePath && readableUid(sent) !== undefined)
      problems.push(`HTTP ${status} for an AdmissionReview whose uid is readable: ${String(message)}`);
    return problems;
  }

  let allowed: unknown;
  const problems: string[] = [];
  if (imagePath) {
    allowed = dig(body, 'status', 'allowed');
    const reason = dig(body, 'status', 'reason');
    if (dig(body, 'apiVersion') !== 'imagepolicy.k8s.io/v1alpha1' || dig(body, 'kind') !== 'ImageReview')
      problems.push(`not an ImageReview: ${text.slice(0, 200)}`);
    if (allowed === false && (typeof reason !== 'string' || reason === ''))
      problems.push('a denial without a reason');
    // A denial is the safe answer to an internal error, but the fuzzer's input should never cause one.
    if (dig(body, 'status', 'auditAnnotations', 'error') === 'internal')
      problems.push(`an internal error, answered with a denial: ${String(reason)}`);
  } else {
    allowed = dig(body, 'response', 'allowed');
    const sentVersion = dig(sent, 'apiVersion');
    const expectedVersion = ADMISSION_API_VERSIONS.find((v) => v === sentVersion) ?? 'admission.k8s.io/v1';
    const message = dig(body, 'response', 'status', 'message');
    if (dig(body, 'apiVersion') !== expectedVersion || dig(body, 'kind') !== 'AdmissionReview')
      problems.push(`not an AdmissionReview ${expectedVersion}: ${text.slice(0, 200)}`);
    if (dig(body, 'response', 'uid') !== readableUid(sent)) problems.push('response.uid is not request.uid');
    if (allowed === false && (dig(body, 'response', 'status', 'code') !== 403 || typeof message !== 'string'))
      problems.push(`a denial without a 403 status and message: ${text.slice(0, 200)}`);
    if (typeof message === 'string' && message.includes('could not evaluate'))
      problems.push(`an internal error, answered with a denial: ${message}`);
  }
  if (typeof allowed !== 'boolean') problems.push(`allowed is ${String(allowed)}`);
  const expectation = imagePath ? expectImageReview(sent, catalog) : expectAdmissionReview(sent, catalog);
  if (allowed === true && expectation.mustDeny.length > 0)
    problems.push(`allowed ${JSON.stringify(expectation.mustDeny.slice(0, 3))}, which must be denied`);
  return problems;
}

const catalogOf = (review: GeneratedReview): ImageCatalog =>
  new Map(review.images.map(({ image, verdict }) => [image, verdict]));

/** A JSON body with the right envelope words in places, and anything anywhere else. */
const plausibleBody = fc.record(
  {
    apiVersion: fc.oneof(
      fc.constantFrom('imagepolicy.k8s.io/v1alpha1', ...ADMISSION_API_VERSIONS, 'v1'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    kind: fc.oneof(fc.constantFrom('ImageReview', 'AdmissionReview'), fc.jsonValue({ maxDepth: 1 })),
    spec: fc.jsonValue({ maxDepth: 4 }),
    request: fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({
        uid: fc.oneof(fc.uuid(), fc.jsonValue({ maxDepth: 1 })),
        kind: fc.jsonValue({ maxDepth: 2 }),
      }),
    ),
  },
  { requiredKeys: [] },
);

interface ReviewTarget {
  readonly port: number;
  /** Whether it still answers probes (and, for a process, is still running). */
  readonly healthy: () => Promise<boolean>;
}

function reviewProperties(
  target: () => ReviewTarget,
  pki: () => TestPki,
  runs: { short: number; long: number },
) {
  let agent: ReturnType<typeof keepAliveAgent>;
  /** How the server answered; how many mutated reviews it answered still named an image that must be denied. */
  const counts = {
    requests: 0,
    byStatus: {} as Record<string, number>,
    mutatedAnsweredWithDemandedDenial: 0,
  };
  beforeAll(() => {
    agent = keepAliveAgent(pki(), 4);
  });
  afterAll(() => agent.destroy());
  afterEach(async () => expect(await target().healthy()).toBe(true));

  /** Sends `body`; returns the answer and what the server parsed, which the oracle must judge. */
  const post = async (path: string, body: unknown): Promise<{ exchange: Exchange; sent: unknown }> => {
    const wire = toWireJson(body);
    const exchange = await postReview({ agent, port: target().port, path, body: wire });
    counts.requests++;
    const key = exchange.kind === 'response' ? String(exchange.status) : exchange.kind;
    counts.byStatus[key] = (counts.byStatus[key] ?? 0) + 1;
    return { exchange, sent: JSON.parse(wire) };
  };
  const review = fc.oneof(imageReview, admissionReview);

  it('answers a generated review with exactly the decision its images call for', async () => {
    await fc.assert(
      fc.asyncProperty(review, async (generated) => {
        const { exchange, sent } = await post(generated.path, generated.body);
        expect(problemsWith(generated.path, sent, exchange, catalogOf(generated))).toEqual([]);
        const body: unknown = JSON.parse((exchange as { text: string }).text);
        expect(dig(body, 'status', 'allowed') ?? dig(body, 'response', 'allowed')).toBe(
          generated.expectAllowed,
        );
      }),
      propertyRuns(runs.short, runs.long),
    );
  });

  it('never answers a mutated review with a 5xx or a reset, nor allows an image that must be denied', async () => {
    await fc.assert(
      fc.asyncProperty(
        review,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (generated, edits) => {
          const { exchange, sent } = await post(generated.path, mutate(generated.body, edits));
          expect(problemsWith(generated.path, sent, exchange, catalogOf(generated))).toEqual([]);
          const expectation = IMAGE_REVIEW_PATHS.includes(generated.path)
            ? expectImageReview
            : expectAdmissionReview;
          if (
            exchange.kind === 'response' &&
            exchange.status === 200 &&
            expectation(sent, catalogOf(generated)).mustDeny.length > 0
          )
            counts.mutatedAnsweredWithDemandedDenial++;
        },
      ),
      propertyRuns(runs.short, runs.long),
    );
  });

  it('answers any JSON body on any review path with a decision or a JSON 400, never a 5xx', async () => {
    const path = fc.constantFrom(...IMAGE_REVIEW_PATHS, '/validate', '/');
    await fc.assert(
      fc.asyncProperty(path, fc.oneof(fc.jsonValue(), plausibleBody), async (p, body) => {
        const { exchange, sent } = await post(p, body);
        expect(problemsWith(p, sent, exchange, new Map())).toEqual([]);
      }),
      propertyRuns(runs.short, runs.long),
    );
  });

  return counts;
}

describe('review handlers under generated input', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  describe('the Nest app in this process, over HTTPS with mutual TLS', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await startTestServer(pki, { mutualTls: true });
    });
    afterAll(() => server.close());

    const counts = reviewProperties(
      () => ({
        port: server.address.port,
        healthy: () =>
          new Promise((resolve) => {
            const request = httpsRequest(
              {
                ...apiserverTls(pki),
                host: '127.0.0.1',
                port: server.address.port,
                path: '/readyz',
                agent: false,
              },
              (response) => resolve(response.statusCode === 200),
            );
            request.on('error', () => resolve(false));
            request.end();
          }),
      }),
      () => pki,
      { short: 2_000, long: 10_000 },
    );
    afterAll(() => recordResults('reviewPropertiesInProcess', counts));
  });

  describe('the built CLI as a process', () => {
    let bouncer: BouncerUnderTest;
    beforeAll(async () => {
      bouncer = await startBouncer({ pki });
    });
    afterAll(() => bouncer.stop());

    const counts = reviewProperties(
      () => ({
        port: bouncer.port,
        healthy: async () => bouncer.running() && (await bouncer.readyz()).status === 200,
      }),
      () => pki,
      { short: 500, long: 10_000 },
    );
    afterAll(() => recordResults('reviewPropertiesProcess', counts));
  });
});

import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { eventually } from './support/eventually';
import { DIGEST, POD_KIND, WORKLOAD_KINDS, admissionReview, imageReview, web } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const EXAMPLE_POLICY = join(__dirname, '..', 'examples', 'image-policy.yaml');
const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;
const inAnHour = (): string => new Date(Date.now() + 3_600_000).toISOString();
const anHourAgo = (): string => new Date(Date.now() - 3_600_000).toISOString();

/** Polls until `condition` holds, without sleeping a fixed time or asserting how long it took. */
const until = (description: string, condition: () => Promise<boolean>): Promise<void> =>
  eventually(description, async () => {
    if (!(await condition())) throw new Error('not yet');
  });

describe('declarative image policy, over both review types', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;
  let policyPath: string;

  beforeAll(async () => {
    pki = await createTestPki();
    policyPath = join(mkdtempSync(join(tmpdir(), 'policy-e2e-')), 'policy.yaml');
    copyFileSync(EXAMPLE_POLICY, policyPath);
    server = await startTestServer(pki, { policyPath, healthPort: true });
  });
  afterAll(() => server.close());

  const imageReviewOf = async (
    images: string[],
    namespace = 'default',
    annotations?: Record<string, string>,
  ) => {
    const reply = await request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview(images, { namespace, annotations }))
      .expect(200);
    return reply.body.status as {
      allowed: boolean;
      reason?: string;
      auditAnnotations: Record<string, string>;
    };
  };
  const admissionOf = async (image: string, namespace = 'default', annotations?: Record<string, string>) => {
    const object = deployment.wrap({ ...web(image) }, annotations ? { annotations } : {});
    const reply = await request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ kind: deployment, namespace, object }))
      .expect(200);
    return reply.body.response as {
      allowed: boolean;
      status?: { message: string };
      warnings?: string[];
      auditAnnotations: Record<string, string>;
    };
  };

  describe('enforce', () => {
    it('denies on both review types, naming the rule', async () => {
      expect(await imageReviewOf(['randomuser/miner:1'])).toMatchObject({
        allowed: false,
        reason: 'Images from denied repositories are not allowed: randomuser/miner:1 (rule no-unknown-hub)',
      });
      expect(await admissionOf('randomuser/miner:1')).toMatchObject({
        allowed: false,
        status: {
          message:
            'container "web" (containers): image randomuser/miner:1 is from a denied repository (docker.io/randomuser/**) (rule no-unknown-hub)',
        },
      });
    });
  });

  describe('warn', () => {
    const warning = 'image ghcr.io/acme/tool:1 is not from an allowed repository (rule trusted-sources)';

    it('allows an AdmissionReview with a warning kubectl shows', async () => {
      expect(await admissionOf('ghcr.io/acme/tool:1')).toMatchObject({
        allowed: true,
        warnings: [`container "web" (containers): ${warning}`],
        auditAnnotations: {
          decision: 'allow',
          images: JSON.stringify({ 'ghcr.io/acme/tool:1': 'warn:trusted-sources' }),
        },
      });
    });

    it('allows an ImageReview and records the warning as an audit annotation', async () => {
      const status = await imageReviewOf(['ghcr.io/acme/tool:1']);
      expect(status).toEqual({
        allowed: true,
        auditAnnotations: expect.objectContaining({ decision: 'allow', warnings: warning }),
      });
    });
  });

  describe('audit', () => {
    it('allows on both review types with no warning', async () => {
      const auditPolicy = join(mkdtempSync(join(tmpdir(), 'policy-audit-')), 'policy.yaml');
      writeFileSync(
        auditPolicy,
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  allowPermissive: true\n  rules:\n    - {name: digests, requireDigest: true, enforcement: audit}\n',
      );
      const auditing = await startTestServer(pki, { policyPath: auditPolicy });
      try {
        const viaImageReview = await request(auditing.tlsServer)
          .post('/policy')
          .ca(pki.ca.certificatePem)
          .send(imageReview(['nginx']))
          .expect(200);
        expect(viaImageReview.body.status).toEqual({
          allowed: true,
          auditAnnotations: expect.not.objectContaining({ warnings: expect.anything() }),
        });
        const viaAdmission = await request(auditing.tlsServer)
          .post('/validate')
          .ca(pki.ca.certificatePem)
          .send(admissionReview({ object: POD_KIND.wrap({ ...web('nginx') }) }))
          .expect(200);
        expect(viaAdmission.body.response).toEqual({
          uid: expect.any(String),
          allowed: true,
          auditAnnotations: expect.objectContaining({ decision: 'allow' }),
        });
      } finally {
        await auditing.close();
      }
    });
  });

  describe('exemptions and scopes', () => {
    it('allows anything in an exempt namespace, on both review types', async () => {
      expect(await imageReviewOf(['randomuser/miner'], 'kube-system')).toMatchObject({
        allowed: true,
        auditAnnotations: { 'exempt-namespace': 'kube-system' },
      });
      expect(await admissionOf('randomuser/miner', 'kube-system')).toMatchObject({
        allowed: true,
        auditAnnotations: { 'exempt-namespace': 'kube-system' },
      });
    });

    it('requires digests only in prod-* namespaces', async () => {
      expect((await imageReviewOf(['nginx:1.25'], 'dev')).allowed).toBe(true);
      expect(await imageReviewOf(['nginx:1.25'], 'prod-eu')).toMatchObject({
        allowed: false,
        reason: 'Images not pinned by a digest are not allowed: nginx:1.25 (rule pinned-in-prod)',
      });
      expect((await admissionOf(`nginx@${DIGEST}`, 'prod-eu')).allowed).toBe(true);
    });
  });

  describe('break-glass', () => {
    const ticket = 'break-glass.image-policy.k8s.io/INC-4711';

    it('allows a denied review until its expiry, recording the ticket, on both review types', async () => {
      const expiry = inAnHour();
      expect(await imageReviewOf(['nginx'], 'default', { [ticket]: expiry })).toMatchObject({
        allowed: true,
        auditAnnotations: { 'break-glass': `INC-4711 until ${new Date(expiry).toISOString()}` },
      });
      const admitted = await admissionOf('nginx', 'default', { [ticket]: expiry });
      expect(admitted).toMatchObject({
        allowed: true,
        auditAnnotations: { 'break-glass': `INC-4711 until ${new Date(expiry).toISOString()}` },
      });
      expect(admitted.warnings?.[0]).toMatch(
        /^allowed by break-glass ticket INC-4711 until .*, despite: container "web" \(containers\): image nginx uses the latest tag \(rule no-latest\)$/,
      );
    });

    it('refuses an expired ticket, and says so in the denial', async () => {
      const expired = anHourAgo();
      const status = await imageReviewOf(['nginx'], 'default', { [ticket]: expired });
      expect(status.allowed).toBe(false);
      expect(status.reason).toContain(
        `break-glass ticket INC-4711 expired at ${new Date(expired).toISOString()}`,
      );
      expect((await admissionOf('nginx', 'default', { [ticket]: expired })).status?.message).toContain(
        'break-glass ticket INC-4711 expired at',
      );
    });

    it('refuses a ticket expiring further ahead than the policy allows (the example allows 8 hours)', async () => {
      const inNineHours = new Date(Date.now() + 9 * 3_600_000).toISOString();
      const refusal = `break-glass ticket INC-4711 expires at ${inNineHours}, more than the 8 hours ahead that spec.breakGlassMaxHours allows`;
      const status = await imageReviewOf(['nginx'], 'default', { [ticket]: inNineHours });
      expect(status.allowed).toBe(false);
      expect(status.reason).toContain(refusal);
      const admission = await admissionOf('nginx', 'default', { [ticket]: inNineHours });
      expect(admission.allowed).toBe(false);
      expect(admission.status?.message).toContain(refusal);
    });
  });

  describe('hot reload', () => {
    const ready = async () =>
      (await request(server.healthServer!).get('/readyz').expect(200)).body.info.policy as Record<
        string,
        unknown
      >;

    it('applies an edit to the reviews after it, and refuses a broken edit without changing anything', async () => {
      expect((await admissionOf('randomuser/miner:1')).allowed).toBe(false);

      // Allow randomuser's images by dropping the deny rule.
      writeFileSync(
        policyPath,
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: edited}\nspec:\n  rules:\n    - {name: no-latest, disallowedTags: [latest]}\n',
      );
      await until('the edit to apply', async () => (await admissionOf('randomuser/miner:1')).allowed);
      expect((await imageReviewOf(['randomuser/miner:1'])).allowed).toBe(true);
      expect(await ready()).toMatchObject({ status: 'up', name: 'edited' });

      writeFileSync(
        policyPath,
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - {name: no-latest, disallowedTags: latest}\n',
      );
      await until(
        'the broken edit to be refused',
        async () => (await ready()).lastReloadRefused !== undefined,
      );
      expect(await ready()).toMatchObject({
        status: 'up',
        name: 'edited',
        lastReloadRefused: {
          message: expect.stringContaining(`${policyPath}:5: spec.rules[0].disallowedTags must be array`),
        },
      });
      expect((await admissionOf('randomuser/miner:1')).allowed).toBe(true);
      expect((await admissionOf('nginx')).allowed).toBe(false);
    });
  });
});

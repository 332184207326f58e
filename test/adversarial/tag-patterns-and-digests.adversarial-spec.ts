import { CosignWriter, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

// Class 7: a runtime pulls `repo:tag@sha256:…` by its digest and ignores the tag. A pattern that names
// a tag (`repo:debug`) must therefore not let through any digest written after that tag: only the
// digest the tag resolves to now. Patterns that deny may still match the tag as written.
describe('a tag in a pattern does not grant what a digest decides (class 7)', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();
  const bouncer = new BouncerUnderAttack();
  let app: string;
  let debug: string;
  let other: string;

  beforeAll(async () => {
    await registry.start();
    app = `${registry.access.registry}/team/app`;
    debug = cosign.image('team/app', 'debug');
    other = cosign.image('team/app', 'miner');
  });
  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  const policy = (spec: string): string => `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: tag-patterns}
spec:
  registries: [{host: "${registry.access.registry}", insecure: true}]
${spec}`;
  const signedOnly = `    - name: signed
      verifySignatures: {keys: [cosign.pub]}
`;
  const validate = (image: string) =>
    bouncer.admission('/validate', podRequest({ spec: { containers: [{ name: 'app', image }] } }));

  describe.each([
    [
      'spec.exemptImages',
      () => policy(`  exemptImages: ["${app}:debug"]\n  rules:\n${signedOnly}`),
      'has no verified signature',
    ],
    [
      "a rule's exemptImages",
      () =>
        policy(
          `  rules:\n    - name: signed\n      verifySignatures: {keys: [cosign.pub]}\n      exemptImages: ["${app}:debug"]\n`,
        ),
      'has no verified signature',
    ],
    [
      'spec.exceptions',
      () =>
        policy(
          `  exceptions:\n    - {images: ["${app}:debug"], expires: "2099-01-01T00:00:00Z", ticket: SEC-1}\n  rules:\n${signedOnly}`,
        ),
      'has no verified signature',
    ],
    [
      'allowedRepositories',
      () => policy(`  rules:\n    - name: only-debug\n      allowedRepositories: ["${app}:debug"]\n`),
      'is not from an allowed repository',
    ],
  ])('%s', (_where, policyText, denial) => {
    beforeAll(async () => {
      await bouncer.stop();
      await bouncer.start(policyText(), { 'cosign.pub': ci.publicPem });
    });

    it('does not let another digest through behind the tag it names', async () => {
      const reply = await validate(`${app}:debug@${other}`);

      expect(reply.allowed).toBe(false);
      expect(reply.status?.message).toContain(`image ${app}:debug@${other} ${denial}`);
    });

    it('lets through the digest the tag resolves to now', async () => {
      expect((await validate(`${app}:debug@${debug}`)).allowed).toBe(true);
    });

    it('still applies to the tag alone', async () => {
      expect((await validate(`${app}:debug`)).allowed).toBe(true);
    });

    it('grants nothing through ImagePolicyWebhook either', async () => {
      expect((await bouncer.imageReview([`${app}:debug@${other}`])).allowed).toBe(false);
    });
  });

  describe('deniedRepositories', () => {
    beforeAll(async () => {
      await bouncer.stop();
      await bouncer.start(
        policy(`  rules:\n    - name: no-debug\n      deniedRepositories: ["${app}:debug"]\n`),
      );
    });

    it('still denies by the tag as written, whatever digest follows it', async () => {
      const reply = await validate(`${app}:debug@${other}`);

      expect(reply.allowed).toBe(false);
      expect(reply.status?.message).toContain(`is from a denied repository (${app}:debug) (rule no-debug)`);
    });
  });
});

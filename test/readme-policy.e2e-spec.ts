import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parseNormalizedReference } from '../src/image-reference';
import { readBreakGlass } from '../src/policy/break-glass';
import { ImagePattern } from '../src/policy/patterns/image-pattern';
import { ImagePolicyCompiler } from '../src/policy/policy-file/image-policy.compiler';
import { InvalidPolicyError } from '../src/policy/policy-file/invalid-policy.error';
import { IMAGE_RULE_TYPES } from '../src/policy/rules';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { codeBlocks, codeSpans, readmeSection, tableAfter } from './support/readme';
import { WORKLOAD_KINDS, admissionReview, imageReview, web } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const EXAMPLE_POLICY = join(__dirname, '..', 'examples', 'image-policy.yaml');
const section = readmeSection('Image policy', 'docs/policy.md');
const compiler = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule()));

describe('the policy reference (docs/policy.md)', () => {
  const yamlBlocks = codeBlocks(section, 'yaml');

  it('shows examples/image-policy.yaml verbatim', () => {
    expect(yamlBlocks[0]).toBe(readFileSync(EXAMPLE_POLICY, 'utf8'));
  });

  it('shows only policies that compile', () => {
    const policies = yamlBlocks.filter((block) => block.includes('kind: ImagePolicy'));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const policy of policies) expect(() => compiler.compile(policy, 'README.md')).not.toThrow();
  });

  it('shows a break-glass annotation the bouncer reads as a valid ticket', () => {
    const block = yamlBlocks.find((b) => b.includes('break-glass.image-policy.k8s.io/'))!;
    const [, key, value] = /(break-glass\.image-policy\.k8s\.io\/[^:]+): "([^"]+)"/.exec(block)!;
    const reading = readBreakGlass({ [key]: value }, new Date('2026-11-27T12:00:00Z'));
    expect(reading.active).toEqual({ ticket: 'INC-4711', expires: new Date(value) });
  });

  it('shows the errors two typos in the example actually produce, one with a did-you-mean', () => {
    const shown = codeBlocks(section, '').find((b) => b.includes('invalid image policy'))!;
    const path = '/etc/kube-image-bouncer/policy.yaml';
    const typo = readFileSync(EXAMPLE_POLICY, 'utf8')
      .replace('enforcement: warn ', 'enforcement: wran ')
      .replace('      namespaces: ["prod-*"]', '      namespace: ["prod-*"]');
    try {
      compiler.compile(typo, path);
      throw new Error('the typo compiled');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidPolicyError);
      expect(`${(error as Error).message}\n`).toBe(shown);
    }
  });

  describe('image pattern table', () => {
    const rows = tableAfter(section, '| pattern | matches | does not match |');

    it('has rows', () => expect(rows.length).toBeGreaterThan(5));

    it.each(rows)('%s', (patternCell, matchesCell, missesCell) => {
      const pattern = new ImagePattern(codeSpans(patternCell)[0]);
      for (const image of codeSpans(matchesCell))
        expect({ image, matches: pattern.matches(parseNormalizedReference(image)) }).toEqual({
          image,
          matches: true,
        });
      for (const image of codeSpans(missesCell))
        expect({ image, matches: pattern.matches(parseNormalizedReference(image)) }).toEqual({
          image,
          matches: false,
        });
    });
  });

  describe('what the example policy decides, over both review types', () => {
    const rows = tableAfter(section, 'What the example policy decides');
    const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;
    let pki: TestPki;
    let server: RunningWebhookServer;

    beforeAll(async () => {
      pki = await createTestPki();
      server = await startTestServer(pki, { policyPath: EXAMPLE_POLICY });
    });
    afterAll(() => server.close());

    it('has rows', () => expect(rows.length).toBeGreaterThan(10));

    it.each(rows)('%s %s: %s (%s)', async (namespace, imageCell, decision, rulesCell) => {
      const image = codeSpans(imageCell)[0].replace('<64 hex>', '0'.repeat(64));
      const rules = rulesCell === '' ? [] : rulesCell.split(',').map((r) => r.trim());

      type Status = { allowed: boolean; reason?: string; auditAnnotations: Record<string, string> };
      type Response = { allowed: boolean; status?: { message: string }; warnings?: string[] };
      const viaImageReview: Status = (
        await request(server.tlsServer)
          .post('/image_policy')
          .ca(pki.ca.certificatePem)
          .send(imageReview([image], { namespace }))
          .expect(200)
      ).body.status;
      const viaAdmission: Response = (
        await request(server.tlsServer)
          .post('/validate')
          .ca(pki.ca.certificatePem)
          .send(admissionReview({ kind: deployment, namespace, object: deployment.wrap({ ...web(image) }) }))
          .expect(200)
      ).body.response;

      expect(viaImageReview.allowed).toBe(decision !== 'deny');
      expect(viaAdmission.allowed).toBe(decision !== 'deny');
      const imageReviewText = `${viaImageReview.reason ?? ''} ${viaImageReview.auditAnnotations.warnings ?? ''}`;
      const admissionText = `${viaAdmission.status?.message ?? ''} ${(viaAdmission.warnings ?? []).join(' ')}`;
      expect(viaAdmission.warnings !== undefined).toBe(
        decision === 'warn' || (decision === 'deny' && rules.length > 1),
      );
      for (const rule of rules) {
        expect(imageReviewText).toContain(`(rule ${rule})`);
        expect(admissionText).toContain(`(rule ${rule})`);
      }
      if (rules.length === 0) expect(`${imageReviewText}${admissionText}`.trim()).toBe('');
    });
  });
});

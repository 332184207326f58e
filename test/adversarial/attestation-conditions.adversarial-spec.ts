import { Logger } from '@nestjs/common';
import { CostMeter } from '../../src/attestation-conditions/cel-environment';
import {
  MAX_COST_PER_CONDITION,
  MAX_COST_PER_REVIEW,
  MAX_PREDICATE_DEPTH,
} from '../../src/attestation-conditions/condition-budgets';
import { sign } from 'node:crypto';
import { CosignWriter, IN_TOTO, SLSA, b64, keyPair, pae } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { BouncerUnderAttack } from './support/bouncer-under-attack';
import { policyOverRegistry } from './support/under-policy';

/** The largest single charge a condition below can make: one range of a list of this many. */
const LIST = 100_000;
const LARGEST_CHARGE = 1 + LIST / 10;

/**
 * A hostile signer: one whose key the policy trusts (a compromised CI, a careless vendor), so its
 * attestations verify and their predicates reach CEL, built to make conditions expensive: a list
 * that a nested comprehension walks quadratically, a string of megabytes read in a loop, nesting
 * thousands deep, and a hundred such attestations on one image. Each review is bounded by the cost
 * budgets (condition-budgets.ts), pinned by the units charged, never by a time; each ends denied.
 */
describe('a hostile signer whose predicates are built to make conditions expensive', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const signer = keyPair();
  const bouncer = new BouncerUnderAttack();
  let repositories = 0;
  let charged: number[];

  /**
   * An image whose attestations (each of them verified) carry these predicates, given as JSON text
   * so that nesting can go deeper than JSON.stringify recurses.
   */
  function attested(predicates: readonly string[]): string {
    const repository = `hostile/app-${++repositories}`;
    const digest = cosign.image(repository);
    const header = JSON.stringify(cosign.statement(repository, digest, SLSA)).replace(
      /,"predicate":.*\}$/,
      '',
    );
    cosign.pushAttestations(
      repository,
      digest,
      predicates.map((predicate) => {
        const payload = Buffer.from(`${header},"predicate":${predicate}}`);
        const sig = b64(sign('sha256', pae(IN_TOTO, payload), signer.privateKey));
        return {
          envelope: { payloadType: IN_TOTO, payload: b64(payload), signatures: [{ sig }] },
          predicateType: SLSA,
        };
      }),
    );
    return `${registry.access.registry}/${repository}@${digest}`;
  }

  beforeAll(async () => {
    Logger.overrideLogger(false);
    await registry.start();
    await bouncer.start(
      policyOverRegistry(
        registry,
        [
          '- name: honest-builder',
          '  verifyAttestations:',
          `    keys: [${JSON.stringify(signer.publicPem)}]`,
          `    predicateType: ${SLSA}`,
          '    conditions:',
          "      - expression: 'has(predicate.l) && predicate.l.exists(x, predicate.l.exists(y, x == y + 1000000))'",
          '      - expression: \'!has(predicate.s) || predicate.l.exists(x, predicate.s.contains("needle"))\'',
          "      - expression: '!has(predicate.d) || has(predicate.d.d)'",
        ],
        ['registryTimeoutSeconds: 30'],
      ),
    );
  });

  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  beforeEach(() => {
    charged = [];
    const charge = CostMeter.prototype.charge;
    jest.spyOn(CostMeter.prototype, 'charge').mockImplementation(function (this: CostMeter, units: number) {
      charged.push(units);
      return charge.call(this, units);
    });
  });

  afterEach(() => jest.restoreAllMocks());

  const list = Array.from({ length: LIST }, (_, i) => i);
  const units = (): number => charged.reduce((sum, n) => sum + n, 0);

  it('stops a nested comprehension over a list of 100,000 at the condition budget, and denies', async () => {
    const image = attested([JSON.stringify({ l: list })]);

    const reply = await bouncer.imageReview([image]);

    expect(reply).toMatchObject({ allowed: false });
    expect(reply.reason).toContain(
      `attestation ${SLSA} does not satisfy: has(predicate.l) && predicate.l.exists(x, predicate.l.exists(y, x == y + 1000000)) (error: the condition exceeded its cost budget)`,
    );
    // All three conditions run; the first stops at its budget, the others cost what they read.
    expect(units()).toBeGreaterThan(MAX_COST_PER_CONDITION);
    expect(units()).toBeLessThanOrEqual(3 * (MAX_COST_PER_CONDITION + LARGEST_CHARGE));
  });

  it('charges a string of megabytes by its length each time a condition reads it', async () => {
    const image = attested([JSON.stringify({ l: list.slice(0, 1_000), s: 'x'.repeat(4 * 1024 * 1024) })]);

    const reply = await bouncer.imageReview([image]);

    expect(reply.allowed).toBe(false);
    expect(reply.reason).toContain('(error: the condition exceeded its cost budget)');
    // contains() over 4 MiB is charged 419,431 units: the first call is already past the budget.
    expect(charged.filter((n) => n > 400_000)).toHaveLength(1);
  });

  it('refuses to give CEL a predicate nested thousands deep, and runs no condition on it', async () => {
    const depth = 5_000;
    const image = attested([`${'{"d":'.repeat(depth)}0${'}'.repeat(depth)}`]);

    const reply = await bouncer.imageReview([image]);

    expect(reply.allowed).toBe(false);
    expect(reply.reason).toContain(
      `attestation ${SLSA} does not satisfy: the statement nests deeper than ${MAX_PREDICATE_DEPTH} levels`,
    );
    expect(charged).toEqual([]);
  });

  it('bounds a hundred hostile attestations on one image by the review budget', async () => {
    const image = attested(Array.from({ length: 100 }, () => JSON.stringify({ l: list.slice(0, 20_000) })));

    const reply = await bouncer.imageReview([image]);

    expect(reply.allowed).toBe(false);
    // Past the review budget each charge fails at once: at most one more charge per condition left.
    const conditionsRun = 3 * 100;
    expect(units()).toBeGreaterThan(MAX_COST_PER_REVIEW);
    expect(units()).toBeLessThanOrEqual(MAX_COST_PER_REVIEW + MAX_COST_PER_CONDITION + conditionsRun * 2_001);
  });
});

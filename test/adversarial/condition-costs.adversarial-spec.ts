import { ConditionBudget } from '../../src/attestation-conditions';
import {
  MAX_COST_PER_CONDITION,
  MAX_COST_PER_REVIEW,
  MAX_PREDICATE_VALUES,
} from '../../src/attestation-conditions/condition-budgets';
import { conditionResults as results, judgeExample as judge } from '../../src/testing/condition-judging';

/**
 * What a hostile predicate costs the conditions that read it, judged directly: every comprehension,
 * function and statement is charged, a budget that runs out is an error and never a value, and one
 * review shares one budget. Pinned by the units charged, never by a time. (They spend real CPU to
 * reach the budgets, so they run here rather than in the unit tier; attestation-conditions.adversarial-spec
 * drives the same budgets through a bouncer.)
 */
describe('condition costs over hostile predicates', () => {
  it('builds map() and filter() results in place, linearly, even for tens of thousands of elements', () => {
    const n = 30_000;
    const outcome = judge(
      [
        { expression: 'predicate.l.map(x, x * 2).filter(y, y % 4 == 0).size() == 15000' },
        { expression: 'predicate.l.map(x, x).exists(y, y == 29999)' },
        { expression: 'predicate.l.map(x, [x]).map(y, y[0]) == predicate.l' },
      ],
      { predicate: { l: Array.from({ length: n }, (_, i) => i) } },
    );

    expect(results(outcome)).toEqual([true, true, true]);
    for (const { cost } of outcome.outcomes) expect(cost).toBeLessThan(12 * n);
  });

  describe('cost', () => {
    const hostile = (n: number) => ({
      predicate: { l: Array.from({ length: n }, (_, i) => i), s: 'x'.repeat(1_000_000) },
    });

    it('stops a nested comprehension over a hostile list at the budget, as an error', () => {
      const outcome = judge(
        [{ expression: 'predicate.l.exists(x, predicate.l.exists(y, x == y + 1000000))' }],
        hostile(100_000),
      );
      const [only] = outcome.outcomes;

      expect(outcome.satisfied).toBe(false);
      expect(results(outcome)).toEqual(['error: the condition exceeded its cost budget']);
      // It stops at the first charge past the budget; the largest single charge is a range's, n / 10.
      expect(only.cost).toBeGreaterThan(MAX_COST_PER_CONDITION);
      expect(only.cost).toBeLessThanOrEqual(MAX_COST_PER_CONDITION + 1 + 10_000);
    });

    it('pays for what a function walks: a long string read in a loop runs out long before the list does', () => {
      const outcome = judge(
        [{ expression: 'predicate.l.exists(x, predicate.s.contains("y"))' }],
        hostile(100_000),
      );

      expect(results(outcome)).toEqual(['error: the condition exceeded its cost budget']);
      // Each contains() on a million characters costs 100,001 units: the third is past 250,000.
      expect(outcome.outcomes[0].cost).toBeLessThan(4 * 100_002 + 10_001);
    });

    it('pays for a comprehension’s whole range up front, however early it stops', () => {
      const outcome = judge(
        [{ expression: 'predicate.l.all(x, predicate.l.exists(y, true))' }],
        hostile(100_000),
      );

      expect(results(outcome)).toEqual(['error: the condition exceeded its cost budget']);
    });

    it('never turns a budget that ran out into a value: `|| true` after it is still an error', () => {
      const outcome = judge(
        [{ expression: 'predicate.l.exists(x, predicate.l.exists(y, x == y + 1000000)) || true' }],
        hostile(100_000),
      );

      expect(results(outcome)).toEqual(['error: the condition exceeded its cost budget']);
    });

    it('shares one budget among every condition of a review: past it, each is an error', () => {
      const budget = new ConditionBudget();
      const expensive = { expression: 'predicate.l.map(x, x).size() > 0' };
      const outcomes = Array.from({ length: 12 }, () => judge([expensive], hostile(50_000), budget));

      expect(outcomes.filter((o) => o.satisfied).length).toBeGreaterThan(0);
      expect(outcomes.at(-1)!.outcomes[0]).toMatchObject({
        error: "the review's budget for conditions ran out",
      });
      expect(budget.remaining).toBeGreaterThan(-MAX_COST_PER_REVIEW / 10);
    });
  });

  describe('statements too large for CEL', () => {
    it('refuses a statement of more values than the limit', () => {
      const outcome = judge([{ expression: 'true' }], { predicate: new Array(MAX_PREDICATE_VALUES).fill(0) });

      expect(outcome.refused).toBe(`the statement holds more than ${MAX_PREDICATE_VALUES} values`);
    });
  });
});

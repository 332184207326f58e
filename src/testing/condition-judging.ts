import {
  AttestationOutcome,
  ConditionBudget,
  ConditionSource,
  compileConditions,
  judgeStatement,
} from '../attestation-conditions';

/** The image of the interface's example, as a condition's `image` variable reads it. */
export const EXAMPLE_IMAGE = {
  reference: '127.0.0.1:5000/demo/app:v1',
  digest: `sha256:${'a'.repeat(64)}`,
  repository: 'demo/app',
  registry: '127.0.0.1:5000',
};
/** The review's `now` in these specs. */
export const EXAMPLE_NOW = new Date('2026-12-06T12:00:00Z');

/** `sources` compiled as a policy load compiles them, and judged on `statement` for the example image. */
export const judgeExample = (
  sources: ConditionSource[],
  statement: object,
  budget = new ConditionBudget(),
): AttestationOutcome =>
  judgeStatement(compileConditions(sources), statement, EXAMPLE_IMAGE, EXAMPLE_NOW, budget);

/** Each condition's result, or its error as `error: <why>`. */
export const conditionResults = (outcome: AttestationOutcome): (boolean | string)[] =>
  outcome.outcomes.map((o) => ('error' in o ? `error: ${o.error}` : o.result));

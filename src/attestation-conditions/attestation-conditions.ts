import type { CelInput } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { CostMeter } from './cel-environment';
import { MAX_COST_PER_CONDITION, MAX_COST_PER_REVIEW } from './condition-budgets';
import { ConditionCompileError, ConditionProgram, compileCondition } from './condition-program';
import { StatementTooLarge, statementValue } from './statement-values';

// `verifyAttestations.conditions`: CEL over what a verified attestation says. The rule admits an
// image when one verified attestation of its type satisfies every condition; a condition that is
// false or fails is that attestation's reason, and nothing here ever turns an error into a pass.

/** A condition as the policy writes it. */
export interface ConditionSource {
  readonly expression: string;
  readonly message?: string;
}

export interface CompiledCondition extends ConditionSource {
  readonly program: ConditionProgram;
  /**
   * Whether the expression may read what differs between reviews (`now`, `image`). Told from its
   * text, so a word `now` or `image` anywhere in it, even inside a string, counts: a condition is
   * only ever taken as reading the statement alone when it cannot read anything else.
   */
  readonly readsReview: boolean;
}

const REVIEW_VARIABLES = /\b(?:now|image)\b/;

/** A condition that cannot be compiled, with its index in the list and where in the expression. */
export class InvalidCondition extends Error {
  constructor(
    readonly index: number,
    readonly problem: ConditionCompileError,
  ) {
    super(problem.message);
    this.name = 'InvalidCondition';
  }
}

/** Compiles every condition once, when the policy loads; throws InvalidCondition for the first that cannot be. */
export function compileConditions(sources: readonly ConditionSource[]): CompiledCondition[] {
  return sources.map((source, index) => {
    try {
      return {
        ...source,
        program: compileCondition(source.expression),
        readsReview: REVIEW_VARIABLES.test(source.expression),
      };
    } catch (error) {
      if (error instanceof ConditionCompileError) throw new InvalidCondition(index, error);
      throw error;
    }
  });
}

/** The `image` variable: the reference as written, the digest that was verified, and its parts. */
export interface ConditionImage {
  readonly reference: string;
  readonly digest: string;
  readonly repository: string;
  readonly registry: string;
}

/**
 * One review's part in conditions: what it may still spend, shared by all its images and rules,
 * and what it already judged. Within a review `now` is one, so the same conditions over the same
 * verified statement for the same image come to the same outcome: a pod of three containers
 * running one image is judged once.
 */
export class ConditionBudget {
  remaining = MAX_COST_PER_REVIEW;
  readonly judged = new WeakMap<
    readonly CompiledCondition[],
    WeakMap<object, Map<string, AttestationOutcome>>
  >();
}

/** The CEL timestamp of a review's `now`, made once per review. */
const timestamps = new WeakMap<Date, ReturnType<typeof timestampFromDate>>();

/** What one condition came to on one attestation. */
export type ConditionOutcome =
  | { readonly condition: CompiledCondition; readonly result: boolean; readonly cost: number }
  | { readonly condition: CompiledCondition; readonly error: string; readonly cost: number };

/** Every condition on one attestation, and whether all of them held. */
export interface AttestationOutcome {
  readonly satisfied: boolean;
  readonly outcomes: readonly ConditionOutcome[];
  /** Why the statement could not be given to CEL at all (too large or too deep): then no condition ran. */
  readonly refused?: string;
}

/** The words a failing condition is named by: its message, or its expression when it has none. */
export const conditionName = (condition: ConditionSource): string =>
  condition.message ?? condition.expression;

/**
 * What conditions that read the statement alone came to on it. CEL is pure and a verified statement
 * is never changed, so the outcome is the statement's for as long as it is kept (in the cached
 * verdict that carries it), and a policy reload brings new conditions, hence new keys.
 */
const statementOutcomes = new WeakMap<object, WeakMap<readonly CompiledCondition[], AttestationOutcome>>();

/**
 * Every condition over one verified statement. All are evaluated, so that `explain` can show each
 * one; each has its own cost budget, drawn from the review's. Judged once per review, and once per
 * statement when no condition reads `now` or `image`.
 */
export function judgeStatement(
  conditions: readonly CompiledCondition[],
  statement: object,
  image: ConditionImage,
  now: Date,
  budget: ConditionBudget,
): AttestationOutcome {
  if (!conditions.some((condition) => condition.readsReview))
    return judgedOnStatement(conditions, statement, image, now, budget);
  let byStatement = budget.judged.get(conditions);
  if (!byStatement) budget.judged.set(conditions, (byStatement = new WeakMap()));
  let byImage = byStatement.get(statement);
  if (!byImage) byStatement.set(statement, (byImage = new Map<string, AttestationOutcome>()));
  const key = `${image.reference}\n${image.digest}`;
  let outcome = byImage.get(key);
  if (!outcome) byImage.set(key, (outcome = judgeOnce(conditions, statement, image, now, budget)));
  return outcome;
}

function judgedOnStatement(
  conditions: readonly CompiledCondition[],
  statement: object,
  image: ConditionImage,
  now: Date,
  budget: ConditionBudget,
): AttestationOutcome {
  let byConditions = statementOutcomes.get(statement);
  if (!byConditions) statementOutcomes.set(statement, (byConditions = new WeakMap()));
  let outcome = byConditions.get(conditions);
  if (outcome) return outcome;
  outcome = judgeOnce(conditions, statement, image, now, budget);
  // Once the review's budget has run out, what came out is this review's, not the statement's.
  if (budget.remaining >= 0) byConditions.set(conditions, outcome);
  return outcome;
}

function judgeOnce(
  conditions: readonly CompiledCondition[],
  statement: object,
  image: ConditionImage,
  now: Date,
  budget: ConditionBudget,
): AttestationOutcome {
  const value = statementValue(statement);
  if (value instanceof StatementTooLarge) return { satisfied: false, outcomes: [], refused: value.message };
  const bindings: Record<string, CelInput> = {
    predicate: value.get('predicate') ?? null,
    statement: value,
    image: new Map(Object.entries(image)),
    now: timestamps.get(now) ?? timestamps.set(now, timestampFromDate(now)).get(now)!,
  };
  const outcomes = conditions.map((condition): ConditionOutcome => {
    const meter = new CostMeter(MAX_COST_PER_CONDITION, budget);
    const outcome = condition.program.run(bindings, meter);
    return 'error' in outcome
      ? { condition, error: outcome.error, cost: meter.spent }
      : { condition, result: outcome.value, cost: meter.spent };
  });
  return { satisfied: outcomes.every((o) => 'result' in o && o.result), outcomes };
}

/** The first condition that did not hold, in the words a denial uses, or undefined when all held. */
export function failedCondition(outcome: AttestationOutcome): string | undefined {
  if (outcome.refused) return outcome.refused;
  const failed = outcome.outcomes.find((o) => !('result' in o && o.result));
  if (!failed) return undefined;
  return 'error' in failed
    ? `${conditionName(failed.condition)} (error: ${failed.error})`
    : conditionName(failed.condition);
}

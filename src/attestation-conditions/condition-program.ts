import { CelInput, isCelError, parse, plan } from '@bufbuild/cel';
import { create } from '@bufbuild/protobuf';
import { ExprSchema, type Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import {
  APPEND_FUNCTION,
  CONDITION_ENVIRONMENT,
  CostExceeded,
  CostMeter,
  ITERATION_FUNCTION,
  LIBRARY_FUNCTIONS,
  RANGE_FUNCTION,
  metered,
} from './cel-environment';
import {
  BOOL,
  ConditionChecker,
  ConditionTypeError,
  DYN,
  JSON_OBJECT,
  STRING_MAP,
  TIMESTAMP,
  typeText,
} from './condition-checker';
import { MAX_EXPRESSION_LENGTH } from './condition-budgets';

// One condition, compiled once per policy load: parsed, type-checked against the variables the
// interface names, and woven with the cost meter, so that running it can only end in true, false
// or an error.

/** The variables every condition may read (see docs/policy.md). */
const VARIABLES = new Map([
  ['predicate', DYN],
  ['statement', JSON_OBJECT],
  ['image', STRING_MAP],
  ['now', TIMESTAMP],
]);

const checker = new ConditionChecker(LIBRARY_FUNCTIONS, VARIABLES);

/** Why an expression cannot be a condition, with where in it when known (0-based character). */
export class ConditionCompileError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'ConditionCompileError';
  }
}

/** What a condition came to on one attestation. */
export type ConditionValue = { readonly value: boolean } | { readonly error: string };

export interface ConditionProgram {
  readonly expression: string;
  run(bindings: Record<string, CelInput>, meter: CostMeter): ConditionValue;
}

/** The parser's own message, without the `<input>:1:5:` it prefixes, and its offset. */
function syntaxError(expression: string, error: unknown): ConditionCompileError {
  const message = error instanceof Error ? error.message : String(error);
  const at = /^<input>:(\d+):(\d+): ?/.exec(message);
  if (!at) return new ConditionCompileError(`syntax error: ${message}`);
  const lines = expression.split('\n');
  const offset =
    lines.slice(0, Number(at[1]) - 1).reduce((sum, line) => sum + line.length + 1, 0) + Number(at[2]) - 1;
  return new ConditionCompileError(`syntax error: ${message.slice(at[0].length)}`, offset);
}

/** Throws ConditionCompileError for an expression that cannot be a condition. */
export function compileCondition(expression: string): ConditionProgram {
  if (expression.length > MAX_EXPRESSION_LENGTH)
    throw new ConditionCompileError(`is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (error) {
    throw syntaxError(expression, error);
  }
  let type;
  try {
    type = checker.check(parsed.expr, parsed.sourceInfo);
  } catch (error) {
    if (error instanceof ConditionTypeError) throw new ConditionCompileError(error.message, error.offset);
    // The checker recursing past the stack on a pathological nesting is still a refusal.
    throw new ConditionCompileError(`cannot be checked: ${String(error)}`);
  }
  if (type.kind !== 'dyn' && typeText(type) !== typeText(BOOL))
    throw new ConditionCompileError(`must be a boolean expression, but is of type ${typeText(type)}`);
  const evaluate = plan(CONDITION_ENVIRONMENT, {
    ...parsed,
    expr: withMeter(parsed.expr, nextId(parsed.expr)),
  });
  return {
    expression,
    run(bindings, meter) {
      let result;
      try {
        result = metered(meter, () => evaluate(bindings));
      } catch (error) {
        // The library returns its errors; anything thrown past it is still only this condition's error.
        result = error;
      }
      // An evaluation that ran out of budget is an error whatever it came to: `false || true` must not
      // turn a budget that stopped a comprehension into a value.
      if (meter.exceeded) return { error: meter.exceeded.message };
      if (result instanceof CostExceeded) return { error: result.message };
      if (isCelError(result) || result instanceof Error) return { error: errorText(result) };
      if (typeof result !== 'boolean')
        return { error: `is not a boolean: it came to a value of another type` };
      return { value: result };
    },
  };
}

/** The evaluator of a parsed expression in the condition environment, every comprehension metered. */
export function meteredPlan(parsed: ReturnType<typeof parse>): ReturnType<typeof plan> {
  return plan(CONDITION_ENVIRONMENT, { ...parsed, expr: withMeter(parsed.expr, nextId(parsed.expr)) });
}

/** A CEL error's message, as explain and denials show it, without the library's stack. */
function errorText(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof CostExceeded) return cause.message;
  return error.message.split('\n')[0] || 'evaluation error';
}

/** One more than the largest expression id: new nodes must not reuse one. */
function nextId(expr: Expr): { next: bigint } {
  let max = 0n;
  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    if (e.id > max) max = e.id;
    children(e).forEach(visit);
  };
  visit(expr);
  return { next: max + 1n };
}

function children(e: Expr): (Expr | undefined)[] {
  const kind = e.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return [kind.value.operand];
    case 'callExpr':
      return [kind.value.target, ...kind.value.args];
    case 'listExpr':
      return kind.value.elements;
    case 'structExpr':
      return kind.value.entries.flatMap((entry) => [
        entry.keyKind.case === 'mapKey' ? entry.keyKind.value : undefined,
        entry.value,
      ]);
    case 'comprehensionExpr': {
      const c = kind.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result];
    }
    default:
      return [];
  }
}

const call = (ids: { next: bigint }, name: string, args: Expr[]): Expr =>
  create(ExprSchema, { id: ids.next++, exprKind: { case: 'callExpr', value: { function: name, args } } });

/**
 * The expression with every comprehension paying for its range (wrapped in RANGE_FUNCTION) and for
 * each iteration (its loop condition wrapped in ITERATION_FUNCTION), and every `@result + [x]` of a map() or filter() appending in place. Macros
 * are the only comprehensions CEL lets a person write, and `@result` their only accumulator.
 */
function withMeter(expr: Expr, ids: { next: bigint }): Expr {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'comprehensionExpr': {
      const c = kind.value;
      c.iterRange = call(ids, RANGE_FUNCTION, [withMeter(c.iterRange!, ids)]);
      c.accuInit = c.accuInit && withMeter(c.accuInit, ids);
      c.loopCondition = call(ids, ITERATION_FUNCTION, [withMeter(c.loopCondition!, ids)]);
      c.loopStep = c.loopStep && withMeter(c.loopStep, ids);
      c.result = c.result && withMeter(c.result, ids);
      return expr;
    }
    case 'callExpr': {
      const c = kind.value;
      c.target = c.target && withMeter(c.target, ids);
      c.args = c.args.map((arg) => withMeter(arg, ids));
      const [left, right] = c.args;
      // `@result + [x]`, never `@result + 1` (exists_one counts with an int accumulator).
      if (
        c.function === '_+_' &&
        c.target === undefined &&
        left?.exprKind.case === 'identExpr' &&
        left.exprKind.value.name.startsWith('@') &&
        right?.exprKind.case === 'listExpr'
      )
        c.function = APPEND_FUNCTION;
      return expr;
    }
    case 'selectExpr':
      kind.value.operand = kind.value.operand && withMeter(kind.value.operand, ids);
      return expr;
    case 'listExpr':
      kind.value.elements = kind.value.elements.map((element) => withMeter(element, ids));
      return expr;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') entry.keyKind.value = withMeter(entry.keyKind.value, ids);
        entry.value = entry.value && withMeter(entry.value, ids);
      }
      return expr;
    default:
      return expr;
  }
}

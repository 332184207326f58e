import {
  CelFunc,
  CelList,
  CelScalar,
  CelValue,
  celEnv,
  celFunc,
  celList,
  celMethod,
  isCelError,
  isCelList,
  isCelMap,
  listType,
  type CelEnv,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

// The one CEL environment conditions run in: the standard library and the strings extension
// (Kubernetes' CEL has both), each function wrapped so that it pays into the meter of the
// evaluation running now, and two functions the compiler weaves into every comprehension: one
// that pays for each iteration, and one that appends to a map() or filter() result in place.

/** Why an evaluation stopped: which budget ran out. */
export class CostExceeded extends Error {
  constructor(readonly budget: 'condition' | 'review') {
    super(
      budget === 'condition'
        ? 'the condition exceeded its cost budget'
        : "the review's budget for conditions ran out",
    );
    this.name = 'CostExceeded';
  }
}

/**
 * Cost units spent by one condition, drawn from a budget shared with the rest of its review. Once
 * either runs out every further charge fails, so the evaluation ends with an error, never a value.
 */
export class CostMeter {
  spent = 0;
  exceeded?: CostExceeded;

  constructor(
    private readonly limit: number,
    private readonly review: { remaining: number },
  ) {}

  charge(units: number): void {
    if (this.exceeded) throw this.exceeded;
    this.spent += units;
    this.review.remaining -= units;
    if (this.spent > this.limit) this.exceeded = new CostExceeded('condition');
    else if (this.review.remaining < 0) this.exceeded = new CostExceeded('review');
    if (this.exceeded) throw this.exceeded;
  }
}

// Evaluation is synchronous, so the meter of the one evaluation running is a plain variable.
let running: CostMeter | undefined;

/** Runs `evaluate` with `meter` paying for every function call and comprehension iteration in it. */
export function metered<T>(meter: CostMeter, evaluate: () => T): T {
  const outer = running;
  running = meter;
  try {
    return evaluate();
  } finally {
    running = outer;
  }
}

const charge = (units: number): void => {
  // A function called outside `metered` is a bug; it must not run unpaid.
  if (!running) throw new Error('CEL evaluated outside a cost meter');
  running.charge(units);
};

/** How much of a value a function may walk: characters, bytes, entries; a scalar is nothing. */
function walkable(value: CelValue | undefined): number {
  if (typeof value === 'string' || value instanceof Uint8Array) return value.length;
  if (isCelList(value) || isCelMap(value)) return value.size;
  return 0;
}

/** One call, and a tenth of what it may walk (cel-go's StringTraversalCostFactor). */
function callCost(target: CelValue | undefined, args: readonly CelValue[]): number {
  let size = walkable(target);
  for (const arg of args) size += walkable(arg);
  return 1 + Math.ceil(size / 10);
}

/** `f` with the same signature, paying before it runs. */
function paying(f: CelFunc): CelFunc {
  const call = (target: CelValue | undefined, args: CelValue[]) => {
    charge(callCost(target, args));
    const result = f.call(0, target, args);
    if (result === undefined) throw new Error(`no overload of ${f.name} for these arguments`);
    if (isCelError(result)) throw result;
    return result;
  };
  return f.target
    ? celMethod(f.name, f.target, f.arguments, f.result, function (this: CelValue, ...args: CelValue[]) {
        return call(this, args);
      })
    : celFunc(f.name, f.arguments, f.result, (...args: CelValue[]) => call(undefined, args));
}

/** Pays one unit for a comprehension's iteration; the compiler wraps each loop condition in it. */
export const ITERATION_FUNCTION = 'kube_image_bouncer.iteration';
/**
 * Pays for what a comprehension reads of its range before its first iteration: the library copies
 * the whole list (or the map's keys) into an array there, however early the loop then stops.
 */
export const RANGE_FUNCTION = 'kube_image_bouncer.range';
/** Appends to a map() or filter() accumulator; the compiler puts it in place of `@result + [x]`. */
export const APPEND_FUNCTION = 'kube_image_bouncer.append';

/**
 * The accumulators this module made, with the arrays behind them. An accumulator is visible only
 * to its own comprehension (`@result` cannot be written in CEL), so appending in place is safe;
 * the library's own `_+_` would chain a view per element, which makes iterating the result
 * quadratic and, past some ten thousand elements, overflows the stack.
 */
const accumulators = new WeakMap<CelList, CelValue[]>();

function append(accumulator: CelList, items: CelList): CelList {
  charge(1 + Math.ceil(items.size / 10));
  let array = accumulators.get(accumulator);
  if (array === undefined) {
    // The first append, to the literal `[]` (or anything else): a list of our own from now on.
    array = [...accumulator];
    const owned = celList(array);
    accumulators.set(owned, array);
    for (const item of items) array.push(item);
    return owned;
  }
  for (const item of items) array.push(item);
  return accumulator;
}

const { BOOL, DYN } = CelScalar;
const LIST = listType(DYN);

function environment(): CelEnv {
  const library = celEnv({ funcs: strings });
  return celEnv({
    funcs: [
      ...[...library.funcs].map(paying),
      celFunc(ITERATION_FUNCTION, [BOOL], BOOL, (condition: boolean) => {
        charge(1);
        return condition;
      }),
      celFunc(RANGE_FUNCTION, [DYN], DYN, (range: CelValue) => {
        charge(1 + Math.ceil(walkable(range) / 10));
        return range;
      }),
      celFunc(APPEND_FUNCTION, [LIST, LIST], LIST, (accumulator: CelList, items: CelList) =>
        append(accumulator, items),
      ),
    ],
  });
}

export const CONDITION_ENVIRONMENT: CelEnv = environment();

/** The functions a condition may call, with their overloads: what the checker reads. */
export const LIBRARY_FUNCTIONS: readonly CelFunc[] = [...CONDITION_ENVIRONMENT.funcs].filter(
  (f) => ![ITERATION_FUNCTION, RANGE_FUNCTION, APPEND_FUNCTION].includes(f.name),
);

import type { CelInput } from '@bufbuild/cel';
import { MAX_PREDICATE_DEPTH, MAX_PREDICATE_VALUES } from './condition-budgets';

// A verified in-toto statement (JSON, as the verifier parsed it) as CEL values, made once per
// statement and kept beside it for as long as the verdict that carries it is cached. Objects become
// maps (so that nothing of a JavaScript object's prototype can be selected), integral numbers CEL
// ints and the others doubles, as Kubernetes reads an unstructured object.

/** Why a statement cannot be given to CEL. */
export class StatementTooLarge extends Error {
  override name = 'StatementTooLarge';
}

type Converted = ReadonlyMap<string, CelInput> | StatementTooLarge;

const converted = new WeakMap<object, Converted>();

/** The statement as CEL values, or why it is too large or deep to be one; made once per statement. */
export function statementValue(statement: object): Converted {
  let value = converted.get(statement);
  if (value === undefined) {
    value = convert(statement);
    converted.set(statement, value);
  }
  return value;
}

function convert(statement: object): Converted {
  let values = 0;
  const visit = (json: unknown, depth: number): CelInput => {
    if (++values > MAX_PREDICATE_VALUES)
      throw new StatementTooLarge(`the statement holds more than ${MAX_PREDICATE_VALUES} values`);
    if (typeof json === 'number') return Number.isSafeInteger(json) ? BigInt(json) : json;
    if (json === null || typeof json !== 'object') return json as string | boolean | null;
    if (depth >= MAX_PREDICATE_DEPTH)
      throw new StatementTooLarge(`the statement nests deeper than ${MAX_PREDICATE_DEPTH} levels`);
    if (Array.isArray(json)) return json.map((item: unknown) => visit(item, depth + 1));
    const map = new Map<string, CelInput>();
    for (const [key, item] of Object.entries(json)) map.set(key, visit(item, depth + 1));
    return map;
  };
  try {
    return visit(statement, 0) as ReadonlyMap<string, CelInput>;
  } catch (error) {
    if (error instanceof StatementTooLarge) return error;
    throw error;
  }
}

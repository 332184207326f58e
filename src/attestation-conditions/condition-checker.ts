import type { CelFunc, CelType } from '@bufbuild/cel';
import type { Expr, SourceInfo } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

// CEL's type check, for the types conditions meet: @bufbuild/cel exports a parser and an evaluator
// but no checker, so this walks the parsed expression with the overloads the evaluator itself
// declares (the same table, so the two cannot disagree on which functions exist). A predicate is
// JSON, so what is read from it is `dyn`, as Kubernetes' CEL types an unstructured object: a typo
// in a field name is found when the condition runs, not here. What is found here: syntax, names
// that are not declared, calls no overload takes, and expressions that cannot be boolean.
// https://github.com/google/cel-spec/blob/master/doc/langdef.md#gradual-type-checking

export type ConditionType =
  | { readonly kind: 'dyn' }
  | { readonly kind: 'scalar'; readonly name: string }
  | { readonly kind: 'list'; readonly element: ConditionType }
  | { readonly kind: 'map'; readonly key: ConditionType; readonly value: ConditionType };

export const DYN: ConditionType = { kind: 'dyn' };
const scalar = (name: string): ConditionType => ({ kind: 'scalar', name });
export const BOOL = scalar('bool');
const INT = scalar('int');
const UINT = scalar('uint');
const STRING = scalar('string');
const TYPE = scalar('type');
export const TIMESTAMP = scalar('timestamp');
export const listOf = (element: ConditionType): ConditionType => ({ kind: 'list', element });
export const mapOf = (key: ConditionType, value: ConditionType): ConditionType => ({
  kind: 'map',
  key,
  value,
});
export const STRING_MAP = mapOf(STRING, STRING);
/** A JSON object as CEL sees it. */
export const JSON_OBJECT = mapOf(STRING, DYN);

/** A type as cel-go prints it: `int`, `list(string)`, `map(string, dyn)`. */
export function typeText(type: ConditionType): string {
  switch (type.kind) {
    case 'dyn':
      return 'dyn';
    case 'scalar':
      return type.name;
    case 'list':
      return `list(${typeText(type.element)})`;
    case 'map':
      return `map(${typeText(type.key)}, ${typeText(type.value)})`;
  }
}

const OBJECT_TYPES: Readonly<Record<string, string>> = {
  'google.protobuf.Timestamp': 'timestamp',
  'google.protobuf.Duration': 'duration',
};

function fromCelType(type: CelType): ConditionType {
  switch (type.kind) {
    case 'list':
      return listOf(fromCelType(type.element));
    case 'map':
      return mapOf(fromCelType(type.key), fromCelType(type.value));
    case 'object':
      return OBJECT_TYPES[type.name] ? scalar(OBJECT_TYPES[type.name]) : DYN;
    default:
      return type.name === 'dyn' ? DYN : scalar(type.name);
  }
}

/** Whether a value of type `actual` may be given where `wanted` is declared: `dyn` fits both ways. */
function fits(actual: ConditionType, wanted: ConditionType): boolean {
  if (actual.kind === 'dyn' || wanted.kind === 'dyn') return true;
  if (actual.kind === 'scalar' && wanted.kind === 'scalar') return actual.name === wanted.name;
  if (actual.kind === 'list' && wanted.kind === 'list') return fits(actual.element, wanted.element);
  if (actual.kind === 'map' && wanted.kind === 'map')
    return fits(actual.key, wanted.key) && fits(actual.value, wanted.value);
  return false;
}

const same = (a: ConditionType, b: ConditionType): boolean => typeText(a) === typeText(b);
/** The type both branches (or every element) share, or `dyn`. */
const join = (a: ConditionType, b: ConditionType): ConditionType => (same(a, b) ? a : DYN);

/** A type error, with where in the expression it is (0-based character offset) when known. */
export class ConditionTypeError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'ConditionTypeError';
  }
}

/** Type names are identifiers of type `type` in CEL: `type(x) == string`. */
const TYPE_NAMES = [
  'bool',
  'int',
  'uint',
  'double',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
];

interface Overload {
  readonly target?: ConditionType;
  readonly args: readonly ConditionType[];
  readonly result: ConditionType;
}

/**
 * Checks expressions against declared variables and the evaluator's overloads; `check` answers
 * the expression's type or throws ConditionTypeError.
 */
export class ConditionChecker {
  private readonly overloads = new Map<string, Overload[]>();

  constructor(
    functions: readonly CelFunc[],
    private readonly variables: ReadonlyMap<string, ConditionType>,
  ) {
    for (const f of functions) {
      const list = this.overloads.get(f.name) ?? [];
      list.push({
        ...(f.target ? { target: fromCelType(f.target) } : {}),
        args: f.arguments.map(fromCelType),
        result: fromCelType(f.result),
      });
      this.overloads.set(f.name, list);
    }
  }

  check(expr: Expr, sourceInfo: SourceInfo | undefined): ConditionType {
    return new Walk(this.overloads, this.variables, sourceInfo).type(expr, new Map());
  }
}

type Scope = ReadonlyMap<string, ConditionType>;

class Walk {
  constructor(
    private readonly overloads: ReadonlyMap<string, readonly Overload[]>,
    private readonly variables: ReadonlyMap<string, ConditionType>,
    private readonly sourceInfo: SourceInfo | undefined,
  ) {}

  private error(expr: Expr, message: string): ConditionTypeError {
    return new ConditionTypeError(message, this.sourceInfo?.positions[String(expr.id)]);
  }

  type(expr: Expr, scope: Scope): ConditionType {
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'constExpr':
        switch (kind.value.constantKind.case) {
          case 'boolValue':
            return BOOL;
          case 'int64Value':
            return INT;
          case 'uint64Value':
            return UINT;
          case 'doubleValue':
            return scalar('double');
          case 'stringValue':
            return STRING;
          case 'bytesValue':
            return scalar('bytes');
          case 'nullValue':
            return scalar('null_type');
          default:
            throw this.error(expr, 'unsupported constant');
        }
      case 'identExpr':
        return this.identifier(expr, kind.value.name, scope);
      case 'selectExpr': {
        // A dotted name may be one identifier (a declared `a.b.c`, or a type name), as CEL resolves it.
        const qualified = kind.value.testOnly ? undefined : this.qualifiedName(expr);
        if (qualified !== undefined && !scope.has(qualified.split('.')[0])) {
          const type = this.variables.get(qualified) ?? (TYPE_NAMES.includes(qualified) ? TYPE : undefined);
          if (type) return type;
        }
        const operand = this.type(kind.value.operand!, scope);
        if (kind.value.testOnly) {
          if (operand.kind === 'scalar')
            throw this.error(expr, `has() cannot test a field of type '${typeText(operand)}'`);
          return BOOL;
        }
        if (operand.kind === 'dyn') return DYN;
        if (operand.kind === 'map' && fits(STRING, operand.key)) return operand.value;
        throw this.error(
          expr,
          `type '${typeText(operand)}' does not support field selection (.${kind.value.field})`,
        );
      }
      case 'callExpr':
        return this.call(expr, kind.value.function, kind.value.target, kind.value.args, scope);
      case 'listExpr': {
        const elements = kind.value.elements.map((element) => this.type(element, scope));
        return listOf(
          elements.reduce<ConditionType | undefined>((a, b) => (a ? join(a, b) : b), undefined) ?? DYN,
        );
      }
      case 'structExpr': {
        if (kind.value.messageName !== '')
          throw this.error(
            expr,
            `message ${kind.value.messageName} cannot be built: conditions have no message types`,
          );
        let key: ConditionType | undefined;
        let value: ConditionType | undefined;
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case !== 'mapKey') throw this.error(expr, 'a map entry without a key');
          const k = this.type(entry.keyKind.value, scope);
          const v = this.type(entry.value!, scope);
          key = key ? join(key, k) : k;
          value = value ? join(value, v) : v;
        }
        return mapOf(key ?? DYN, value ?? DYN);
      }
      case 'comprehensionExpr': {
        const c = kind.value;
        if (c.iterVar2 !== '') throw this.error(expr, 'comprehensions over two variables are not available');
        const range = this.type(c.iterRange!, scope);
        let element: ConditionType;
        if (range.kind === 'list') element = range.element;
        else if (range.kind === 'map') element = range.key;
        else if (range.kind === 'dyn') element = DYN;
        else throw this.error(c.iterRange!, `type '${typeText(range)}' cannot be iterated over`);
        const accumulator = this.type(c.accuInit!, scope);
        const inner = new Map(scope).set(c.accuVar, accumulator).set(c.iterVar, element);
        const condition = this.type(c.loopCondition!, inner);
        if (!fits(condition, BOOL)) throw this.error(c.loopCondition!, 'a loop condition must be boolean');
        const step = this.type(c.loopStep!, inner);
        return this.type(c.result!, new Map(scope).set(c.accuVar, join(accumulator, step)));
      }
      default:
        throw this.error(expr, 'unsupported expression');
    }
  }

  private identifier(expr: Expr, name: string, scope: Scope): ConditionType {
    const type = scope.get(name) ?? this.variables.get(name);
    if (type) return type;
    if (TYPE_NAMES.includes(name)) return TYPE;
    // The head of a qualified name (`a` of a declared `a.b.c`) is resolved with the whole name above.
    if ([...this.variables.keys(), ...TYPE_NAMES].some((declared) => declared.startsWith(`${name}.`)))
      return DYN;
    throw this.error(expr, `undeclared reference to '${name}'`);
  }

  /** The dotted name an expression spells (`strings.quote`), if it is only identifiers and selections. */
  private qualifiedName(expr: Expr | undefined): string | undefined {
    if (expr?.exprKind.case === 'identExpr') return expr.exprKind.value.name;
    if (expr?.exprKind.case === 'selectExpr' && !expr.exprKind.value.testOnly) {
      const operand = this.qualifiedName(expr.exprKind.value.operand);
      return operand && `${operand}.${expr.exprKind.value.field}`;
    }
    return undefined;
  }

  private call(
    expr: Expr,
    name: string,
    target: Expr | undefined,
    argExprs: readonly Expr[],
    scope: Scope,
  ): ConditionType {
    // A namespaced function (`strings.quote(s)`) parses as a method on the namespace's name.
    const qualified = target && this.qualifiedName(target);
    if (qualified && !scope.has(qualified.split('.')[0]) && !this.variables.has(qualified.split('.')[0])) {
      const global = `${qualified}.${name}`;
      if (this.overloads.has(global)) return this.call(expr, global, undefined, argExprs, scope);
    }
    const args = argExprs.map((arg) => this.type(arg, scope));
    const receiver = target && this.type(target, scope);
    const boolean = (...operands: ConditionType[]): ConditionType => {
      if (operands.some((operand) => !fits(operand, BOOL)))
        throw this.error(
          expr,
          `${displayName(name)} takes boolean operands, not ${operands.map(typeText).join(' and ')}`,
        );
      return BOOL;
    };
    switch (name) {
      case '_&&_':
      case '_||_':
      case '!_':
        return boolean(...args);
      case '@not_strictly_false':
        return BOOL;
      case '_==_':
      case '_!=_':
        // CEL compares values of any two types (heterogeneous equality): never a type error.
        return BOOL;
      case '_?_:_':
        boolean(args[0]);
        return join(args[1], args[2]);
      case '_[_]': {
        const [container, index] = args;
        if (container.kind === 'dyn') return DYN;
        if (container.kind === 'list' && (fits(index, INT) || fits(index, UINT))) return container.element;
        if (container.kind === 'map' && fits(index, container.key)) return container.value;
        throw this.error(expr, `type '${typeText(container)}' cannot be indexed by '${typeText(index)}'`);
      }
    }
    const candidates = this.overloads.get(name);
    if (!candidates) throw this.error(expr, `undeclared reference to '${name}'`);
    const matching = candidates.filter(
      (overload) =>
        (overload.target === undefined) === (receiver === undefined) &&
        (receiver === undefined || fits(receiver, overload.target!)) &&
        overload.args.length === args.length &&
        overload.args.every((wanted, i) => fits(args[i], wanted)),
    );
    if (matching.length === 0) {
      const applied = `${receiver ? `${typeText(receiver)}.` : ''}(${args.map(typeText).join(', ')})`;
      throw this.error(expr, `found no matching overload for '${displayName(name)}' applied to '${applied}'`);
    }
    return matching.map((overload) => overload.result).reduce(join);
  }
}

/** `_+_` as the operator a person wrote: `+`. */
const displayName = (name: string): string => (name === '@in' ? 'in' : name.replace(/^_|_$/g, ''));

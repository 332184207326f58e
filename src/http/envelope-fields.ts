import { ValidationArguments, getMetadataStorage, registerDecorator } from 'class-validator';

// The shape of a review envelope, declared on its DTO: which fields are read, which of them are
// nested envelopes, and which are opaque JSON passed through untouched. class-validator states the
// rules for those fields; readEnvelope builds the instance it validates. Reading costs one object
// per declared envelope and never walks anything else, so a whole Pod in `request.object` costs
// nothing and a deeply nested unknown field cannot exhaust the stack.

type EnvelopeClass = abstract new (...args: never[]) => object;

type FieldShape =
  | { readonly key: string; readonly kind: 'value' }
  | { readonly key: string; readonly kind: 'envelope'; readonly type: () => EnvelopeClass };

const SHAPES = new WeakMap<object, FieldShape[]>();

function declare(target: object, shape: FieldShape): void {
  const fields = SHAPES.get(target) ?? [];
  fields.push(shape);
  SHAPES.set(target, fields);
}

/** A field the envelope reads as it is: a string, number, boolean, or a map validated as a whole. */
export function EnvelopeField(): PropertyDecorator {
  return (target, key) => declare(target, { key: String(key), kind: 'value' });
}

/** A nested envelope, or an array of them: read with its own declared shape. */
export function NestedEnvelope(type: () => EnvelopeClass): PropertyDecorator {
  return (target, key) => declare(target, { key: String(key), kind: 'envelope', type });
}

/** A field whose JSON value is carried as is, never copied or walked: a Pod, an annotation map. */
export const OpaqueJson = EnvelopeField;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function isEnvelope(type: unknown): type is EnvelopeClass {
  return typeof type === 'function' && SHAPES.has(type.prototype as object);
}

/** The properties class-validator checks on `type`, and which of them it validates as nested objects. */
function validatedProperties(type: EnvelopeClass): { all: Set<string>; nested: Set<string> } {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false);
  return {
    all: new Set(metadata.map((m) => m.propertyName)),
    nested: new Set(metadata.filter((m) => m.type === 'nestedValidation').map((m) => m.propertyName)),
  };
}

const READ_SHAPES = new WeakMap<object, readonly FieldShape[]>();

/**
 * What readEnvelope copies from `type`: every declared field, and every field class-validator
 * validates even if nobody declared it, so that a validated field can never read `undefined`.
 */
function shapeToRead(type: EnvelopeClass): readonly FieldShape[] {
  const known = READ_SHAPES.get(type.prototype as object);
  if (known) return known;
  const declared = SHAPES.get(type.prototype as object) ?? [];
  const names = new Set(declared.map((field) => field.key));
  const undeclared = [...validatedProperties(type).all]
    .filter((key) => !names.has(key))
    .map((key): FieldShape => ({ key, kind: 'value' }));
  const shape = [...declared, ...undeclared];
  READ_SHAPES.set(type.prototype as object, shape);
  return shape;
}

/**
 * Why `type` cannot be read as an envelope, one line per problem; empty when it can. A DTO must
 * declare the shape of every field it validates, and validate nested envelopes as nested, or the
 * pipe would pass a field through unchecked. Checked for every body DTO when the app boots.
 */
export function envelopeProblems(type: EnvelopeClass, seen = new Set<EnvelopeClass>()): string[] {
  if (seen.has(type)) return [];
  seen.add(type);
  const shape = SHAPES.get(type.prototype as object);
  if (shape === undefined)
    return [`${type.name} declares no envelope fields (@EnvelopeField, @NestedEnvelope or @OpaqueJson)`];
  const declared = new Map(shape.map((field) => [field.key, field]));
  const { all, nested } = validatedProperties(type);
  const problems: string[] = [];
  for (const key of all) {
    const field = declared.get(key);
    if (field === undefined)
      problems.push(
        `${type.name}.${key} is validated but not declared (@EnvelopeField, @NestedEnvelope or @OpaqueJson)`,
      );
    else if (nested.has(key) && field.kind !== 'envelope')
      problems.push(`${type.name}.${key} is validated as nested but not declared @NestedEnvelope`);
  }
  for (const field of declared.values())
    if (field.kind === 'envelope') problems.push(...envelopeProblems(field.type(), seen));
  return problems;
}

/**
 * An instance of `type` holding the declared fields of `json`. Values of the wrong type are kept
 * as they are, for class-validator to refuse with a message; nothing is dropped from `json`.
 */
export function readEnvelope<T extends object>(
  type: abstract new (...args: never[]) => T,
  json: Record<string, unknown>,
): T {
  const envelope = Object.create(type.prototype as object) as Record<string, unknown>;
  for (const field of shapeToRead(type)) {
    const value = json[field.key];
    if (field.kind === 'value' || value === null || typeof value !== 'object') {
      envelope[field.key] = value;
    } else if (Array.isArray(value)) {
      const nested = field.type();
      envelope[field.key] = value.map((item: unknown) =>
        isPlainObject(item) ? readEnvelope(nested, item) : item,
      );
    } else {
      envelope[field.key] = readEnvelope(field.type(), value as Record<string, unknown>);
    }
  }
  return envelope as T;
}

/** A JSON object whose values are all strings: Kubernetes' map[string]string. */
export function IsStringMap(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStringMap',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string'),
        defaultMessage: ({ property }: ValidationArguments) =>
          `${property} must be an object of string values`,
      },
    });
}

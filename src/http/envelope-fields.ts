import { Expose, Transform, Type } from 'class-transformer';
import { ValidationArguments, registerDecorator } from 'class-validator';

/** Never instantiated with fields: a target type that makes class-transformer stop descending. */
class OpaqueJsonValue {}

/**
 * Exposes a field whose value is passed through untouched. Review bodies carry whole Pods and
 * annotation maps; the envelope pipe must neither copy them (cost) nor recurse into them
 * (a deeply nested value would overflow the stack).
 */
export function OpaqueJson(): PropertyDecorator {
  return (target, key) => {
    Expose()(target, key);
    Type(() => OpaqueJsonValue)(target, key);
    Transform(({ obj }: { obj: Record<string | symbol, unknown> }) => obj[key], { toClassOnly: true })(
      target,
      key,
    );
  };
}

/**
 * Exposes a scalar field of the envelope, which class-validator then checks as it arrived. A bare
 * @Expose() is not enough: class-transformer rebuilds a mistyped object value with
 * `new value.constructor()`, and a JSON object's own "constructor" key (`"uid": {"constructor": 1}`)
 * makes that throw, which answered a malformed review with a 500 instead of a 400 or a denial.
 */
export function Field(): PropertyDecorator {
  return OpaqueJson();
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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

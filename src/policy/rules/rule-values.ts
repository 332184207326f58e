import { ImagePattern, InvalidImagePatternError } from '../patterns/image-pattern';
import { JsonSchema, RuleValueError } from './image-rule';

export const stringListSchema = (description: string): JsonSchema => ({
  type: 'array',
  description,
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', minLength: 1 },
});

/** Image patterns from the policy, compiled once; a bad one is reported at its index. */
export function compileImagePatterns(values: readonly string[]): ImagePattern[] {
  return values.map((value, index) => {
    try {
      return new ImagePattern(value);
    } catch (error) {
      if (error instanceof InvalidImagePatternError) throw new RuleValueError([index], error.message);
      throw error;
    }
  });
}

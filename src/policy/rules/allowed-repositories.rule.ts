import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import { ImagePattern, matchesAny } from '../patterns/image-pattern';
import { ImageRule, RuleFinding } from './image-rule';
import { compileImagePatterns, stringListSchema } from './rule-values';

/** `allowedRepositories: ["registry.example.com/**", nginx]`: every image must match one pattern. */
@Injectable()
export class AllowedRepositoriesRule implements ImageRule<readonly ImagePattern[]> {
  readonly key = 'allowedRepositories';
  readonly valueSchema = stringListSchema(
    'Image patterns an image must match one of, e.g. `registry.example.com/**`.',
  );

  compile(value: unknown): readonly ImagePattern[] {
    return compileImagePatterns(value as string[]);
  }

  check(reference: ImageReference, patterns: readonly ImagePattern[]): RuleFinding | undefined {
    return matchesAny(patterns, reference)
      ? undefined
      : {
          summary: 'Images from outside the allowed repositories are not allowed',
          problem: 'is not from an allowed repository',
        };
  }
}

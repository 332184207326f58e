import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import { ImagePattern, matchesAny } from '../patterns/image-pattern';
import { ImageRule, RuleFinding } from './image-rule';
import { compileImagePatterns, stringListSchema } from './rule-values';

/** `deniedRepositories: ["docker.io/randomuser/**"]`: no image may match any pattern. */
@Injectable()
export class DeniedRepositoriesRule implements ImageRule<readonly ImagePattern[]> {
  readonly key = 'deniedRepositories';
  readonly valueSchema = stringListSchema(
    'Image patterns no image may match, e.g. `docker.io/randomuser/**`.',
  );

  compile(value: unknown): readonly ImagePattern[] {
    return compileImagePatterns(value as string[]);
  }

  check(reference: ImageReference, patterns: readonly ImagePattern[]): RuleFinding | undefined {
    const pattern = matchesAny(patterns, reference);
    return pattern
      ? {
          summary: 'Images from denied repositories are not allowed',
          problem: `is from a denied repository (${pattern.source})`,
        }
      : undefined;
  }
}

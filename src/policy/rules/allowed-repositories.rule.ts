import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import { ImagePattern, grantingPattern } from '../patterns/image-pattern';
import { ImageRule, RuleFacts, RuleFinding } from './image-rule';
import { compileImagePatterns, stringListSchema } from './rule-values';

/**
 * `allowedRepositories: ["registry.example.com/**", nginx]`: every image must match one pattern. A
 * pattern that names a tag allows an image written with a digest only when its tag resolves to
 * that digest now (ImagePattern.grants).
 */
@Injectable()
export class AllowedRepositoriesRule implements ImageRule<readonly ImagePattern[]> {
  readonly key = 'allowedRepositories';
  readonly valueSchema = stringListSchema(
    'Image patterns an image must match one of, e.g. `registry.example.com/**`.',
  );

  compile(value: unknown): readonly ImagePattern[] {
    return compileImagePatterns(value as string[]);
  }

  needsTagDigest(reference: ImageReference, patterns: readonly ImagePattern[]): boolean {
    return grantingPattern(patterns, reference).grant === 'needs-tag-digest';
  }

  check(
    reference: ImageReference,
    patterns: readonly ImagePattern[],
    facts?: RuleFacts,
  ): RuleFinding | undefined {
    return grantingPattern(patterns, reference, facts?.tagDigest).grant === 'yes'
      ? undefined
      : {
          summary: 'Images from outside the allowed repositories are not allowed',
          problem: 'is not from an allowed repository',
        };
  }
}

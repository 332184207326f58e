import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import { ImageRule, RuleFinding } from './image-rule';

/** `requireDigest: true`: every image must be pinned by `@sha256:...`, so what runs is what was reviewed. */
@Injectable()
export class RequireDigestRule implements ImageRule<boolean> {
  readonly key = 'requireDigest';
  readonly valueSchema = {
    type: 'boolean',
    description: 'When true, every image must be pinned by a digest.',
  };

  compile(value: unknown): boolean {
    return value === true;
  }

  check(reference: ImageReference, required: boolean): RuleFinding | undefined {
    return required && reference.digest === undefined
      ? { summary: 'Images not pinned by a digest are not allowed', problem: 'is not pinned by a digest' }
      : undefined;
  }
}

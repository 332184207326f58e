import { Injectable } from '@nestjs/common';
import type { ImageReference } from '../../image-reference';
import { CompiledGlob, compileGlob, globMatches, segmentGlobSource } from '../patterns/glob';
import { ImageRule, RuleFinding } from './image-rule';
import { stringListSchema } from './rule-values';

/**
 * `disallowedTags: [latest, "*-SNAPSHOT"]`. An image with neither tag nor digest is pulled as
 * `:latest`, so it counts as `latest`; a digest alone pins the content and passes. A tag beside a
 * digest still counts: the spec names the moving tag, and failing closed is the safer reading.
 */
@Injectable()
export class DisallowedTagsRule implements ImageRule<readonly CompiledGlob[]> {
  readonly key = 'disallowedTags';
  readonly valueSchema = stringListSchema(
    'Tags that may not be used; `*` is a wildcard. An untagged image counts as `latest`.',
  );

  compile(value: unknown): readonly CompiledGlob[] {
    return (value as string[]).map((tag) => compileGlob(tag, segmentGlobSource));
  }

  check(reference: ImageReference, tags: readonly CompiledGlob[]): RuleFinding | undefined {
    const tag = reference.tag ?? (reference.digest === undefined ? 'latest' : undefined);
    if (tag === undefined || !tags.some((glob) => globMatches(glob, tag))) return undefined;
    // For `latest` this is the original bouncer's phrase; existing alerts and runbooks match it.
    return { summary: `Images using ${tag} tag are not allowed`, problem: `uses the ${tag} tag` };
  }
}

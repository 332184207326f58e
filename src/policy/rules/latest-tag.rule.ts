import { Injectable } from '@nestjs/common';
import { ImageRule, ReviewedImage } from './image-rule';

/**
 * The original kube-image-bouncer rule. An image with neither tag nor digest is pulled as
 * `:latest`, so it counts as latest; a digest alone pins the content and passes. An explicit
 * `:latest` is denied even beside a digest: the spec still names the moving tag, and failing
 * closed is the safer reading.
 */
@Injectable()
export class LatestTagRule implements ImageRule {
  readonly name = 'no-latest';
  // Existing users' alerts and runbooks match this phrase from the original; keep it verbatim.
  readonly denialSummary = 'Images using latest tag are not allowed';

  check({ reference }: ReviewedImage): string | undefined {
    const impliedLatest = reference.tag === undefined && reference.digest === undefined;
    return reference.tag === 'latest' || impliedLatest ? 'uses the latest tag' : undefined;
  }
}

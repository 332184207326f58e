import { ImageReference } from '../../image-reference';

/** DI token under which every image rule is registered, as one array (see rules/index.ts). */
export const IMAGE_RULES = Symbol('IMAGE_RULES');

export interface ReviewedImage {
  /** The image exactly as the pod spec wrote it; this is what users see in reasons. */
  readonly image: string;
  readonly reference: ImageReference;
}

export interface ReviewContext {
  readonly namespace?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * One check on one image. Implementations are small pure classes: no I/O and no state that
 * changes per review, because they run on every pod admission.
 */
export interface ImageRule {
  /** Stable identifier, used in audit annotations, logs and metrics. */
  readonly name: string;
  /** Opens the ImageReview reason that lists the images this rule denied. */
  readonly denialSummary: string;
  /** The problem as a predicate of the image ("uses the latest tag"), or undefined when it passes. */
  check(image: ReviewedImage, context: ReviewContext): string | undefined;
}

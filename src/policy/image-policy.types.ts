import { ImageReference } from '../image-reference';

export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

/** An image to decide on, with the container it came from when the review names containers. */
export interface ImageUnderReview {
  readonly image: string;
  readonly container?: { readonly name: string; readonly list: ContainerList };
}

export interface ImagePolicyRequest {
  readonly images: readonly ImageUnderReview[];
  readonly namespace?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleViolation {
  readonly rule: string;
  readonly summary: string;
  /** Predicate of the image: "uses the latest tag". */
  readonly problem: string;
  /** Shown after the image where images are listed, when the image alone doesn't explain the problem. */
  readonly detail?: string;
}

export interface ImageVerdict {
  readonly subject: ImageUnderReview;
  /** Absent when the image is not a valid reference. */
  readonly reference?: ImageReference;
  readonly violations: readonly RuleViolation[];
}

export interface PolicyDecision {
  readonly allowed: boolean;
  readonly verdicts: readonly ImageVerdict[];
}

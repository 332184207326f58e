import type { ImageReference } from '../image-reference';
import type { BreakGlassTicket } from './break-glass';
import type { Enforcement } from './policy-file/image-policy.schema';

export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

/**
 * An image to decide on, with where the pod spec holds it when the review names places: a
 * container, or an image volume (KEP-4639), which the kubelet pulls just as it pulls a container's.
 */
export interface ImageUnderReview {
  readonly image: string;
  /** `index` is the container's position in its list, as a JSON Patch path names it. */
  readonly container?: { readonly name: string; readonly list: ContainerList; readonly index: number };
  /** `spec.volumes[index].image.reference`. */
  readonly volume?: { readonly name: string; readonly index: number };
  /**
   * On UPDATE, the object already ran this image in the same place: the engine does not judge it
   * again where that could say nothing new (see `grandfathered` in the engine).
   */
  readonly ranBefore?: true;
}

export interface ImagePolicyRequest {
  readonly images: readonly ImageUnderReview[];
  readonly namespace?: string;
  /** Pod annotations whose key contains `.image-policy.k8s.io/`, as ImagePolicyWebhook forwards them. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleViolation {
  readonly rule: string;
  readonly enforcement: Enforcement;
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
  /** What exempted the image from every rule, e.g. "image pattern registry.k8s.io/**". */
  readonly exemptBy?: string;
  /** The policy exception (spec.exceptions) that let the image through, until it lapses. */
  readonly exception?: { readonly ticket: string; readonly expires: Date };
}

export interface PolicyDecision {
  readonly allowed: boolean;
  readonly verdicts: readonly ImageVerdict[];
  readonly policy: { readonly name: string; readonly revision: string };
  /** The exemptNamespaces glob that let the whole review through. */
  readonly exemptNamespace?: string;
  /** The ticket that allowed a review the policy denies. */
  readonly breakGlass?: BreakGlassTicket;
  /** Why break-glass annotations present on the pod were not honoured. */
  readonly breakGlassRefusals: readonly string[];
}

import { Injectable, Logger } from '@nestjs/common';
import { ConditionBudget } from '../attestation-conditions';
import { inTurns } from '../cache';
import { ImageReference, InvalidImageReferenceError } from '../image-reference';
import { DigestResolution, DigestResolver, RegistryFailureReason, registryDeadline } from '../registry';
import { VerificationLedger, describeAge, isOutage } from '../verification-ledger';
import { REVIEW_IMAGES_AT_ONCE } from './image-policy.service';
import { ImagePolicyRequest, ImageUnderReview } from './image-policy.types';
import { imagePlace } from './policy-decision';
import { FIRST_LOOK, assess } from './image-assessment';
import { UNKNOWN_DIGEST, matchesAny } from './patterns/image-pattern';
import { CompiledImagePolicy } from './policy-file/compiled-image-policy';
import { PolicyStore } from './policy-file/policy-store.service';
import { ReferenceCache } from './reference-cache';

/** What pinning did with one image. */
export type PinOutcome =
  | {
      readonly pinned: string;
      readonly resolution: DigestResolution;
      /** Pinned to the tag's last resolution in the verification ledger: the registry was failing. */
      readonly fromLedger?: { readonly digest: string; readonly ageMs: number };
    }
  | {
      readonly unchanged: 'has a digest' | 'not a valid reference' | 'exempt' | 'denied whatever its digest';
    }
  | {
      readonly unresolved: RegistryFailureReason;
      readonly detail: string;
      readonly resolution: DigestResolution;
    };

export interface ImagePin {
  readonly subject: ImageUnderReview;
  readonly outcome: PinOutcome;
}

export interface PinningDecision {
  readonly policy: { readonly name: string; readonly revision: string };
  /** Why nothing was looked at, when nothing was: pinning off, a namespace out of scope or exempt. */
  readonly skipped?: string;
  readonly pins: readonly ImagePin[];
}

/** What kubectl prints for an image pinned from the verification ledger: that it was, and how old the pin is. */
export function ledgerPinWarnings(pinning: PinningDecision): string[] {
  return pinning.pins.flatMap(({ subject, outcome }) =>
    'pinned' in outcome && outcome.fromLedger
      ? [
          `${imagePlace(subject)}image ${subject.image} was pinned to ${outcome.fromLedger.digest} from the verification ledger: its registry is failing (${outcome.resolution.failure?.reason ?? 'unreachable'}), and the tag resolved to it ${describeAge(outcome.fromLedger.ageMs)} ago`,
        ]
      : [],
  );
}

/** The tag a reference is pulled with: its own, or `latest` when it names none. */
const pulledTag = (reference: ImageReference): string => reference.tag ?? 'latest';

/**
 * `repo:tag` becomes `repo:tag@sha256:…`, and an untagged `repo` becomes `repo:latest@sha256:…`: what
 * the user wrote is kept and the digest appended, so pinning never changes what a rule that reads
 * the tag decides (no-latest still sees `latest`). Only the last path segment can carry a tag, so
 * appending to the string as written is exact.
 */
export const pinnedImage = (image: string, reference: ImageReference, digest: string): string =>
  `${image}${reference.tag === undefined ? ':latest' : ''}@${digest}`;

/**
 * Digest pinning for /mutate, `check --online` and `explain`: which images of a review the policy
 * pins, and the digest each tag resolves to now, REVIEW_IMAGES_AT_ONCE images at a time under the
 * policy's one registry deadline. It never denies: an image it cannot resolve is left as written, with the
 * reason, and the validating phase (requireDigest) decides what that means.
 */
@Injectable()
export class DigestPinningService {
  private readonly logger = new Logger(DigestPinningService.name);
  private readonly references = new ReferenceCache();

  constructor(
    private readonly store: PolicyStore,
    private readonly resolver: DigestResolver,
    private readonly ledger: VerificationLedger,
  ) {}

  /** Whether pinning may apply to objects of this kind: Pods always, controllers when the policy says. */
  pinsKind(kind: 'pod' | 'pod-controller'): boolean {
    const scope = this.store.current.pinDigests;
    return scope !== undefined && (kind === 'pod' || scope.podControllers);
  }

  /**
   * The images `pin` would ask a registry about, without asking: in scope, valid, with no digest of
   * their own and not exempt. `check` judges them offline as pinned, since at admission /mutate
   * pins them before the validating webhook sees them.
   */
  wouldPin(request: ImagePolicyRequest): { subject: ImageUnderReview; reference: ImageReference }[] {
    const policy = this.store.current;
    if (this.skipReason(policy, request.namespace || undefined) !== undefined) return [];
    return request.images.flatMap((subject) => {
      let reference: ImageReference;
      try {
        reference = this.references.parse(subject.image);
      } catch (error) {
        if (!(error instanceof InvalidImageReferenceError)) throw error;
        return [];
      }
      if (reference.digest !== undefined || matchesAny(policy.pinDigests!.exemptImages, reference)) return [];
      return [{ subject, reference }];
    });
  }

  async pin(request: ImagePolicyRequest): Promise<PinningDecision> {
    const policy = this.store.current;
    const decided = { policy: { name: policy.name, revision: policy.revision } };
    const skipped = this.skipReason(policy, request.namespace || undefined);
    if (skipped !== undefined) return { ...decided, skipped, pins: [] };

    const deadline = registryDeadline(policy.registryTimeoutMs);
    const inTurn = inTurns(REVIEW_IMAGES_AT_ONCE);
    // What an update leaves as it was is not pinned again (podSpecReviewRequest marks it).
    const pins = await Promise.all(
      request.images
        .filter((subject) => !subject.ranBefore)
        .map(async (subject): Promise<ImagePin> => {
          let reference: ImageReference;
          try {
            reference = this.references.parse(subject.image);
          } catch (error) {
            if (!(error instanceof InvalidImageReferenceError)) throw error;
            return { subject, outcome: { unchanged: 'not a valid reference' } };
          }
          if (reference.digest !== undefined) return { subject, outcome: { unchanged: 'has a digest' } };
          if (matchesAny(policy.pinDigests!.exemptImages, reference))
            return { subject, outcome: { unchanged: 'exempt' } };
          // The validating phase denies it anyway: its registry hears nothing from us.
          if (this.deniedWhateverItsDigest(subject, reference, policy, request.namespace))
            return { subject, outcome: { unchanged: 'denied whatever its digest' } };
          const resolution = await inTurn(() =>
            this.resolver.resolve(
              reference.domain,
              reference.path,
              pulledTag(reference),
              policy.registries,
              policy.tagTtlMs,
              deadline,
            ),
          );
          const tag = { registry: reference.domain, repository: reference.path, tag: pulledTag(reference) };
          if (resolution.digest !== undefined) this.ledger.recordTag(tag, resolution.digest);
          // The registry is away: the tag's last resolution the ledger holds, within admitVerifiedWithin.
          const last =
            resolution.digest === undefined && isOutage(resolution.failure?.reason)
              ? this.ledger.lastTag(tag, policy.verificationLedger)
              : undefined;
          if (last !== undefined) {
            this.logger.warn(
              `pinned ${subject.image} to ${last.record.digest} from the verification ledger: ${resolution.failure!.reason}, and the tag resolved to it ${describeAge(last.ageMs)} ago`,
            );
            return {
              subject,
              outcome: {
                pinned: pinnedImage(subject.image, reference, last.record.digest),
                resolution,
                fromLedger: { digest: last.record.digest, ageMs: last.ageMs },
              },
            };
          }
          if (resolution.digest === undefined) {
            this.logger.warn(
              `could not pin ${subject.image}: ${resolution.failure!.reason} (${resolution.failure!.detail})`,
            );
            return {
              subject,
              outcome: {
                unresolved: resolution.failure!.reason,
                detail: resolution.failure!.detail,
                resolution,
              },
            };
          }
          return {
            subject,
            outcome: { pinned: pinnedImage(subject.image, reference, resolution.digest), resolution },
          };
        }),
    );
    return { ...decided, pins };
  }

  /**
   * Whether an enforced rule that asks nothing of the registry denies the image as pinned, to any
   * digest: an allow-list it is not on, a denied repository, `latest`. Patterns that name a digest
   * wait (see UNKNOWN_DIGEST), so an image pinning could still get admitted is always pinned.
   */
  private deniedWhateverItsDigest(
    subject: ImageUnderReview,
    reference: ImageReference,
    policy: CompiledImagePolicy,
    namespace: string | undefined,
  ): boolean {
    const image = pinnedImage(subject.image, reference, UNKNOWN_DIGEST);
    let parsed: ImageReference;
    try {
      parsed = this.references.parse(image);
    } catch (error) {
      if (error instanceof InvalidImageReferenceError) return false;
      throw error;
    }
    // A first look judges no condition (they wait on the registry): the budget is never drawn on.
    const pinned = {
      subject: { ...subject, image },
      parsed,
      policy,
      namespace,
      now: new Date(),
      conditionBudget: new ConditionBudget(),
    };
    return assess(pinned, FIRST_LOOK, () => undefined).deniedBy !== undefined;
  }

  private skipReason(policy: CompiledImagePolicy, namespace: string | undefined): string | undefined {
    const scope = policy.pinDigests;
    if (scope === undefined) return 'the policy does not pin digests';
    const exempt = namespace && policy.exemptNamespaces.find((glob) => glob.matches(namespace));
    if (exempt) return `namespace ${namespace} is exempt (${exempt.source})`;
    if (namespace && scope.namespaces && !scope.namespaces.some((glob) => glob.matches(namespace)))
      return `namespace ${namespace} is outside spec.pinDigests.namespaces`;
    return undefined;
  }
}

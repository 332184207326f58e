import { Injectable } from '@nestjs/common';
import { DigestPinningService, PinningDecision, imagePlace } from '../policy';
import { admissionPodSpec } from './admission-pod-spec';
import { AdmissionOutcome, JsonPatchOperation } from './admission-review-response';
import { allowedUnchecked } from './admission-review.service';
import { AdmissionRequestDto } from './dto/admission-review.dto';
import { imagePathInSpec, podSpecReviewRequest } from './pod-spec';

/** RFC 6901: `~` and `/` in a key are escaped; the keys we write (spec, containers) have neither. */
const pointer = (steps: readonly (string | number)[]): string =>
  `/${steps.map((step) => String(step).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** What kubectl prints for an image /mutate could not pin: it names the image and the reason. */
export function unpinnedWarnings(pinning: PinningDecision): string[] {
  return pinning.pins.flatMap((pin) =>
    'unresolved' in pin.outcome
      ? [
          `${imagePlace(pin.subject)}image ${pin.subject.image} was not pinned to a digest: ${pin.outcome.unresolved}`,
        ]
      : [],
  );
}

/**
 * The MutatingAdmissionWebhook backend: pins each image of a Pod to the digest its tag resolves to
 * now. It always allows: an image it cannot resolve is left as written, with a warning, and the
 * validating phase (which Kubernetes runs after every mutation) decides, for instance with
 * requireDigest. Controllers' pod templates are pinned only when the policy asks, since rewriting a
 * Deployment fights the GitOps tool that owns it.
 */
@Injectable()
export class AdmissionMutationService {
  constructor(private readonly pinning: DigestPinningService) {}

  async mutate(request: AdmissionRequestDto): Promise<AdmissionOutcome> {
    const reviewed = admissionPodSpec(request);
    if ('unchecked' in reviewed) return allowedUnchecked(reviewed.unchecked);
    if (!this.pinning.pinsKind(reviewed.isPod ? 'pod' : 'pod-controller'))
      return allowedUnchecked(
        reviewed.isPod ? 'the policy does not pin digests' : 'the policy does not pin pod controllers',
      );
    const pinning = await this.pinning.pin(podSpecReviewRequest(reviewed.pod));
    const patch: JsonPatchOperation[] = pinning.pins.flatMap(({ subject, outcome }) => {
      const at = imagePathInSpec(subject);
      return 'pinned' in outcome && at
        ? [
            {
              op: 'replace',
              path: pointer([...reviewed.pod.location.specPath, ...at]),
              value: outcome.pinned,
            },
          ]
        : [];
    });
    const pinned = Object.fromEntries(
      pinning.pins.flatMap(({ subject, outcome }) =>
        'pinned' in outcome ? [[subject.image, outcome.pinned]] : [],
      ),
    );
    const unresolved = Object.fromEntries(
      pinning.pins.flatMap(({ subject, outcome }) =>
        'unresolved' in outcome ? [[subject.image, outcome.unresolved]] : [],
      ),
    );
    return {
      allowed: true,
      patch,
      warnings: unpinnedWarnings(pinning),
      auditAnnotations: {
        decision: 'allow',
        'policy-revision': pinning.policy.revision,
        ...(pinning.skipped ? { unchecked: pinning.skipped } : {}),
        ...(patch.length > 0 ? { pinned: JSON.stringify(pinned) } : {}),
        ...(Object.keys(unresolved).length > 0 ? { unpinned: JSON.stringify(unresolved) } : {}),
      },
      pinning,
    };
  }
}

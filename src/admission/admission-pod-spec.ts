import { AdmissionRequestDto } from './dto/admission-review.dto';
import { MalformedPodSpecError, PodSpecUnderReview, locatePodSpec } from './pod-spec';

/** `kubectl debug` adds ephemeral containers through this subresource of a Pod. */
const EPHEMERAL_CONTAINERS_SUBRESOURCE = 'ephemeralcontainers';

/** The pod spec an AdmissionRequest asks about, or why there is none to look at. */
export type AdmissionPodSpec =
  { readonly unchecked: string } | { readonly pod: PodSpecUnderReview; readonly isPod: boolean };

/**
 * Which AdmissionRequests carry a pod spec to judge or pin, said once for /validate and /mutate:
 * CREATE and UPDATE of a kind with a pod spec, or the ephemeralcontainers subresource. On UPDATE
 * the old object rides along, so only the images the update introduces are looked at.
 */
export function admissionPodSpec(request: AdmissionRequestDto): AdmissionPodSpec {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE')
    return { unchecked: `operation ${request.operation}` };
  if (request.subResource && request.subResource !== EPHEMERAL_CONTAINERS_SUBRESOURCE)
    return { unchecked: `subresource ${request.subResource}` };
  const location = locatePodSpec(request.kind.group, request.kind.kind);
  if (!location)
    return { unchecked: `kind ${request.kind.group || 'core'}/${request.kind.kind} has no pod spec` };
  if (typeof request.object !== 'object' || request.object === null)
    throw new MalformedPodSpecError(`request.object must be an object for ${request.operation}`);
  return {
    isPod: request.kind.group === '' && request.kind.kind === 'Pod',
    pod: {
      object: request.object,
      location,
      objectName: 'request.object',
      namespace: request.namespace,
      previous:
        request.operation === 'UPDATE'
          ? { object: request.oldObject, objectName: 'request.oldObject' }
          : undefined,
      // The apiserver sends this subresource only as an UPDATE; anything else is judged whole.
      ...(request.subResource === EPHEMERAL_CONTAINERS_SUBRESOURCE && request.operation === 'UPDATE'
        ? { ephemeralContainersOnly: true }
        : {}),
    },
  };
}

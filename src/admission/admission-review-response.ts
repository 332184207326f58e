import type { PinningDecision, PolicyDecision } from '../policy';
import { ADMISSION_API_VERSIONS, ADMISSION_REVIEW_KIND } from './dto/admission-review.dto';

/** What the review service decided, before it is wrapped for the wire. */
export interface AdmissionOutcome {
  readonly allowed: boolean;
  /** Shown to the user on a denial, after `admission webhook "<name>" denied the request: `. */
  readonly message?: string;
  /** Shown by kubectl whether or not the request is allowed. */
  readonly warnings?: readonly string[];
  readonly auditAnnotations: Readonly<Record<string, string>>;
  /** The policy decision behind the outcome, or why none was needed. */
  readonly decision?: PolicyDecision;
  /** What /mutate pinned, and what it could not. */
  readonly pinning?: PinningDecision;
  /** JSON Patch operations for /mutate; none means the object is left as sent. */
  readonly patch?: readonly JsonPatchOperation[];
  readonly unchecked?: string;
}

/** The only operation /mutate emits: one container's image, replaced by its pinned form. */
export interface JsonPatchOperation {
  readonly op: 'replace';
  readonly path: string;
  readonly value: string;
}

export interface AdmissionReviewResponse {
  apiVersion: string;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; status: 'Failure'; reason: 'Forbidden'; message: string };
    warnings?: string[];
    auditAnnotations: Record<string, string>;
    patchType?: 'JSONPatch';
    patch?: string;
  };
}

/**
 * The apiserver rejects a reply whose apiVersion differs from the request's or whose uid does not
 * echo `request.uid`, so both are copied from the request. An unreadable apiVersion falls back to v1.
 * https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/request/admissionreview.go
 */
export function toAdmissionReviewResponse(
  apiVersion: unknown,
  uid: string,
  outcome: AdmissionOutcome,
): AdmissionReviewResponse {
  const version = ADMISSION_API_VERSIONS.find((v) => v === apiVersion) ?? ADMISSION_API_VERSIONS[0];
  // Built key by key, in the order the apiserver has always been sent, without the spreads of
  // empty objects a review would otherwise pay for each optional field.
  const response = { uid, allowed: outcome.allowed } as AdmissionReviewResponse['response'];
  if (!outcome.allowed)
    response.status = {
      code: 403,
      status: 'Failure',
      reason: 'Forbidden',
      message: outcome.message ?? 'denied by kube-image-bouncer',
    };
  if (outcome.warnings && outcome.warnings.length > 0) response.warnings = [...outcome.warnings];
  response.auditAnnotations = { ...outcome.auditAnnotations };
  if (outcome.patch && outcome.patch.length > 0) {
    // The apiserver takes the patch as base64 of the JSON Patch document (RFC 6902).
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
  }
  return { apiVersion: version, kind: ADMISSION_REVIEW_KIND, response };
}

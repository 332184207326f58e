// The AdmissionReview adapter, and the pod-spec reader `check` shares with it.
export { AdmissionModule } from './admission.module';
export {
  MalformedPodSpecError,
  imagePathInSpec,
  locatePodSpec,
  podSpecReviewRequest,
  readImagePolicyAnnotations,
} from './pod-spec';
export type { PodSpecLocation } from './pod-spec';

import { UnreadableReviewError } from '../http';
import { ContainerList, ImagePolicyRequest, ImageUnderReview } from '../policy';

/**
 * Where each kind keeps the spec of the pods it creates: the one table the webhook and `check` both
 * read (the README's "What the webhook reads" shows it, and a test holds the two together). Kinds
 * not listed have no pod spec and are allowed. Keyed by API group and kind, so a CRD that happens to
 * be called "Deployment" is not read.
 * https://kubernetes.io/docs/concepts/workloads/
 */
const POD_SPEC_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
  ['/PodTemplate', ['template', 'spec']],
  ['/ReplicationController', ['spec', 'template', 'spec']],
  ['apps/ReplicaSet', ['spec', 'template', 'spec']],
  ['apps/Deployment', ['spec', 'template', 'spec']],
  ['apps/StatefulSet', ['spec', 'template', 'spec']],
  ['apps/DaemonSet', ['spec', 'template', 'spec']],
  ['batch/Job', ['spec', 'template', 'spec']],
  ['batch/CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  // A Deployment's template, in Argo Rollouts' own kind:
  // https://argo-rollouts.readthedocs.io/en/stable/features/specification/
  ['argoproj.io/Rollout', ['spec', 'template', 'spec']],
  // A revision template whose spec is a PodSpec subset (containers, initContainers):
  // https://knative.dev/docs/serving/reference/serving-api/#serving.knative.dev/v1.Service
  ['serving.knative.dev/Service', ['spec', 'template', 'spec']],
]);

/** Every kind with a pod spec, where it is: `{ group: 'apps', kind: 'Deployment', specPath: [...] }`. */
export function podSpecKinds(): { group: string; kind: string; specPath: readonly string[] }[] {
  return [...POD_SPEC_PATHS].map(([key, specPath]) => {
    const [group, kind] = key.split('/');
    return { group, kind, specPath };
  });
}

export const CONTAINER_LISTS: readonly ContainerList[] = [
  'containers',
  'initContainers',
  'ephemeralContainers',
];

/** Pod annotations with this in their key reach ImagePolicyWebhook; AdmissionReview applies the same filter. */
const IMAGE_POLICY_ANNOTATION = '.image-policy.k8s.io/';

/** A container list or image that is not shaped as Kubernetes would send it. */
export class MalformedPodSpecError extends UnreadableReviewError {
  override name = 'MalformedPodSpecError';
}

export interface PodSpecLocation {
  /** Path to the pod spec within the object, e.g. ['spec', 'template', 'spec']. */
  readonly specPath: readonly string[];
  /** Path to the pod's metadata (the template's, for controllers). */
  readonly metadataPath: readonly string[];
}

export function locatePodSpec(group: string, kind: string): PodSpecLocation | undefined {
  const specPath = POD_SPEC_PATHS.get(`${group}/${kind}`);
  return specPath && { specPath, metadataPath: [...specPath.slice(0, -1), 'metadata'] };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows a path of object keys; absent (undefined) as soon as a step is missing or not an object. */
function descend(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

const pathText = (path: readonly string[]): string => path.join('.');

/**
 * Every image the kubelet pulls for the pod spec, in order: the images of containers, then
 * initContainers, then ephemeralContainers, then image volumes (`spec.volumes[].image.reference`,
 * KEP-4639, GA in 1.36), which the kubelet pulls just as it pulls a container's. A missing list is
 * empty; a list or image of the wrong type is an error. An image volume without a reference is
 * skipped: a pod template may leave it for a later default, and the apiserver refuses a Pod with
 * none (core validation's AllowEmptyImageVolumeReference) before validating webhooks are asked.
 */
export function readPodImages(
  object: unknown,
  location: PodSpecLocation,
  objectName: string,
): ImageUnderReview[] {
  const spec = descend(object, location.specPath);
  const specText = `${objectName}.${pathText(location.specPath)}`;
  if (spec === undefined || spec === null) return [];
  if (!isObject(spec)) throw new MalformedPodSpecError(`${specText} must be an object`);

  const images: ImageUnderReview[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new MalformedPodSpecError(`${specText}.${list} must be an array`);
    containers.forEach((container: unknown, index) => {
      const at = `${specText}.${list}[${index}]`;
      if (!isObject(container)) throw new MalformedPodSpecError(`${at} must be an object`);
      if (typeof container.image !== 'string')
        throw new MalformedPodSpecError(`${at}.image must be a string`);
      const name = typeof container.name === 'string' ? container.name : `#${index}`;
      images.push({ image: container.image, container: { name, list, index } });
    });
  }
  const volumes = spec.volumes;
  if (volumes === undefined || volumes === null) return images;
  if (!Array.isArray(volumes)) throw new MalformedPodSpecError(`${specText}.volumes must be an array`);
  volumes.forEach((volume: unknown, index) => {
    const at = `${specText}.volumes[${index}]`;
    if (!isObject(volume)) throw new MalformedPodSpecError(`${at} must be an object`);
    const source = volume.image;
    if (source === undefined || source === null) return;
    if (!isObject(source)) throw new MalformedPodSpecError(`${at}.image must be an object`);
    const { reference } = source;
    if (reference === undefined || reference === null || reference === '') return;
    if (typeof reference !== 'string')
      throw new MalformedPodSpecError(`${at}.image.reference must be a string`);
    const name = typeof volume.name === 'string' ? volume.name : `#${index}`;
    images.push({ image: reference, volume: { name, index } });
  });
  return images;
}

/** Where an image sits in the pod spec, as a JSON Patch path from the spec names it. */
export function imagePathInSpec(subject: ImageUnderReview): readonly (string | number)[] | undefined {
  if (subject.container) return [subject.container.list, subject.container.index, 'image'];
  if (subject.volume) return ['volumes', subject.volume.index, 'image', 'reference'];
  return undefined;
}

/** The pod's annotations that concern image policy (break-glass tickets), as ImagePolicyWebhook forwards them. */
export function readImagePolicyAnnotations(
  object: unknown,
  location: PodSpecLocation,
): Record<string, string> {
  const annotations = descend(object, [...location.metadataPath, 'annotations']);
  if (!isObject(annotations)) return {};
  return Object.fromEntries(
    Object.entries(annotations).filter(
      (entry): entry is [string, string] =>
        entry[0].includes(IMAGE_POLICY_ANNOTATION) && typeof entry[1] === 'string',
    ),
  );
}

/** What an object's pod spec asks of the engine, whoever holds the object: a webhook or `check`. */
export interface PodSpecUnderReview {
  readonly object: unknown;
  readonly location: PodSpecLocation;
  /** How messages name the object: `request.object`, `Deployment/web`. */
  readonly objectName: string;
  readonly namespace?: string;
  /** On UPDATE, the object as it was: images it already ran are not judged again. */
  readonly previous?: { readonly object: unknown; readonly objectName: string };
  /**
   * Through the `pods/ephemeralcontainers` subresource only ephemeral containers can change (the
   * apiserver keeps the rest of the old spec), so only they are judged, as ImagePolicyWebhook
   * judges only them there.
   */
  readonly ephemeralContainersOnly?: true;
}

/**
 * The one step from a pod spec to an engine request, behind AdmissionReview and `check` alike, so
 * that `check` judges exactly as the webhook does by construction.
 */
export function podSpecReviewRequest(pod: PodSpecUnderReview): ImagePolicyRequest {
  const read = readPodImages(pod.object, pod.location, pod.objectName);
  const images = pod.ephemeralContainersOnly
    ? read.filter((image) => image.container?.list === 'ephemeralContainers')
    : read;
  const ran = pod.previous ? imagesThatRan(pod.previous, pod.location) : undefined;
  return {
    images:
      ran === undefined
        ? images
        : images.map((image) => (ranBefore(image, ran) ? { ...image, ranBefore: true } : image)),
    namespace: pod.namespace,
    annotations: readImagePolicyAnnotations(pod.object, pod.location),
  };
}

/** What the object ran before an update: its images, and its ephemeral containers by name. */
interface ImagesThatRan {
  readonly images: ReadonlySet<string>;
  /** An ephemeral container is one run of one image, never a place another image may take. */
  readonly ephemeral: ReadonlyMap<string, string>;
}

/**
 * On UPDATE, images the object already ran may be spared another judgement (the engine says when:
 * see `grandfathered` there). An ephemeral container ran before only if the old object had one
 * of that name with that image: `kubectl debug` adds a new one, and a new one is always judged,
 * whatever image the pod's other containers run (CVE-2023-2727 was the same hole in the apiserver).
 */
function ranBefore(image: ImageUnderReview, ran: ImagesThatRan): boolean {
  if (image.container?.list === 'ephemeralContainers')
    return ran.ephemeral.get(image.container.name) === image.image;
  return ran.images.has(image.image);
}

/** An unreadable old object grandfathers nothing: every image is then judged as new. */
function imagesThatRan(
  previous: NonNullable<PodSpecUnderReview['previous']>,
  location: PodSpecLocation,
): ImagesThatRan | undefined {
  let images: ImageUnderReview[];
  try {
    images = readPodImages(previous.object, location, previous.objectName);
  } catch (error) {
    if (error instanceof MalformedPodSpecError) return undefined;
    throw error;
  }
  const ran = { images: new Set<string>(), ephemeral: new Map<string, string>() };
  for (const image of images)
    if (image.container?.list === 'ephemeralContainers') ran.ephemeral.set(image.container.name, image.image);
    else ran.images.add(image.image);
  return ran;
}

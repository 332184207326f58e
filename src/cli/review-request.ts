import { createHash } from 'node:crypto';
import { PodSpecLocation, locatePodSpec, readImagePolicyAnnotations } from '../admission';
import { ManifestDocument } from './manifest-source';

/** The two review bodies the kube-apiserver sends: ValidatingAdmissionWebhook's and ImagePolicyWebhook's. */
export const REVIEW_KINDS = ['AdmissionReview', 'ImageReview'] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];

export const ADMISSION_REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionReviewVersion = (typeof ADMISSION_REVIEW_VERSIONS)[number];

/** An object of a manifest (or a pod made for images) and the review the apiserver would send for it. */
export interface BuiltReview {
  /** `Deployment/web in shop`: what the review is about, for messages. */
  readonly subject: string;
  readonly body: Record<string, unknown>;
}

export interface ReviewOptions {
  readonly kind: ReviewKind;
  readonly apiVersion: AdmissionReviewVersion;
  /** For objects whose metadata names none, as kubectl's current namespace would be. */
  readonly namespace: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * A request uid that is the same for the same object, so that a printed review reads the same on
 * every run (the apiserver gives a random one; the webhook only echoes it).
 */
function uidOf(...parts: unknown[]): string {
  const hex = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** `nginx`, `registry.example.com/shop/app:1.4` → `app`: a container name (a DNS label) for an image. */
function containerNameOf(image: string, taken: Set<string>): string {
  const repository = image.split('@')[0].split('/').at(-1)!.split(':')[0];
  const base =
    repository
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'app';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

/** A Pod running these images, as `kubectl run` would make one, in the namespace given. */
export function podOf(images: readonly string[], namespace: string): Record<string, unknown> {
  const taken = new Set<string>();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'review', namespace },
    spec: { containers: images.map((image) => ({ name: containerNameOf(image, taken), image })) },
  };
}

/** The plural the apiserver names a kind's resource by: every kind with a pod spec is its lower case plus s. */
const resourceOf = (kind: string): string => `${kind.toLowerCase()}s`;

/** A CREATE of the object, as the apiserver sends it to a validating or mutating webhook. */
function admissionReview(object: Record<string, unknown>, options: ReviewOptions, uid: string) {
  const apiVersion = text(object.apiVersion)!;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const kind = { group, version, kind: text(object.kind)! };
  const resource = { group, version, resource: resourceOf(kind.kind) };
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const namespace = text(metadata.namespace) || options.namespace;
  return {
    apiVersion: options.apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      name: text(metadata.name) ?? '',
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'kube-image-bouncer-review', groups: ['system:authenticated'] },
      object: { ...object, metadata: { ...metadata, namespace } },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/**
 * What ImagePolicyWebhook sends for the pods of this object: the images of containers and then
 * initContainers, the pod's annotations that concern image policy, and the namespace.
 */
function imageReview(object: Record<string, unknown>, location: PodSpecLocation, namespace: string) {
  let spec: unknown = object;
  for (const key of location.specPath) spec = isObject(spec) ? spec[key] : undefined;
  const imagesOf = (list: unknown): { image: string }[] =>
    Array.isArray(list)
      ? list.flatMap((container: unknown) =>
          isObject(container) && typeof container.image === 'string' ? [{ image: container.image }] : [],
        )
      : [];
  const pod = isObject(spec) ? spec : {};
  const annotations = readImagePolicyAnnotations(object, location);
  return {
    apiVersion: 'imagepolicy.k8s.io/v1alpha1',
    kind: 'ImageReview',
    spec: {
      containers: [...imagesOf(pod.containers), ...imagesOf(pod.initContainers)],
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      namespace,
    },
  };
}

const groupAndKind = (object: Record<string, unknown>): [string, string] => {
  const apiVersion = text(object.apiVersion) ?? '';
  return [apiVersion.includes('/') ? apiVersion.split('/')[0] : '', text(object.kind) ?? ''];
};

/**
 * The reviews the apiserver would send for the objects of these documents that have a pod spec
 * (the kinds the webhook reads, also inside a `kind: List`); objects of other kinds are returned
 * apart, since the webhook would allow them unread.
 */
export function reviewsOf(
  documents: readonly ManifestDocument[],
  options: ReviewOptions,
): { reviews: BuiltReview[]; skipped: string[] } {
  const reviews: BuiltReview[] = [];
  const skipped: string[] = [];
  for (const document of documents) {
    const { value } = document;
    if (!isObject(value)) continue;
    const objects =
      text(value.kind)?.endsWith('List') && Array.isArray(value.items)
        ? value.items.filter(isObject)
        : [value];
    objects.forEach((object, item) => {
      if (text(object.apiVersion) === undefined || text(object.kind) === undefined) return;
      const metadata = isObject(object.metadata) ? object.metadata : {};
      const namespace = text(metadata.namespace) || options.namespace;
      const name = text(metadata.name) ?? text(metadata.generateName) ?? '';
      const subject = `${text(object.kind)}${name ? `/${name}` : ''} in ${namespace}`;
      const location = locatePodSpec(...groupAndKind(object));
      if (!location) {
        const { line } = document.locate(objects.length === 1 && objects[0] === value ? [] : ['items', item]);
        skipped.push(`${document.file}:${line} ${text(object.kind)}${name ? `/${name}` : ''}`);
        return;
      }
      const uid = uidOf(document.file, document.index, item, object);
      reviews.push({
        subject,
        body:
          options.kind === 'ImageReview'
            ? imageReview(object, location, namespace)
            : admissionReview(object, options, uid),
      });
    });
  }
  return { reviews, skipped };
}

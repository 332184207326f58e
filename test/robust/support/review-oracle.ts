/**
 * What the webhook must decide, worked out from the review body and from what the generator knows
 * about each image it put in, without the bouncer's parser, policy engine or pod-spec reader. The
 * rules are those the README and KUBERNETES.md document for the default policy (deny `latest`, with
 * break-glass off):
 * an image the generator made untagged, `:latest` or invalid must never be allowed; one it made with
 * another tag or a digest must be.
 */

export type Verdict = 'allow' | 'deny';

/** Every image a generator produced, with the verdict it built it to get. */
export type ImageCatalog = ReadonlyMap<string, Verdict>;

export const BREAK_GLASS_PREFIX = 'break-glass.image-policy.k8s.io/';

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `dig(body, 'response', 'status', 'code')`: the value at that path, or undefined. */
export const dig = (root: unknown, ...path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root);

/** Images of `containers`-like lists, read leniently: anything that looks like a container's image. */
function imagesIn(lists: readonly unknown[]): string[] {
  return lists.flatMap((list) =>
    Array.isArray(list)
      ? list.flatMap((c: unknown) => (isObject(c) && typeof c.image === 'string' ? [c.image] : []))
      : [],
  );
}

export interface Expectation {
  /** Images the generator made to be denied, which the review asks about: an allow is wrong. */
  readonly mustDeny: readonly string[];
  /** Only for unmutated reviews: the one right decision. */
  readonly exactly?: boolean;
}

/** ImageReview: `spec.containers[].image`; the default policy has no exemptions and no break-glass. */
export function expectImageReview(body: unknown, catalog: ImageCatalog): Expectation {
  const spec = isObject(body) ? body.spec : undefined;
  if (!isObject(spec)) return { mustDeny: [] };
  return { mustDeny: imagesIn([spec.containers]).filter((image) => catalog.get(image) === 'deny') };
}

/** Where each kind keeps its pod template, from the Kubernetes API (KUBERNETES.md), keyed `group/kind`. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  '/Pod': ['spec'],
  '/PodTemplate': ['template', 'spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** A pod spec's images, each with whether it is an ephemeral container's and that container's name. */
interface PodImage {
  readonly image: string;
  readonly ephemeralName?: string;
}

function podImages(object: unknown, specPath: readonly string[]): PodImage[] {
  const spec = dig(object, ...specPath);
  if (!isObject(spec)) return [];
  const ephemeral = Array.isArray(spec.ephemeralContainers)
    ? spec.ephemeralContainers.flatMap((c: unknown) =>
        isObject(c) && typeof c.image === 'string'
          ? [{ image: c.image, ephemeralName: typeof c.name === 'string' ? c.name : '' }]
          : [],
      )
    : [];
  return [...imagesIn([spec.containers, spec.initContainers]).map((image) => ({ image })), ...ephemeral];
}

export function expectAdmissionReview(body: unknown, catalog: ImageCatalog): Expectation {
  const request = isObject(body) ? body.request : undefined;
  if (!isObject(request)) return { mustDeny: [] };
  const { operation, subResource, kind } = request;
  if (operation === 'DELETE' || operation === 'CONNECT') return { mustDeny: [] };
  if (typeof subResource === 'string' && subResource !== '' && subResource !== 'ephemeralcontainers')
    return { mustDeny: [] };
  if (!isObject(kind) || typeof kind.group !== 'string' || typeof kind.kind !== 'string')
    return { mustDeny: [] };
  const specPath = POD_SPEC_PATHS[`${kind.group}/${kind.kind}`];
  if (!specPath) return { mustDeny: [] };
  const old = operation === 'UPDATE' ? podImages(request.oldObject, specPath) : [];
  const ranBefore = (i: PodImage) =>
    i.ephemeralName === undefined
      ? old.some((o) => o.ephemeralName === undefined && o.image === i.image)
      : old.some((o) => o.ephemeralName === i.ephemeralName && o.image === i.image);
  const onlyEphemeral = operation === 'UPDATE' && subResource === 'ephemeralcontainers';
  return {
    mustDeny: podImages(request.object, specPath)
      .filter((i) => !onlyEphemeral || i.ephemeralName !== undefined)
      .filter((i) => catalog.get(i.image) === 'deny' && !ranBefore(i))
      .map((i) => i.image),
  };
}

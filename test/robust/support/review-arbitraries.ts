import fc from 'fast-check';
import { WORKLOAD_KINDS } from '../../support/reviews';
import { domain, pathComponent, tag, validDigest } from './image-arbitraries';
import { BREAK_GLASS_PREFIX, Verdict } from './review-oracle';

/** An image and the verdict the default policy must give it, known from how it was built. */
export interface CatalogImage {
  readonly image: string;
  readonly verdict: Verdict;
  readonly why: string;
}

const shortComponent = pathComponent.filter((c) => c.length < 40);
/** A bracketed host is read as a registry only with a ":" in it ("[0]/a" is a Docker Hub path, and invalid). */
const registry = domain.filter((d) => !d.startsWith('[') || d.includes(':'));
/** A name that stays valid after Docker Hub normalization: lower-case path, far below 255 characters. */
const validName = fc
  .tuple(fc.option(registry, { nil: undefined }), fc.array(shortComponent, { minLength: 1, maxLength: 3 }))
  .map(([d, path]) => (d === undefined ? path.join('/') : `${d}/${path.join('/')}`));
const pinnedTag = tag.filter((t) => t !== 'latest' && t.length <= 128);

const built =
  (verdict: Verdict, why: string) =>
  (image: string): CatalogImage => ({ image, verdict, why });

export const allowedImage: fc.Arbitrary<CatalogImage> = fc.oneof(
  fc
    .tuple(validName, pinnedTag)
    .map(([n, t]) => `${n}:${t}`)
    .map(built('allow', 'pinned tag')),
  fc
    .tuple(validName, validDigest)
    .map(([n, d]) => `${n}@${d}`)
    .map(built('allow', 'digest')),
  fc
    .tuple(validName, pinnedTag, validDigest)
    .map(([n, t, d]) => `${n}:${t}@${d}`)
    .map(built('allow', 'pinned tag and digest')),
);

/** Upper case in the last path component, which no registry-name reading can excuse. */
const upperCasedLastComponent = (n: string): string => {
  const slash = n.lastIndexOf('/');
  return `${n.slice(0, slash + 1)}X${n.slice(slash + 1)}`;
};

export const deniedImage: fc.Arbitrary<CatalogImage> = fc.oneof(
  { weight: 3, arbitrary: validName.map(built('deny', 'untagged')) },
  { weight: 2, arbitrary: validName.map((n) => `${n}:latest`).map(built('deny', 'latest')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(validName, validDigest)
      .map(([n, d]) => `${n}:latest@${d}`)
      .map(built('deny', 'latest beside a digest')),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.tuple(validName, pinnedTag).map(([n, t]) => `${upperCasedLastComponent(n)}:${t}`),
        fc.tuple(validName, fc.integer({ min: 1, max: 63 })).map(([n, k]) => `${n}@sha256:${'a'.repeat(k)}`),
        fc
          .tuple(validName, fc.constantFrom(':', '@', ' :1', ':1 ', '\n:1', ':1\u0000', ':é', '::1'))
          .map(([n, end]) => n + end),
        fc.tuple(validName, fc.integer({ min: 129, max: 200 })).map(([n, k]) => `${n}:${'t'.repeat(k)}`),
        fc.integer({ min: 256, max: 300 }).map((k) => `${'a'.repeat(k)}:1`),
        fc.constantFrom(
          '',
          'a'.repeat(64),
          'Nginx:1.0',
          'nginx :1',
          'nginx@sha256:abc',
          'localhost:5000/App:1',
        ),
      )
      .map(built('deny', 'not a valid reference')),
  },
);

export const catalogImage = fc.oneof(allowedImage, deniedImage);

/**
 * Pod annotations, among them break-glass tickets: live, expired, malformed and too far ahead. The
 * default policy leaves `spec.breakGlass` off, so none of them may lift a denial.
 */
export const podAnnotations = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('2001-02-03T04:05:06Z', 'tomorrow', '2099-13-45T00:00:00Z', '', '2099-01-01T00:00:00Z')
      .map((expiry) => ({ [`${BREAK_GLASS_PREFIX}INC-1`]: expiry })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constant(null)
      .map(() => ({ [`${BREAK_GLASS_PREFIX}INC-2`]: new Date(Date.now() + 12 * 3_600_000).toISOString() })),
  },
  { weight: 1, arbitrary: fc.constant({ 'example.com/owner': 'team-a' }) },
);

const containers = (images: readonly CatalogImage[], prefix: string) =>
  images.map((c, i) => ({ name: `${prefix}${i}`, image: c.image, imagePullPolicy: 'IfNotPresent' }));

/** A generated review body, the images in it, and the one decision that is right for it. */
export interface GeneratedReview {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly images: readonly CatalogImage[];
  readonly expectAllowed: boolean;
}

export const imageReview: fc.Arbitrary<GeneratedReview> = fc
  .record({
    path: fc.constantFrom('/image_policy', '/policy'),
    images: fc.array(catalogImage, { maxLength: 5 }),
    namespace: fc.option(fc.constantFrom('default', 'prod-eu', 'kube-system', ''), { nil: undefined }),
    annotations: podAnnotations,
  })
  .map(({ path, images, namespace, annotations }) => ({
    path,
    images,
    body: {
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: {
        containers: images.map(({ image }) => ({ image })),
        ...(namespace === undefined ? {} : { namespace }),
        ...(annotations ? { annotations } : {}),
      },
    },
    expectAllowed: images.every((i) => i.verdict === 'allow'),
  }));

const otherKinds = [
  { group: '', version: 'v1', kind: 'ConfigMap' },
  { group: '', version: 'v1', kind: 'Deployment' }, // no such kind in the core group
  { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout' },
];

export const admissionReview: fc.Arbitrary<GeneratedReview> = fc
  .record({
    path: fc.constantFrom('/validate', '/'),
    apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
    uid: fc.uuid(),
    kind: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...WORKLOAD_KINDS) },
      fc.constantFrom(...otherKinds),
    ),
    operation: fc.constantFrom('CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT'),
    subResource: fc.constantFrom(undefined, undefined, undefined, 'ephemeralcontainers', 'status'),
    lists: fc.record({
      containers: fc.array(catalogImage, { maxLength: 3 }),
      initContainers: fc.array(catalogImage, { maxLength: 2 }),
      ephemeralContainers: fc.array(catalogImage, { maxLength: 1 }),
    }),
    /** For an UPDATE, which of the new images the old object already ran. */
    grandfathered: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    annotations: podAnnotations,
    namespace: fc.constantFrom('default', 'team-a'),
  })
  .map((g) => {
    const images = [...g.lists.containers, ...g.lists.initContainers, ...g.lists.ephemeralContainers];
    const old = images.filter((_, i) => g.grandfathered[i]);
    const podSpec = {
      containers: containers(g.lists.containers, 'c'),
      initContainers: containers(g.lists.initContainers, 'i'),
      ephemeralContainers: containers(g.lists.ephemeralContainers, 'e'),
      restartPolicy: 'Always',
    };
    const metadata = {
      labels: { app: 'x' },
      ...(g.annotations ? { annotations: g.annotations } : {}),
    };
    const workload = 'wrap' in g.kind ? g.kind : undefined;
    const wrap = (spec: Record<string, unknown>) =>
      workload ? workload.wrap(spec, metadata) : { metadata, data: { spec: JSON.stringify(spec) } };
    const resource = `${g.kind.kind.toLowerCase()}s`;
    const checked =
      (g.operation === 'CREATE' || g.operation === 'UPDATE') &&
      (g.subResource === undefined || g.subResource === 'ephemeralcontainers') &&
      workload !== undefined;
    // The old object's images are grandfathered by name, as the same string may occur twice; its
    // containers never grandfather a new ephemeral one, and through the ephemeralcontainers
    // subresource an UPDATE is judged on its ephemeral containers alone.
    const oldImages = new Set(g.operation === 'UPDATE' ? old.map((i) => i.image) : []);
    const judged =
      g.operation === 'UPDATE' && g.subResource === 'ephemeralcontainers'
        ? g.lists.ephemeralContainers
        : images;
    const introduced = judged.filter(
      (i) => !oldImages.has(i.image) || g.lists.ephemeralContainers.includes(i),
    );
    return {
      path: g.path,
      images,
      body: {
        apiVersion: g.apiVersion,
        kind: 'AdmissionReview',
        request: {
          uid: g.uid,
          kind: { group: g.kind.group, version: g.kind.version, kind: g.kind.kind },
          resource: { group: g.kind.group, version: g.kind.version, resource },
          ...(g.subResource === undefined ? {} : { subResource: g.subResource }),
          name: 'x',
          namespace: g.namespace,
          operation: g.operation,
          userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
          object: g.operation === 'DELETE' ? null : wrap(podSpec),
          oldObject:
            g.operation === 'UPDATE'
              ? wrap({ containers: old.map((c, i) => ({ name: `old${i}`, image: c.image })) })
              : null,
          dryRun: false,
        },
      },
      expectAllowed: !checked || introduced.every((i) => i.verdict === 'allow'),
    };
  });

// ---- mutations --------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keys the handlers read, and keys with a meaning to JavaScript objects. */
const interestingKey = fc.constantFrom(
  'apiVersion',
  'kind',
  'spec',
  'request',
  'uid',
  'operation',
  'subResource',
  'object',
  'oldObject',
  'containers',
  'initContainers',
  'image',
  'annotations',
  'namespace',
  'group',
  '__proto__',
  'constructor',
  'toString',
  `${BREAK_GLASS_PREFIX}X`,
);

/**
 * A value nested thousands deep cannot go through JSON.stringify (it recurses), so it travels as a
 * placeholder string that `toWireJson` expands; the server's JSON.parse does not recurse.
 */
const NESTED = /"\\u0000nested:(\d+):(array|object)\\u0000"/g;
const deeplyNested = fc
  .tuple(fc.integer({ min: 100, max: 100_000 }), fc.constantFrom('array', 'object'))
  .map(([depth, shape]): Json => `\u0000nested:${depth}:${shape}\u0000`);

/** The request body as sent: JSON, with nested placeholders expanded. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value).replace(NESTED, (_, depth: string, shape: string) =>
    shape === 'array'
      ? '['.repeat(Number(depth)) + ']'.repeat(Number(depth))
      : '{"a":'.repeat(Number(depth)) + '1' + '}'.repeat(Number(depth)),
  );
}

/** An object whose one key means something to JavaScript objects (made by JSON.parse, so it is an own key). */
const prototypeKeyed = fc
  .tuple(
    fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'),
    fc.jsonValue({ maxDepth: 1 }),
  )
  .map(([key, value]): Json => JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)}}`) as Json);

const replacement: fc.Arbitrary<Json> = fc.oneof(
  { weight: 1, arbitrary: prototypeKeyed },
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Json>(null, '', 0, -1, 1e308, true, [], {}, 'CREATE', 'UPDATE', 'Pod', 'apps'),
  },
  { weight: 1, arbitrary: deeplyNested },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 1_000_000 }).map((n): Json => 'a/'.repeat(n)) },
);

export interface Mutation {
  /** Child choices from the root; each is taken modulo the number of children. */
  readonly path: readonly number[];
  readonly edit: 'set' | 'add' | 'delete' | 'replace' | 'duplicate' | 'wrap';
  readonly key: string;
  readonly value: Json;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 7 }),
  edit: fc.constantFrom('set', 'add', 'delete', 'replace', 'duplicate', 'wrap'),
  key: interestingKey,
  value: replacement,
});

const defineOwn = (target: Record<string, Json>, key: string, value: Json): void => {
  // Plain assignment of "__proto__" would set the prototype; JSON.parse makes it an own key.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

/** Applies mutations to a copy of `body`, as JSON: the result is what goes on the wire. */
export function mutate(body: unknown, mutations: readonly Mutation[]): Json {
  const root: { value: Json } = { value: JSON.parse(JSON.stringify(body)) as Json };
  for (const m of mutations) {
    // A copy: the generated value must not become part of (and be changed with) the tree.
    const value = JSON.parse(JSON.stringify(m.value)) as Json;
    let parent: Record<string, Json> | Json[] = root;
    let key: string | number = 'value';
    for (const choice of m.path) {
      const node: Json = (parent as Record<string, Json>)[key as string];
      if (node === null || typeof node !== 'object') break;
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length === 0) break;
      parent = node;
      key = keys[choice % keys.length];
    }
    const node = (parent as Record<string, Json>)[key as string];
    switch (m.edit) {
      case 'set':
      case 'replace':
        defineOwn(parent as Record<string, Json>, String(key), value);
        break;
      case 'add':
        if (node !== null && typeof node === 'object' && !Array.isArray(node)) defineOwn(node, m.key, value);
        else if (Array.isArray(node)) node.push(value);
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else if (parent !== (root as unknown)) delete parent[key];
        break;
      case 'duplicate':
        if (Array.isArray(node) && node.length > 0) node.push(JSON.parse(JSON.stringify(node[0])) as Json);
        break;
      case 'wrap':
        defineOwn(parent as Record<string, Json>, String(key), [node]);
        break;
    }
  }
  return root.value;
}

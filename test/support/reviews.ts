/** Builders for review bodies as the kube-apiserver sends them. */

export const imageReview = (
  images: readonly string[],
  extra: { namespace?: string; annotations?: Record<string, string> } = {},
): Record<string, unknown> => ({
  apiVersion: 'imagepolicy.k8s.io/v1alpha1',
  kind: 'ImageReview',
  spec: { containers: images.map((image) => ({ image })), namespace: 'default', ...extra },
});

export const DIGEST = `sha256:${'a'.repeat(64)}`;

export interface ContainerLists {
  containers?: { name: string; image: string }[];
  initContainers?: { name: string; image: string }[];
  ephemeralContainers?: { name: string; image: string }[];
}

export const web = (image: string): ContainerLists => ({ containers: [{ name: 'web', image }] });

export interface WorkloadKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Wraps a pod spec (and its metadata) the way this kind nests it. */
  readonly wrap: (
    podSpec: Record<string, unknown>,
    podMetadata?: Record<string, unknown>,
  ) => Record<string, unknown>;
}

const template = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  metadata,
  spec,
});

/** Every kind the webhook reads, nested as the Kubernetes API nests its pod template. */
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { group: '', version: 'v1', kind: 'Pod', wrap: (spec, metadata = {}) => ({ metadata, spec }) },
  {
    group: '',
    version: 'v1',
    kind: 'PodTemplate',
    wrap: (spec, metadata) => ({ template: template(spec, metadata) }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'ReplicationController',
    wrap: (spec, metadata) => ({ spec: { replicas: 1, template: template(spec, metadata) } }),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    wrap: (spec, metadata) => ({ spec: { template: template(spec, metadata) } }),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    wrap: (spec, metadata) => ({ spec: { replicas: 3, template: template(spec, metadata) } }),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    wrap: (spec, metadata) => ({ spec: { template: template(spec, metadata) } }),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    wrap: (spec, metadata) => ({ spec: { template: template(spec, metadata) } }),
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    wrap: (spec, metadata) => ({ spec: { template: template(spec, metadata) } }),
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    wrap: (spec, metadata) => ({
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: template(spec, metadata) } } },
    }),
  },
  {
    group: 'argoproj.io',
    version: 'v1alpha1',
    kind: 'Rollout',
    wrap: (spec, metadata) => ({ spec: { replicas: 2, template: template(spec, metadata) } }),
  },
  {
    group: 'serving.knative.dev',
    version: 'v1',
    kind: 'Service',
    wrap: (spec, metadata) => ({ spec: { template: template(spec, metadata) } }),
  },
];

export const POD_KIND = WORKLOAD_KINDS[0];

export interface AdmissionRequestOptions {
  apiVersion?: string;
  uid?: string;
  kind?: Pick<WorkloadKind, 'group' | 'version' | 'kind'>;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  subResource?: string;
  namespace?: string;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

/** An AdmissionReview as the apiserver sends it, with the fields it always fills in. */
export function admissionReview(options: AdmissionRequestOptions = {}): Record<string, unknown> {
  const kind = options.kind ?? POD_KIND;
  const { group, version } = kind;
  const resource = `${kind.kind.toLowerCase()}s`;
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group, version, kind: kind.kind },
      resource: { group, version, resource },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: { group, version, kind: kind.kind },
      requestResource: { group, version, resource },
      name: 'example',
      namespace: options.namespace ?? 'default',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'admin', uid: '014fbff9a07c', groups: ['system:authenticated'] },
      object: options.object === undefined ? null : options.object,
      oldObject: options.oldObject === undefined ? null : options.oldObject,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

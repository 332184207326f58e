/**
 * The five review bodies the benchmark sends, shaped like what a kube-apiserver sends: real
 * metadata, managedFields (which make real objects large), env, probes, volumes. All images are
 * pinned, so every review is allowed and walks the whole decision path.
 */
export interface BenchPayload {
  readonly name: string;
  readonly path: '/image_policy' | '/validate' | '/mutate';
  readonly body: string;
}

const DIGEST = `sha256:${'4f'.repeat(32)}`;

const imageReview = (count: number): string =>
  JSON.stringify({
    apiVersion: 'imagepolicy.k8s.io/v1alpha1',
    kind: 'ImageReview',
    spec: {
      containers: Array.from({ length: count }, (_, i) => ({
        image: `registry.example.com/team-${i}/service:1.${i}.0`,
      })),
      annotations: { 'mycluster.image-policy.k8s.io/ticket-1234': 'break-glass' },
      namespace: 'payments',
    },
  });

function container(i: number, envCount: number): Record<string, unknown> {
  return {
    name: `app-${i}`,
    image:
      i % 2 === 0
        ? `registry.example.com/payments/api:2.${i}.1`
        : `registry.example.com/payments/worker@${DIGEST}`,
    imagePullPolicy: 'IfNotPresent',
    args: ['--listen=:8080', '--metrics=:9090', `--shard=${i}`],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: Array.from({ length: envCount }, (_, e) => ({
      name: `FEATURE_FLAG_${e}`,
      value: `enabled-for-cohort-${e % 7}`,
    })),
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/livez', port: 'http', scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      {
        name: 'kube-api-access-x7k2p',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
      },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function podSpec(containers: number, envCount: number): Record<string, unknown> {
  return {
    volumes: [
      { name: 'config', configMap: { name: 'payments-config', defaultMode: 420 } },
      {
        name: 'kube-api-access-x7k2p',
        projected: {
          defaultMode: 420,
          sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }],
        },
      },
    ],
    initContainers: [
      { ...container(99, 2), name: 'migrate', image: 'registry.example.com/payments/migrate:2.4.1' },
    ],
    containers: Array.from({ length: containers }, (_, i) => container(i, envCount)),
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'payments',
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    schedulerName: 'default-scheduler',
    tolerations: [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ],
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  };
}

/** managedFields entries are what make real objects big; the apiserver sends them along. */
function managedFields(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    manager: i === 0 ? 'kubectl-client-side-apply' : `controller-${i}`,
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: '2026-11-20T10:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: Object.fromEntries(
      Array.from({ length: 20 }, (_, f) => [
        `f:spec.template.spec.containers[${f}]`,
        {
          '.': {},
          'f:image': {},
          'f:env': { [`k:{"name":"FEATURE_FLAG_${f}"}`]: { '.': {}, 'f:name': {}, 'f:value': {} } },
        },
      ]),
    ),
  }));
}

function admissionReview(
  kind: { group: string; version: string; kind: string; resource: string },
  object: Record<string, unknown>,
): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: kind.group, version: kind.version, kind: kind.kind },
      resource: { group: kind.group, version: kind.version, resource: kind.resource },
      requestKind: { group: kind.group, version: kind.version, kind: kind.kind },
      requestResource: { group: kind.group, version: kind.version, resource: kind.resource },
      name: 'payments-api',
      namespace: 'payments',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: '7e1b9c',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

const metadata = (name: string, fields: number): Record<string, unknown> => ({
  name,
  namespace: 'payments',
  uid: '0f2d4c1e-8a3b-4c5d-9e6f-7a8b9c0d1e2f',
  labels: {
    app: 'payments-api',
    tier: 'backend',
    'app.kubernetes.io/part-of': 'payments',
    'pod-template-hash': '7d9f8b6c5',
  },
  annotations: {
    'kubectl.kubernetes.io/restartedAt': '2026-11-20T10:00:00Z',
    'prometheus.io/scrape': 'true',
  },
  ...(fields > 0 ? { managedFields: managedFields(fields) } : {}),
});

const POD_KIND = { group: '', version: 'v1', kind: 'Pod', resource: 'pods' };

/**
 * The Pod AdmissionReview of the bench's third payload; with `images`, its containers (the init
 * container first) run those images in turn, as the registry payloads need.
 */
export function podReview(images?: string | readonly string[]): string {
  const spec = podSpec(1, 2) as { initContainers: { image: string }[]; containers: { image: string }[] };
  const list = typeof images === 'string' ? [images] : images;
  if (list !== undefined)
    for (const [index, container] of [...spec.initContainers, ...spec.containers].entries())
      container.image = list[index % list.length];
  return admissionReview(POD_KIND, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata('payments-api-7d9f8b6c5-x2k9z', 0),
    spec,
  });
}

export function benchPayloads(): BenchPayload[] {
  const pod = podReview();
  const deployment = admissionReview(
    { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments' },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata('payments-api', 6),
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'payments-api' } },
        template: { metadata: metadata('', 0), spec: podSpec(3, 40) },
      },
    },
  );
  const hundred = admissionReview(POD_KIND, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata('batch-fanout', 0),
    spec: podSpec(100, 24),
  });
  return [
    { name: 'ImageReview, 1 image', path: '/image_policy', body: imageReview(1) },
    { name: 'ImageReview, 10 images', path: '/image_policy', body: imageReview(10) },
    { name: 'Pod AdmissionReview', path: '/validate', body: pod },
    { name: 'Deployment AdmissionReview', path: '/validate', body: deployment },
    { name: 'AdmissionReview, 100 containers', path: '/validate', body: hundred },
  ];
}

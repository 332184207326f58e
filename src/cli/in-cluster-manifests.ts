import {
  MUTATE_PATH,
  MUTATING_WEBHOOK_NAME,
  MUTATING_WEBHOOK_RULES,
  MUTATING_WEBHOOK_SETTINGS,
  VALIDATING_WEBHOOK_NAME,
  VALIDATE_PATH,
  VALIDATING_WEBHOOK_RULES,
  VALIDATING_WEBHOOK_SETTINGS,
  WEBHOOK_CONFIGURATION_LABELS,
  yamlText,
} from './apiserver-files';

/**
 * The manifests of an in-cluster install without cert-manager: the bouncer's TLS Secret, and the
 * ValidatingWebhookConfiguration in service form with its caBundle, as
 * deploy/kubernetes/cert-manager/webhooks/ has it with cert-manager's annotation instead (a test
 * keeps them alike).
 */
export interface InClusterService {
  readonly namespace: string;
  /** The bouncer's Service; its TLS Secret is `<service>-tls`. */
  readonly service: string;
}

export const DEFAULT_IN_CLUSTER_SERVICE: InClusterService = {
  namespace: 'kube-image-bouncer',
  service: 'kube-image-bouncer',
};

/** Labelling a namespace with this exempts it from the webhooks, as the bouncer's own namespace is. */
export const EXEMPT_NAMESPACE_LABEL = 'kube-image-bouncer.io/exempt';

export const tlsSecretName = ({ service }: InClusterService): string => `${service}-tls`;

/** The names the apiserver may use for the Service: it calls `<service>.<namespace>.svc`. */
export const serviceDnsNames = ({ namespace, service }: InClusterService): string[] => [
  `${service}.${namespace}.svc`,
  `${service}.${namespace}.svc.cluster.local`,
];

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** A `kubernetes.io/tls` Secret with `ca.crt` too, the keys cert-manager's Secret has. */
export function tlsSecret(
  target: InClusterService,
  pem: { readonly certificate: string; readonly privateKey: string; readonly ca: string },
): string {
  return yamlText(
    `The bouncer's TLS Secret: kubectl apply -f ${'tls-secret.yaml'}. It holds a private key: keep this file mode 0600.`,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: tlsSecretName(target),
        namespace: target.namespace,
        labels: { 'app.kubernetes.io/name': 'kube-image-bouncer' },
      },
      data: {
        'tls.crt': base64(pem.certificate),
        'tls.key': base64(pem.privateKey),
        'ca.crt': base64(pem.ca),
      },
    },
  );
}

/**
 * Service form. Both the bouncer's namespace and kube-system are exempt, by name and by label, so
 * the bouncer's own pods, and what they need, never wait on the bouncer.
 */
export function inClusterWebhookConfigurationObject(target: InClusterService, caBundle?: string): object {
  return webhookConfigurationObject(target, 'ValidatingWebhookConfiguration', caBundle);
}

/** The same scope for digest pinning, on /mutate. */
export function inClusterMutatingWebhookConfigurationObject(
  target: InClusterService,
  caBundle?: string,
): object {
  return webhookConfigurationObject(target, 'MutatingWebhookConfiguration', caBundle);
}

function webhookConfigurationObject(
  target: InClusterService,
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
  caBundle: string | undefined,
): object {
  const mutating = kind === 'MutatingWebhookConfiguration';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: 'kube-image-bouncer', labels: WEBHOOK_CONFIGURATION_LABELS },
    webhooks: [
      {
        name: mutating ? MUTATING_WEBHOOK_NAME : VALIDATING_WEBHOOK_NAME,
        clientConfig: {
          service: {
            name: target.service,
            namespace: target.namespace,
            path: mutating ? MUTATE_PATH : VALIDATE_PATH,
            port: 443,
          },
          ...(caBundle === undefined ? {} : { caBundle }),
        },
        rules: mutating ? MUTATING_WEBHOOK_RULES : VALIDATING_WEBHOOK_RULES,
        namespaceSelector: {
          matchExpressions: [
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: [...new Set(['kube-system', target.namespace])],
            },
            { key: EXEMPT_NAMESPACE_LABEL, operator: 'NotIn', values: ['true'] },
          ],
        },
        ...(mutating ? MUTATING_WEBHOOK_SETTINGS : VALIDATING_WEBHOOK_SETTINGS),
      },
    ],
  };
}

export function inClusterMutatingWebhookConfiguration(target: InClusterService, caPem: string): string {
  return yamlText(
    'Apply once the bouncer is Ready, when the policy pins digests: kubectl apply -f mutating-webhook-configuration.yaml',
    inClusterMutatingWebhookConfigurationObject(target, base64(caPem)),
  );
}

export function inClusterValidatingWebhookConfiguration(target: InClusterService, caPem: string): string {
  return yamlText(
    'Apply once the bouncer is Ready: kubectl apply -f validating-webhook-configuration.yaml',
    inClusterWebhookConfigurationObject(target, base64(caPem)),
  );
}

import { join } from 'node:path';
import { ApiServer } from './control-plane';
import { eventually } from './eventually';

/** The configuration users deploy, whose rules, selector and failure policy the scenarios exercise. */
const SHIPPED_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  '..',
  'deploy',
  'vm',
  'apiserver',
  'validating-webhook-configuration.yaml',
);

export type AdmissionReviewVersion = 'v1' | 'v1beta1';
export const ADMISSION_REVIEW_VERSIONS: readonly AdmissionReviewVersion[] = ['v1', 'v1beta1'];

/** A namespace opts in to one of the two webhooks with this label; without it only ImagePolicyWebhook applies. */
export const REVIEW_VERSION_LABEL = 'conformance.kube-image-bouncer.io/admission-review-version';

/** `v1` keeps the shipped name, so its denials read exactly as in the README. */
export const WEBHOOK_NAME: Record<AdmissionReviewVersion, string> = {
  v1: 'images.kube-image-bouncer.io',
  v1beta1: 'v1beta1.images.kube-image-bouncer.io',
};

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface ValidatingWebhook {
  name: string;
  clientConfig: { url?: string; caBundle?: string };
  namespaceSelector?: { matchExpressions?: LabelSelectorRequirement[] };
  admissionReviewVersions: string[];
  [field: string]: unknown;
}

interface ValidatingWebhookConfiguration {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  webhooks: ValidatingWebhook[];
}

/**
 * Registers deploy/vm/apiserver/validating-webhook-configuration.yaml twice over, as two webhooks that differ only in
 * name, `admissionReviewVersions` and a namespace label: the apiserver sends the first version in the list that
 * it speaks, so `[v1beta1]` alone forces a v1beta1 AdmissionReview. Each namespace reaches at most one of them;
 * the apiserver calls matching validating webhooks in parallel and reports whichever denial comes first.
 */
export async function registerValidatingWebhooks(
  apiServer: ApiServer,
  bouncer: { url: string; caPem: string },
): Promise<void> {
  // kubectl parses the YAML; there is no YAML parser among the project's dependencies.
  const parsed = await apiServer.kubectl([
    'create',
    '--dry-run=client',
    '-o',
    'json',
    '-f',
    SHIPPED_CONFIGURATION,
  ]);
  if (parsed.code !== 0) throw new Error(`kubectl could not read ${SHIPPED_CONFIGURATION}: ${parsed.stderr}`);
  const shipped = JSON.parse(parsed.stdout) as ValidatingWebhookConfiguration;
  const [template] = shipped.webhooks;
  if (shipped.webhooks.length !== 1 || !template)
    throw new Error(`expected one webhook in ${SHIPPED_CONFIGURATION}`);

  const configuration: ValidatingWebhookConfiguration = {
    apiVersion: shipped.apiVersion,
    kind: shipped.kind,
    metadata: { name: shipped.metadata.name },
    webhooks: ADMISSION_REVIEW_VERSIONS.map((version) => ({
      ...template,
      name: WEBHOOK_NAME[version],
      clientConfig: { url: bouncer.url, caBundle: Buffer.from(bouncer.caPem).toString('base64') },
      admissionReviewVersions: [version],
      namespaceSelector: {
        matchExpressions: [
          ...(template.namespaceSelector?.matchExpressions ?? []),
          { key: REVIEW_VERSION_LABEL, operator: 'In', values: [version] },
        ],
      },
    })),
  };
  const created = await apiServer.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(configuration) });
  if (created.code !== 0)
    throw new Error(`could not create the ValidatingWebhookConfiguration: ${created.stderr}`);
}

/**
 * A new ValidatingWebhookConfiguration takes effect once the apiserver's informer has seen it. Probe with a
 * server-side dry run of a Deployment until the webhook answers for it (its name appears in the refusal,
 * whether it denied the request or failed to be called).
 */
export async function waitForValidatingWebhook(
  apiServer: ApiServer,
  version: AdmissionReviewVersion,
  namespace: string,
): Promise<void> {
  const probe = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'webhook-probe', namespace },
    spec: {
      selector: { matchLabels: { app: 'webhook-probe' } },
      template: {
        metadata: { labels: { app: 'webhook-probe' } },
        spec: { containers: [{ name: 'probe', image: 'nginx' }] },
      },
    },
  });
  await eventually(`webhook ${WEBHOOK_NAME[version]} to answer ${apiServer.name}`, async () => {
    const result = await apiServer.kubectl(['create', '--dry-run=server', '-f', '-'], { stdin: probe });
    if (!result.stderr.includes(`webhook "${WEBHOOK_NAME[version]}"`)) {
      throw new Error(`exit ${result.code}: ${result.stdout}${result.stderr}`);
    }
  });
}

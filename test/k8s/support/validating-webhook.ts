import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ApiServer } from './control-plane';
import { eventually } from './eventually';

/**
 * The name the scenarios' configuration is registered under. setup's own name, `kube-image-bouncer`, stays free,
 * so that the server-side dry runs of scenario 8 create the shipped configurations rather than update this one.
 */
export const CONFIGURATION_NAME = 'kube-image-bouncer-conformance';

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
 * Registers the ValidatingWebhookConfiguration `kube-image-bouncer setup` wrote (URL and caBundle filled in; its
 * rules are deploy/vm's, which a unit test keeps alike) twice over, as two webhooks that differ only in name,
 * `admissionReviewVersions` and a namespace label: the apiserver sends the first version in the list that it
 * speaks, so `[v1beta1]` alone forces a v1beta1 AdmissionReview. Each namespace reaches at most one of them;
 * the apiserver calls matching validating webhooks in parallel and reports whichever denial comes first.
 */
export async function registerValidatingWebhooks(apiServer: ApiServer, generatedFile: string): Promise<void> {
  const generated = parse(readFileSync(generatedFile, 'utf8')) as ValidatingWebhookConfiguration;
  const [template] = generated.webhooks;
  if (generated.webhooks.length !== 1 || !template)
    throw new Error(`expected one webhook in ${generatedFile}`);

  const configuration: ValidatingWebhookConfiguration = {
    ...generated,
    metadata: { name: CONFIGURATION_NAME },
    webhooks: ADMISSION_REVIEW_VERSIONS.map((version) => ({
      ...template,
      name: WEBHOOK_NAME[version],
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

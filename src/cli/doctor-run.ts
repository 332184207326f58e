import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  ClusterUnreachableError,
  KubeconfigError,
  KubernetesApiClient,
  loadKubeconfig,
  statusMessage,
} from '../kubernetes-api';
import { withPolicyEngine } from '../policy';
import { CommandInputError } from './command-input.error';
import { pickCanaries, proveEnforcement } from './doctor-proof';
import { DoctorReport } from './doctor-report';
import { MAX_CONFIGURATIONS, lintWebhooks, pointsAtBouncer, readWebhooks } from './doctor-webhooks';

export interface DoctorOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly policy?: string;
  readonly image?: string;
  readonly allowedImage?: string;
  readonly service: string;
  readonly url?: string;
  readonly ephemeralTarget?: string;
  readonly staticManifests: readonly string[];
}

/** Why doctor could not talk to the cluster at all: the CLI exits 2. */
export class DoctorUnreachableError extends Error {}

const MAX_STATIC_FILES = 100;
const WEBHOOK_KINDS = {
  ValidatingWebhookConfiguration: 'validating',
  MutatingWebhookConfiguration: 'mutating',
} as const;

/** KEP-5793 static manifests are not served by the API: read from the directories the AdmissionConfiguration names. */
function staticWebhooks(directories: readonly string[]): ReturnType<typeof readWebhooks> {
  return directories.flatMap((directory) => {
    let names: string[];
    try {
      names = readdirSync(directory)
        .filter((name) => /\.(ya?ml|json)$/i.test(name))
        .sort()
        .slice(0, MAX_STATIC_FILES);
    } catch (error) {
      throw new CommandInputError(
        `--static-manifests ${directory}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
    return names.flatMap((name) =>
      parseAllDocuments(readFileSync(join(directory, name), 'utf8'))
        .slice(0, MAX_CONFIGURATIONS)
        .flatMap((document) => {
          const value = document.toJS() as { kind?: string } | null;
          const kind = value && WEBHOOK_KINDS[value.kind as keyof typeof WEBHOOK_KINDS];
          return kind ? readWebhooks(kind, [value]) : [];
        }),
    );
  });
}

const itemsOf = (body: unknown): unknown[] =>
  typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items)
    ? (body as { items: unknown[] }).items
    : [];

const nameOf = (object: unknown): string => {
  const name = (object as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' ? name : '';
};

const labelsOf = (object: unknown): Record<string, string> => {
  const labels = (object as { metadata?: { labels?: unknown } } | undefined)?.metadata?.labels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
};

/**
 * Reads the bouncer's registration, lints it, and proves each admission path with dry-run canaries.
 * Throws DoctorUnreachableError when the cluster cannot be reached or the kubeconfig not used.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  let client: KubernetesApiClient;
  try {
    client = new KubernetesApiClient(loadKubeconfig({ file: options.kubeconfig, context: options.context }));
  } catch (error) {
    if (error instanceof KubeconfigError) throw new DoctorUnreachableError(error.message);
    throw error;
  }
  const namespace = options.namespace ?? client.connection.namespace ?? 'default';
  try {
    return await withPolicyEngine(options.policy, async (engine) => {
      const images = await pickCanaries(engine, namespace, options);
      const ns = await client.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
      if (ns.status === 404)
        throw new CommandInputError(`namespace ${namespace} not found: give another with -n`);
      if (ns.status !== 200)
        throw new DoctorUnreachableError(`reading namespace ${namespace}: ${statusMessage(ns)}`);
      const listed: ReturnType<typeof readWebhooks> = [];
      const findingsOfAccess: string[] = [];
      for (const kind of ['validating', 'mutating'] as const) {
        const response = await client.get(
          `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations?limit=${MAX_CONFIGURATIONS}`,
        );
        if (response.status !== 200)
          findingsOfAccess.push(`${kind}webhookconfigurations: ${statusMessage(response)}`);
        listed.push(
          ...readWebhooks(kind, itemsOf(response.body)).filter((webhook) =>
            pointsAtBouncer(webhook, { service: options.service, url: options.url }),
          ),
        );
      }
      const fromFiles = staticWebhooks(options.staticManifests);
      const webhooks = [...listed, ...fromFiles].map(({ labels: _labels, ...webhook }) => webhook);
      const namespaces = await client.get(`/api/v1/namespaces?limit=${MAX_CONFIGURATIONS}`);
      const namespaceLabels = itemsOf(namespaces.body).map((item) => ({
        name: nameOf(item),
        labels: labelsOf(item),
      }));
      let ephemeralTarget = options.ephemeralTarget;
      if (ephemeralTarget === undefined) {
        const pods = await client.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?limit=1`);
        const first = itemsOf(pods.body)[0] as { metadata?: { name?: unknown } } | undefined;
        ephemeralTarget = typeof first?.metadata?.name === 'string' ? first.metadata.name : undefined;
      }
      const proofs = await proveEnforcement(client, images, {
        namespace,
        namespaceLabels: labelsOf(ns.body),
        webhooks,
        ephemeralTarget,
      });
      return {
        policy: engine.policy,
        cluster: { context: client.connection.context, server: client.connection.server },
        namespace,
        webhooks,
        findings: [
          ...findingsOfAccess.map((message) => ({
            webhook: '-',
            configuration: '-',
            check: 'access',
            message,
          })),
          ...lintWebhooks(webhooks, engine.policy, namespaceLabels),
        ],
        proofs,
      };
    });
  } catch (error) {
    if (error instanceof ClusterUnreachableError) throw new DoctorUnreachableError(error.message);
    throw error;
  } finally {
    await client.close();
  }
}

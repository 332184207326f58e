import { randomBytes } from 'node:crypto';
import { ApiResponse, KubernetesApiClient, statusMessage } from '../kubernetes-api';
import { ImagePolicyService } from '../policy';
import { checkManifests } from './manifest-check';
import { CommandInputError } from './command-input.error';
import { AdmissionRequestShape, RegisteredWebhook, whyNotCalled } from './doctor-webhooks';

/** The label every canary carries, so an audit log or a webhook's own log can tell them from real work. */
export const CANARY_LABEL = 'kube-image-bouncer.io/doctor-canary';
const CANARY_LABELS = { [CANARY_LABEL]: 'true' };
const GENERATE_NAME = 'kube-image-bouncer-doctor-';

/** Images the policy is asked about, in this order, until it refuses one (offline, as `check` judges). */
const DENIED_CANDIDATES = [
  // A latest tag, refused under no-latest (the built-in policy).
  'registry.k8s.io/pause:latest',
  // A repository no allowedRepositories rule lets in.
  'kube-image-bouncer.invalid/doctor-canary:1.0',
];
const ALLOWED_CANDIDATES = ['registry.k8s.io/pause:3.10'];

export interface CanaryImages {
  readonly denied: string;
  /** Undefined when doctor found no image the policy surely allows and none was given. */
  readonly allowed?: string;
}

export type PathName =
  'Pod' | 'Deployment' | 'CronJob' | 'ephemeral container' | 'image volume' | 'allowed Pod';
export type ProofResult = 'enforced' | 'bypassed' | 'not checked' | 'admitted' | 'refused';

/** What one dry run proved about one admission path. */
export interface PathProof {
  readonly path: PathName;
  readonly request: string;
  readonly image: string;
  readonly result: ProofResult;
  /** Who refused it, why it got through, or why it was not checked: the apiserver's words where it has some. */
  readonly detail: string;
  /** Whether this path fails the run: a bypass, or an allowed image refused. */
  readonly failed: boolean;
}

async function judge(
  engine: ImagePolicyService,
  image: string,
  namespace: string,
): Promise<'deny' | 'allow' | 'unsure'> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'canary', namespace },
    spec: { containers: [{ name: 'canary', image }] },
  };
  const document = { file: '<doctor>', index: 1, value: pod, locate: () => ({ line: 1, column: 1 }) };
  const { reviews } = await checkManifests(engine, [document], namespace, { online: false });
  const [review] = reviews;
  if (review.outcome === 'deny') return 'deny';
  return review.registrySkipped > 0 ? 'unsure' : review.outcome === 'allow' ? 'allow' : 'unsure';
}

/**
 * The canary images: given, or the first candidates the policy refuses and surely allows. A given
 * denied image the policy would admit is refused: the proof would prove nothing.
 */
export async function pickCanaries(
  engine: ImagePolicyService,
  namespace: string,
  given: { image?: string; allowedImage?: string },
): Promise<CanaryImages> {
  let denied = given.image;
  if (denied !== undefined) {
    if ((await judge(engine, denied, namespace)) === 'allow')
      throw new CommandInputError(
        `--image ${denied}: the policy allows it in namespace ${namespace}, so refusing it proves nothing`,
      );
  } else {
    for (const candidate of DENIED_CANDIDATES)
      if ((await judge(engine, candidate, namespace)) === 'deny') {
        denied = candidate;
        break;
      }
    if (denied === undefined)
      throw new CommandInputError(
        `the policy refuses none of doctor's canary images (${DENIED_CANDIDATES.join(', ')}) in namespace ${namespace}: give one it refuses with --image`,
      );
  }
  let allowed = given.allowedImage;
  if (allowed === undefined)
    for (const candidate of ALLOWED_CANDIDATES)
      if ((await judge(engine, candidate, namespace)) === 'allow') {
        allowed = candidate;
        break;
      }
  return { denied, allowed };
}

/** A container Pod Security's `restricted` level admits, so that only the image can be the reason for a refusal. */
const container = (name: string, image: string) => ({
  name,
  image,
  securityContext: {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    runAsUser: 65532,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
});

const metadata = (namespace: string) => ({ generateName: GENERATE_NAME, namespace, labels: CANARY_LABELS });
const podSpec = (image: string, extra: Record<string, unknown> = {}) => ({
  containers: [container('canary', image)],
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  ...extra,
});

interface Canary {
  readonly path: PathName;
  readonly request: AdmissionRequestShape;
  readonly send: (client: KubernetesApiClient) => Promise<ApiResponse>;
  readonly image: string;
}

function canaries(namespace: string, images: CanaryImages, target?: string): Canary[] {
  const { denied, allowed } = images;
  const ns = `/namespaces/${encodeURIComponent(namespace)}`;
  const template = (image: string) => ({ metadata: { labels: CANARY_LABELS }, spec: podSpec(image) });
  const list: Canary[] = [
    {
      path: 'Pod',
      request: { group: '', resource: 'pods', operation: 'CREATE' },
      image: denied,
      send: (c) =>
        c.createDryRun(`/api/v1${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: metadata(namespace),
          spec: podSpec(denied),
        }),
    },
    {
      path: 'Deployment',
      request: { group: 'apps', resource: 'deployments', operation: 'CREATE' },
      image: denied,
      send: (c) =>
        c.createDryRun(`/apis/apps/v1${ns}/deployments`, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: metadata(namespace),
          spec: { selector: { matchLabels: CANARY_LABELS }, template: template(denied) },
        }),
    },
    {
      path: 'CronJob',
      request: { group: 'batch', resource: 'cronjobs', operation: 'CREATE' },
      image: denied,
      send: (c) =>
        c.createDryRun(`/apis/batch/v1${ns}/cronjobs`, {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: metadata(namespace),
          spec: {
            schedule: '0 0 1 1 *',
            jobTemplate: {
              spec: {
                template: { ...template(denied), spec: { ...podSpec(denied), restartPolicy: 'Never' } },
              },
            },
          },
        }),
    },
    {
      path: 'ephemeral container',
      request: { group: '', resource: 'pods/ephemeralcontainers', operation: 'UPDATE' },
      image: denied,
      send: async (c) =>
        target === undefined
          ? {
              status: 0,
              body: {
                message: `no pod in namespace ${namespace} to add it to (give one with --ephemeral-target)`,
              },
            }
          : c.patchDryRun(`/api/v1${ns}/pods/${encodeURIComponent(target)}/ephemeralcontainers`, {
              spec: {
                ephemeralContainers: [
                  { ...container(`${GENERATE_NAME}${randomBytes(3).toString('hex')}`, denied) },
                ],
              },
            }),
    },
    {
      path: 'image volume',
      request: { group: '', resource: 'pods', operation: 'CREATE' },
      image: denied,
      send: (c) =>
        c.createDryRun(`/api/v1${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: metadata(namespace),
          spec: {
            ...podSpec(allowed ?? 'registry.k8s.io/pause:3.10'),
            volumes: [{ name: 'canary', image: { reference: denied, pullPolicy: 'IfNotPresent' } }],
          },
        }),
    },
  ];
  if (allowed !== undefined)
    list.push({
      path: 'allowed Pod',
      request: { group: '', resource: 'pods', operation: 'CREATE' },
      image: allowed,
      send: (c) =>
        c.createDryRun(`/api/v1${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: metadata(namespace),
          spec: podSpec(allowed),
        }),
    });
  return list;
}

/** `admission webhook "images.kube-image-bouncer.io" denied the request`, or ImagePolicyWebhook's denial. */
const WEBHOOK_DENIAL = /admission webhook "([^"]+)" denied the request|image policy webhook backend denied/;
/** The apiserver refused because calling a webhook failed, under failurePolicy Fail. */
const FAILED_CALL = /failed calling webhook "([^"]+)"|Post "[^"]*\/image_policy[^"]*"/;

export interface ProofContext {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** The bouncer's webhooks as the API lists them; static ones are not listed. */
  readonly webhooks: readonly RegisteredWebhook[];
}

/** Why a refused canary got through: which webhook was not asked, or which failed open. */
function whyAdmitted(canary: Canary, context: ProofContext): string {
  if (context.webhooks.length === 0) return 'no webhook configuration in the API points at the bouncer';
  const validating = context.webhooks.filter((webhook) => webhook.kind === 'validating');
  const reasons = validating.map((webhook) =>
    whyNotCalled(webhook, canary.request, context.namespace, context.namespaceLabels, CANARY_LABELS),
  );
  const called = validating.filter((_, i) => reasons[i] === undefined);
  const failingOpen = called.filter((webhook) => webhook.failurePolicy === 'Ignore');
  if (failingOpen.length > 0)
    return `failurePolicy Ignore on ${failingOpen.map((w) => w.name).join(', ')}: the call failed or the bouncer admitted it, and the API let it through`;
  if (called.length > 0)
    return `${called.map((w) => w.name).join(', ')} was asked and admitted it: does the bouncer run this policy?`;
  const known = reasons.filter((reason): reason is string => reason !== undefined);
  return known.length > 0 ? known.join('; ') : 'no validating webhook of the bouncer is registered';
}

function classify(
  canary: Canary,
  response: ApiResponse,
  context: ProofContext,
): Omit<PathProof, 'path' | 'request' | 'image'> {
  const message = statusMessage(response);
  const allowedPath = canary.path === 'allowed Pod';
  if (response.status >= 200 && response.status < 300)
    return allowedPath
      ? { result: 'admitted', detail: 'the policy allows it and the API admitted it', failed: false }
      : { result: 'bypassed', detail: whyAdmitted(canary, context), failed: true };
  const denial = WEBHOOK_DENIAL.exec(message) ?? FAILED_CALL.exec(message);
  if (denial && response.status !== 0) {
    const by = denial[1] ? `webhook ${denial[1]}` : 'ImagePolicyWebhook';
    const failedCall = FAILED_CALL.test(message) && !WEBHOOK_DENIAL.test(message);
    if (allowedPath)
      return { result: 'refused', detail: `refused an image the policy allows: ${message}`, failed: true };
    // Another webhook refusing (a disallow-latest policy, one failing closed) says nothing of ours.
    if (denial[1] !== undefined && !context.webhooks.some((webhook) => webhook.name === denial[1]))
      return {
        result: 'not checked',
        detail: `refused by ${by}, which is not the bouncer's: whether the bouncer refuses it is not proven: ${message}`,
        failed: false,
      };
    return {
      result: 'enforced',
      detail: failedCall
        ? `refused by ${by} failing closed (the bouncer did not answer): ${message}`
        : `refused by ${by}`,
      failed: false,
    };
  }
  return { result: 'not checked', detail: message, failed: false };
}

/** Sends every canary as a dry run, one after another (they are few), and says what each proved. */
export async function proveEnforcement(
  client: KubernetesApiClient,
  images: CanaryImages,
  context: ProofContext & { ephemeralTarget?: string },
): Promise<PathProof[]> {
  const proofs: PathProof[] = [];
  for (const canary of canaries(context.namespace, images, context.ephemeralTarget)) {
    const response = await canary.send(client);
    proofs.push({
      path: canary.path,
      request: `${canary.request.operation} ${canary.request.group === '' ? '' : `${canary.request.group}/`}${canary.request.resource}`,
      image: canary.image,
      ...classify(canary, response, context),
    });
  }
  return proofs;
}

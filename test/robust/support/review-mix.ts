import { randomUUID } from 'node:crypto';
import {
  DIGEST,
  WORKLOAD_KINDS,
  WorkloadKind,
  admissionReview,
  imageReview,
  web,
} from '../../support/reviews';
import { Exchange } from './review-client';
import { dig } from './review-oracle';

/** One kind of request of a load mix, with the one answer that is right for it. */
export interface ReviewCase {
  readonly name: string;
  readonly path: string;
  readonly body: Buffer;
  readonly expectAllowed: boolean;
  /** Why `exchange` is not the right answer, or undefined when it is. */
  readonly judge: (exchange: Exchange) => string | undefined;
}

function parsed(exchange: Exchange, name: string): { body?: unknown; failure?: string } {
  if (exchange.kind !== 'response') return { failure: `${name}: ${exchange.kind} (${exchange.code})` };
  if (exchange.status !== 200)
    return { failure: `${name}: HTTP ${exchange.status} ${exchange.text.slice(0, 200)}` };
  try {
    return { body: JSON.parse(exchange.text) as unknown };
  } catch {
    return { failure: `${name}: not JSON: ${exchange.text.slice(0, 200)}` };
  }
}

export function imageReviewCase(
  name: string,
  images: readonly string[],
  expectAllowed: boolean,
  extra: { namespace?: string; annotations?: Record<string, string> } = {},
  path: '/image_policy' | '/policy' = '/image_policy',
): ReviewCase {
  return {
    name,
    path,
    body: Buffer.from(JSON.stringify(imageReview(images, extra))),
    expectAllowed,
    judge: (exchange) => {
      const { body, failure } = parsed(exchange, name);
      if (failure) return failure;
      const allowed = dig(body, 'status', 'allowed');
      if (dig(body, 'kind') !== 'ImageReview' || typeof allowed !== 'boolean')
        return `${name}: not an ImageReview: ${JSON.stringify(body).slice(0, 200)}`;
      if (allowed !== expectAllowed)
        return `${name}: allowed=${allowed}, expected ${expectAllowed} (${String(dig(body, 'status', 'reason'))})`;
      return undefined;
    },
  };
}

export function admissionReviewCase(
  name: string,
  options: {
    apiVersion?: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
    /** A workload kind, or another kind (whose object is then `object`). */
    kind?: WorkloadKind | Pick<WorkloadKind, 'group' | 'version' | 'kind'>;
    operation?: 'CREATE' | 'UPDATE' | 'DELETE';
    podSpec?: object;
    oldPodSpec?: object;
    object?: Record<string, unknown>;
    namespace?: string;
    path?: '/validate' | '/';
  },
  expectAllowed: boolean,
): ReviewCase {
  const kind = options.kind ?? WORKLOAD_KINDS[0];
  const workload = WORKLOAD_KINDS.find((k) => k.group === kind.group && k.kind === kind.kind);
  const wrap = (podSpec: object): Record<string, unknown> =>
    workload ? workload.wrap(podSpec as Record<string, unknown>) : { spec: podSpec };
  const uid = randomUUID();
  const apiVersion = options.apiVersion ?? 'admission.k8s.io/v1';
  const review = admissionReview({
    apiVersion,
    uid,
    kind,
    operation: options.operation,
    namespace: options.namespace,
    object: options.object ?? (options.podSpec ? wrap(options.podSpec) : null),
    oldObject: options.oldPodSpec ? wrap(options.oldPodSpec) : null,
  });
  return {
    name,
    path: options.path ?? '/validate',
    body: Buffer.from(JSON.stringify(review)),
    expectAllowed,
    judge: (exchange) => {
      const { body, failure } = parsed(exchange, name);
      if (failure) return failure;
      if (dig(body, 'apiVersion') !== apiVersion || dig(body, 'kind') !== 'AdmissionReview')
        return `${name}: wrong envelope: ${JSON.stringify(body).slice(0, 200)}`;
      if (dig(body, 'response', 'uid') !== uid) return `${name}: response.uid is not the request's uid`;
      const allowed = dig(body, 'response', 'allowed');
      if (allowed !== expectAllowed)
        return `${name}: allowed=${String(allowed)}, expected ${expectAllowed} (${String(dig(body, 'response', 'status', 'message'))})`;
      return undefined;
    },
  };
}

const byKind = (kind: string): WorkloadKind => WORKLOAD_KINDS.find((k) => k.kind === kind)!;

/** A pod spec of about `bytes` bytes: real pods carry large env blocks and annotations. */
export function bulkyPodSpec(image: string, bytes: number): Record<string, unknown> {
  const env = Array.from({ length: Math.ceil(bytes / 100) }, (_, i) => ({
    name: `VARIABLE_${i}`,
    value: 'x'.repeat(70),
  }));
  return { containers: [{ name: 'web', image, env }] };
}

/**
 * The soak's traffic under the default policy (deny `latest`): both review types, every path, v1 and
 * v1beta1, pods and controllers, init and ephemeral containers, updates, unchecked operations and
 * kinds, and a 64 KiB pod, in about the proportions a cluster sends them.
 */
export function defaultPolicyMix(): ReviewCase[] {
  return [
    imageReviewCase('image pinned', ['nginx:1.25', `redis@${DIGEST}`], true),
    imageReviewCase('image untagged', ['nginx:1.25', 'nginx'], false, {}, '/policy'),
    imageReviewCase('image latest', ['registry.example.com/team/app:latest'], false),
    imageReviewCase('image port is no tag', ['localhost:5000/app'], false),
    imageReviewCase('image invalid', ['Nginx:1.0'], false, {}, '/policy'),
    admissionReviewCase('pod v1 allowed', { podSpec: web('nginx:1.25') }, true),
    admissionReviewCase('pod v1 denied', { podSpec: web('nginx'), path: '/' }, false),
    admissionReviewCase(
      'deployment v1beta1 allowed',
      {
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: byKind('Deployment'),
        podSpec: web('ghcr.io/acme/app:2'),
      },
      true,
    ),
    admissionReviewCase(
      'cronjob init container denied',
      {
        kind: byKind('CronJob'),
        podSpec: {
          containers: [{ name: 'job', image: 'busybox:1.36' }],
          initContainers: [{ name: 'init', image: 'alpine:latest' }],
        },
      },
      false,
    ),
    admissionReviewCase(
      'ephemeral container denied',
      { podSpec: { containers: [], ephemeralContainers: [{ name: 'debug', image: 'busybox' }] } },
      false,
    ),
    admissionReviewCase(
      'statefulset update grandfathered',
      {
        kind: byKind('StatefulSet'),
        operation: 'UPDATE',
        podSpec: web('nginx'),
        oldPodSpec: web('nginx'),
      },
      true,
    ),
    admissionReviewCase(
      'daemonset update introduces latest',
      {
        kind: byKind('DaemonSet'),
        operation: 'UPDATE',
        podSpec: web('nginx:latest'),
        oldPodSpec: web('nginx:1.25'),
      },
      false,
    ),
    admissionReviewCase('pod delete unchecked', { operation: 'DELETE', path: '/' }, true),
    admissionReviewCase(
      'configmap unchecked',
      { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: { data: { image: 'nginx' } } },
      true,
    ),
    admissionReviewCase('bulky pod allowed', { podSpec: bulkyPodSpec('nginx:1.25', 64 * 1024) }, true),
    admissionReviewCase('bulky pod denied', { podSpec: bulkyPodSpec('nginx', 64 * 1024) }, false),
  ];
}
